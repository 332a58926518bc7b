"""Demo alerts for ``flask demo`` (registered in ``portal.cli_support``): several fraud types, specimen
images drawn with Pillow (front in visible and UV light), a revision and acknowledgements, all through the
real operations (validated, encrypted, audited)."""

from __future__ import annotations

import io
from datetime import timedelta

from PIL import Image, ImageDraw

from alerts import attachments
from alerts.operations import acknowledge_alert, create_alert, update_alert
from documents.files import StoredBlobs, store_upload
from documents.uploads import ATTACHMENT_KINDS
from portal.cli_support import register_demo_content
from portal.principal import Principal
from portal.timeutil import utcnow

# (author party, number, issuing state, fraud type, subtype, features, route, TLP, distribution, tips)
ALERTS = (
    ("GTM", "DG1000001", "GTM", "counterfeit", None, ["laminate", "uv_features"], ["COL", "PAN", "GTM"], "GREEN",
     {"level": "members"}, "The laminate shows no reaction under UV light; the guilloche lines break up."),
    ("GTM", "DG1000002", "HND", "forgery", "photo_substitution", ["photo", "laminate"], ["ECU", "GTM"], "GREEN",
     {"level": "members"}, "Check the edges of the photograph: the laminate was cut and re-glued."),
    ("GTM", "DG1000003", "SLV", "impostor", None, ["photo"], ["SLV", "GTM", "MEX"], "AMBER",
     {"level": "parties", "parties": ["MEX"]}, "Compare ear shape and age with the photograph, not the hair."),
    ("MEX", "DM2000001", "MEX", "fraudulently_obtained", None, [], ["GTM", "MEX"], "GREEN", {"level": "members"},
     "Genuine booklet issued on a forged birth certificate: verify with the issuing office."),
    ("MEX", "DM2000002", "CUB", "counterfeit", None, ["uv_features", "watermark"], ["CUB", "NIC", "HND", "GTM", "MEX"],
     "GREEN", {"level": "members"}, "No watermark when held against the light; UV fibres are printed, not embedded."),
    ("GTM", "DG1000004", "COL", "revoked_invalid", None, [], ["COL", "GTM"], "CLEAR", {"level": "members"},
     "Reported lost by its holder; presented by a look-alike."),
)


def specimen_png(label: str, *, uv: bool) -> bytes:
    """A made-up passport data page: a drawing, not a real document (UV: the fluorescent pattern)."""
    image = Image.new("RGB", (640, 420), (24, 16, 64) if uv else (226, 232, 222))
    draw = ImageDraw.Draw(image)
    ink = (120, 255, 200) if uv else (30, 60, 110)
    draw.rectangle((20, 20, 619, 399), outline=ink, width=4)
    draw.rectangle((40, 80, 210, 300), outline=ink, width=3)
    for offset in range(0, 600, 24):
        draw.arc((offset - 200, 250, offset + 200, 520), 180, 360, fill=ink if uv else (170, 190, 170), width=1)
    draw.text((240, 40), "SPECIMEN - DEMO ONLY", fill=ink)
    draw.text((240, 90), label, fill=ink)
    draw.text((240, 130), "UV" if uv else "VISIBLE", fill=ink)
    draw.text((40, 340), "P<DEMO<<SPECIMEN<<<<<<<<<<<<<<<<<<<<<<<<<<<<<", fill=ink)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _attach(principal: Principal, alert, *, uv: bool) -> None:
    upload = store_upload([specimen_png(alert.reference, uv=uv)], "front-uv.png" if uv else "front.png",
                          allowed=ATTACHMENT_KINDS, blobs=StoredBlobs())
    attachments.create_attachment(principal, alert, upload, side="front", light="uv" if uv else "visible",
                                  caption="Generated demo specimen")


def _data(number, state, fraud, subtype, features, route, tlp, distribution, tips, days_ago) -> dict:
    return {
        "detecting_unit": "Immigration control, arrivals", "detection_place_kind": "airport",
        "detection_place": "International airport", "route": route, "bearer_nationality": route[0],
        "detection_date": (utcnow().date() - timedelta(days=days_ago)).isoformat(),
        "document_category": "passport", "document_type": "ordinary", "issuing_state": state,
        "document_number": number, "fraud_type": fraud, "forgery_subtype": subtype, "security_features": features,
        "description": "Demo alert: a made-up case to show the portal.", "detection_tips": tips,
        "tlp": tlp, "distribution": distribution, "status": "published",
    }


def fill(accounts) -> str:
    """Alerts of GTM and MEX with images, one revised, some acknowledged, and a draft."""
    made = []
    for index, (code, number, state, fraud, subtype, features, route, tlp, distribution, tips) in enumerate(ALERTS):
        principal = Principal.for_user(accounts[(code, "liaison")])
        alert = create_alert(principal, _data(number, state, fraud, subtype, features, route, tlp, distribution,
                                              tips, days_ago=3 + 9 * index))
        _attach(principal, alert, uv=False)
        _attach(principal, alert, uv=True)
        made.append((code, alert))
    gtm = Principal.for_user(accounts[("GTM", "liaison")])
    update_alert(gtm, made[0][1], {"detection_tips": ALERTS[0][9] + " The MRZ check digit of the date of birth is wrong."})
    create_alert(gtm, {**_data("DG1000009", "GTM", "counterfeit", None, [], ["GTM"], "GREEN", {"level": "members"},
                               None, days_ago=1), "status": "draft"})
    mex = Principal.for_user(accounts[("MEX", "liaison")])
    for code, alert in made[:2]:
        acknowledge_alert(mex, alert)
    acknowledge_alert(gtm, made[3][1])
    return f"{len(made) + 1} alerts (one draft, one revised) with {2 * len(made)} specimen images"


register_demo_content("alerts", fill, order=10)
