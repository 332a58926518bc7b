"""CSV and vCard exports: contents, formula neutralising, folding and the audit."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

from tests.directory.factories import audit_rows, make_entry

# --- exports ----------------------------------------------------------------------------------------------

def test_csv_export_contents_andaudit_rows(make_user, login_as, client):
    make_entry("GTM", name="María López", title="=HYPERLINK(\"x\")", phones=["+502 2411 1111"],
               languages=("es", "en"), networks=(("LON-CP", "coordinator"), ("GENDER", "member")))
    make_entry("MEX", name="Juan Ruiz", email="juan@sre.gob.mx", networks=())
    login_as(make_user(role="liaison_officer", party_code="HND"))
    response = client.post("/directory/export.csv", query_string={"party": "GTM"})
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == "attachment; filename=rcm-directory.csv"
    rows = list(csv.DictReader(io.StringIO(response.data.decode())))
    assert len(rows) == 1
    row = rows[0]
    assert row["name"] == "María López" and row["party"] == "GTM" and row["email"] == "maria.lopez@minex.gob.gt"
    assert row["title"] == "'=HYPERLINK(\"x\")"  # never a live formula
    assert row["phones"] == "+50224111111" and row["languages"] == "es en"
    assert row["networks"] == "LON-CP:coordinator GENDER:member" and row["stale"] == "no"
    audit = audit_rows("directory.export")
    assert len(audit) == 1
    details = json.loads(audit[0].details)
    assert details["format"] == "csv" and details["count"] == 1 and details["filters"]["party"] is True
    assert "López" not in audit[0].details and "@" not in audit[0].details


def test_vcard_export_is_vcard_4(make_user, login_as, client):
    make_entry("GTM", name="María López", title="Cónsul; adjunta", institution="MINEX, Guatemala",
               phones=["+502 2411 1111"], languages=("es", "en"), time_zone="America/Guatemala",
               verified=date(2026, 1, 5))
    login_as(make_user(role="liaison_officer", party_code="GTM"))
    response = client.post("/directory/export.vcf", query_string={"q": "lopez"})
    assert response.status_code == 200 and response.mimetype == "text/vcard"
    body = response.data.decode()
    assert body.startswith("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:María López\r\n")
    for line in ("TITLE:Cónsul\\; adjunta", "ORG:MINEX\\, Guatemala", "EMAIL;TYPE=work:maria.lopez@minex.gob.gt",
                 "TEL;VALUE=uri;TYPE=work,voice:tel:+50224111111", "LANG;PREF=1:es", "LANG;PREF=2:en",
                 "TZ;VALUE=text:America/Guatemala", "REV:20260105T000000Z", "END:VCARD"):
        assert line + "\r\n" in body
    assert all(len(line.encode()) <= 75 for line in body.split("\r\n"))
    assert json.loads(audit_rows("directory.export")[0].details)["format"] == "vcf"


def test_vcard_long_lines_are_folded():
    from portal.directory.export import _fold

    folded = _fold("NOTE:" + "ñ" * 100)
    assert all(len(part.encode()) <= 75 for part in folded.split("\r\n"))
    assert folded.replace("\r\n ", "") == "NOTE:" + "ñ" * 100
