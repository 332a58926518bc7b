"""What one host stores, the other serves: an alert reported on one is found by the check API on the
other, and a file uploaded on one (into the shared bucket, under the shared key ring) downloads from the
other byte for byte."""

from __future__ import annotations

import json
import secrets

import requests
from sqlalchemy import select

from tests.alerts.factories import alert_data
from tests.documents.factories import pdf_bytes
from tests.multihost.conftest import TIMEOUT


def document_number() -> str:
    return f"H{secrets.randbelow(10**7):07d}"


def publish_alert(host: str, headers: dict, number: str) -> int:
    """A members-wide GREEN alert on ``number``, published through the API of ``host``; its id."""
    response = requests.post(f"{host}/api/v1/alerts", json=alert_data(document_number=number), headers=headers,
                             timeout=TIMEOUT)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_an_alert_published_on_one_host_is_found_by_the_check_api_on_the_other(hosts, account, token):
    first, second = hosts
    number = document_number()
    alert_id = publish_alert(first, token(account("liaison_officer", "GTM"), "alerts:write"), number)
    checker = token(account("border_officer", "MEX"), "alerts:check")
    answer = requests.get(f"{second}/api/v1/alerts/check", params={"document_number": number, "issuing_state": "GTM"},
                          headers=checker, timeout=TIMEOUT)
    assert answer.status_code == 200
    assert answer.json()["hit"] is True and [hit["id"] for hit in answer.json()["alerts"]] == [alert_id]


def attachment_ids(portal, alert_id: int) -> list[int]:
    from alerts.attachments import Attachment
    from portal.extensions import db

    with portal.app_context():
        try:
            return list(db.session.scalars(select(Attachment.id).where(Attachment.alert_id == alert_id)))
        finally:
            db.session.remove()


def test_a_file_uploaded_on_one_host_downloads_identical_from_the_other(hosts, portal, account, token, visitor):
    first, second = hosts
    reporter = account("liaison_officer", "GTM")
    alert_id = publish_alert(first, token(reporter, "alerts:write"), document_number())
    data = pdf_bytes(f"Specimen {secrets.token_hex(8)}", padding=300 * 1024)  # several chunks of the stream

    visitor.sign_in(reporter, second, first)
    form = f"{first}/alerts/{alert_id}/attachments/new"
    uploaded = visitor.post(form, {"side": "front", "light": "visible", "caption": ""},
                            files={"file": ("report.pdf", data, "application/pdf")})
    assert uploaded.status_code == 302, uploaded.text[:500]

    [attachment_id] = attachment_ids(portal, alert_id)
    web = visitor.get(f"{second}/alerts/{alert_id}/attachments/{attachment_id}/download")
    assert web.status_code == 200 and web.content == data
    reader = token(account("border_officer", "SLV"), "alerts:read")
    api = requests.get(f"{second}/api/v1/attachments/{attachment_id}", headers=reader, timeout=TIMEOUT)
    assert api.status_code == 200 and api.content == data


def test_an_import_checked_on_one_host_is_confirmed_on_the_other(hosts, account, token, visitor):
    """The checked upload waits in the shared bucket, named by a token signed with the shared secret key."""
    first, second = hosts
    officer = account("liaison_officer", "GTM")
    numbers = [document_number(), document_number()]
    content = json.dumps([alert_data(document_number=number) for number in numbers]).encode()
    visitor.sign_in(officer, first, second)
    checked = visitor.post(f"{first}/alerts/bulk/import", {}, files={"file": ("alerts.json", content, "application/json")})
    assert checked.status_code == 200 and 'id="dry-run-ok"' in checked.text
    pending = checked.text.split('name="pending" type="hidden" value="')[1].split('"')[0]
    imported = visitor.post(f"{second}/alerts/bulk/import/confirm", {"pending": pending, "submit": "1"},
                            token_from=f"{second}/alerts/bulk/import")
    assert imported.status_code == 200 and 'id="import-result"' in imported.text
    checker = token(account("border_officer", "MEX"), "alerts:check")
    for number in numbers:
        answer = requests.get(f"{first}/api/v1/alerts/check", params={"document_number": number, "issuing_state": "GTM"},
                              headers=checker, timeout=TIMEOUT)
        assert answer.status_code == 200 and answer.json()["hit"] is True
