"""``keys rotate`` while both hosts serve a steady stream of clients: no 5xx, no restart, and what was
written under the old key (an alert's encrypted fields, a file's wrapped key, a TOTP secret) still reads.

The rotation runs as an operator runs it, ``flask --app portal keys rotate`` in a process of its own; the
hosts take the new key ring up from the shared file (``portal.keyring``) without being told.
"""

from __future__ import annotations

import itertools
import json
import os
import threading

import requests

from tests.documents.factories import pdf_bytes
from tests.hosts import flask_command
from tests.multihost.conftest import TIMEOUT
from tests.multihost.test_files_and_alerts import document_number, publish_alert

CLIENTS = 3
PAUSE = 0.02  # seconds between a client's requests: a steady stream, not a flood


class Stream:
    """``CLIENTS`` threads asking both hosts in turn until stopped, keeping every status they were answered."""

    def __init__(self, requests_: list):
        self.requests, self.statuses, self.stopped = requests_, [], threading.Event()
        self.threads = [threading.Thread(target=self._client, args=(n,), daemon=True) for n in range(CLIENTS)]

    def _client(self, n: int) -> None:
        with requests.Session() as http:
            for index in itertools.count(n):
                if self.stopped.is_set():
                    return
                method, url, kwargs = self.requests[index % len(self.requests)]
                try:
                    self.statuses.append((url, http.request(method, url, timeout=TIMEOUT, **kwargs).status_code))
                except requests.RequestException as exc:
                    self.statuses.append((url, type(exc).__name__))
                self.stopped.wait(PAUSE)

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc_info):
        self.stopped.set()
        for thread in self.threads:
            thread.join(timeout=TIMEOUT)


def _upload(host: str, alert_id: int, headers: dict, data: bytes) -> int:
    response = requests.post(f"{host}/api/v1/alerts/{alert_id}/attachments", headers=headers, timeout=TIMEOUT,
                             data={"side": "front", "light": "visible"},
                             files={"file": ("before.pdf", data, "application/pdf")})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _active_key(instance: str) -> str:
    with open(os.path.join(instance, "keyring.json")) as handle:
        return json.load(handle)["active"]


def test_keys_rotate_while_both_hosts_serve(hosts, account, token, visitor, cli):
    first, second = hosts
    reporter = account("liaison_officer", "GTM")
    number = document_number()
    alert_id = publish_alert(first, token(reporter, "alerts:write"), number)
    data = pdf_bytes("Written before the rotation", padding=100 * 1024)
    attachment_id = _upload(second, alert_id, token(reporter, "alerts:write"), data)
    reader = token(account("liaison_officer", "SLV"), "alerts:read", "alerts:check")
    check = {"document_number": number, "issuing_state": "GTM"}
    stream = [(method, f"{host}{path}", {"headers": reader, **extra}) for host in hosts for method, path, extra in (
        ("GET", f"/api/v1/alerts/{alert_id}", {}),  # decrypts the alert's encrypted fields
        ("GET", "/api/v1/alerts/check", {"params": check}),  # blind indexes and the audit seal
        ("GET", f"/api/v1/attachments/{attachment_id}", {}),  # unwraps the file key
    )]
    instance = os.environ["PORTAL_HOSTS_INSTANCE"]
    before = _active_key(instance)
    pids = {pid: os.stat(f"/proc/{pid}").st_ctime for pid in map(int, os.environ["PORTAL_HOST_PIDS"].split(","))}

    with Stream(stream) as clients:
        rotated = flask_command("keys", "rotate")
        served_during = len(clients.statuses)
    assert rotated.returncode == 0, rotated.stderr
    assert _active_key(instance) != before
    answered = clients.statuses
    assert served_during >= len(stream), "the stream of clients did not run during the rotation"
    assert {status for _url, status in answered} == {200}, sorted({item for item in answered if item[1] != 200})

    # Both hosts read the values rotated under the new key: no restart (the same masters), no error.
    assert {pid: os.stat(f"/proc/{pid}").st_ctime for pid in pids} == pids
    for host in hosts:
        detail = requests.get(f"{host}/api/v1/alerts/{alert_id}", headers=reader, timeout=TIMEOUT)
        assert detail.status_code == 200 and detail.json()["document_number"] == number
        file = requests.get(f"{host}/api/v1/attachments/{attachment_id}", headers=reader, timeout=TIMEOUT)
        assert file.status_code == 200 and file.content == data
    visitor.sign_in(reporter, second, first)  # the TOTP secret, re-encrypted under the new key
    assert visitor.get(f"{first}/").status_code == 200
    verified = cli("keys", "verify")
    assert verified.exit_code == 0, verified.output
