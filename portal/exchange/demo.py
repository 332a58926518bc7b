"""A demo exchange thread for ``flask demo``: a submission GTM -> MEX, acknowledged and answered, and a
request for information waiting for MEX's answer (through the real operations)."""

from __future__ import annotations

from datetime import timedelta

from portal.cli_support import register_demo_content
from portal.exchange import operations, validation
from portal.principal import Principal
from portal.timeutil import utcnow


def fill(accounts) -> str:
    gtm = Principal.for_user(accounts[("GTM", "liaison")])
    mex = Principal.for_user(accounts[("MEX", "liaison")])
    shared = operations.create_submission(gtm, validation.clean_submission(gtm, {
        "title": "Counterfeit passports on the Pacific coast route", "kind": "immigration_control",
        "summary": "Three counterfeit booklets of one workshop detected this month.",
        "body": "## Findings\n\nThe booklets share a **misprinted** guilloche and a printed UV pattern.",
        "source_reliability": "B", "information_accuracy": "2", "handling_code": "crime_only", "tlp": "GREEN",
        "parties": ["MEX"],
    }), send=True)
    operations.acknowledge(mex, shared)
    operations.reply(mex, shared, body="Thank you: we saw two of the same booklets at Tapachula last week.")
    operations.create_submission(gtm, validation.clean_submission(gtm, {
        "title": "Request: facilitators using the Tecún Umán crossing", "kind": "request_for_information",
        "summary": "Do you hold recent information on document vendors near the crossing?",
        "body": "Please share what you can on vendors offering counterfeit passports near the crossing.",
        "source_reliability": "B", "information_accuracy": "3", "handling_code": "crime_only", "tlp": "GREEN",
        "parties": ["MEX"], "due_date": (utcnow().date() + timedelta(days=5)).isoformat(),
    }), send=True)
    return "an exchange thread (acknowledged, answered) and a request for information due in five days"


register_demo_content("exchange", fill, order=20)
