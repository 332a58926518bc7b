"""Checking a submission's, a reply's and a forward's input (``portal.exchange.validation``)."""

from __future__ import annotations

import pytest

from portal.exchange import operations, validation
from portal.exchange.models import Submission
from portal.notifications.models import Notification
from portal.outbox.models import OutboxMessage
from portal.principal import Principal
from tests.exchange.factories import (
    audit_rows,
    form_input,
    make_submission,
    row_count,
    submission_input,
)


def test_kind_defaults_objectives_and_explicit_ones_win(make_user):
    author = make_user(role="liaison_officer", party_code="GTM")
    assert make_submission(author, kind="extra_regional_flows").objectives == ["ERX-COO-3"]
    assert make_submission(author, kind="document_specimens").objectives == ["ERX-COO-1"]
    assert make_submission(author, kind="other").objectives == ["ERX-COO-1", "ERX-COO-3"]
    assert make_submission(author, objectives=["ERX-COO-4"]).objectives == ["ERX-COO-4"]


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"title": ""}, "title", "This field is required."),
    ({"title": "x" * 201}, "title", "Field cannot be longer than 200 characters."),
    ({"kind": "gossip"}, "kind", "Not a valid choice"),
    ({"summary": ""}, "summary", "This field is required."),
    ({"body": ""}, "body", "This field is required."),
    ({"source_reliability": "D"}, "source_reliability", "Not a valid choice"),
    ({"information_accuracy": "5"}, "information_accuracy", "Not a valid choice"),
    ({"handling_code": "none"}, "handling_code", "Not a valid choice"),
    ({"handling_code": "other"}, "handling_restrictions", "State the restrictions that apply."),
    ({"tlp": "PURPLE"}, "tlp", "Not a valid choice"),
    ({"parties": None}, "parties", "Choose at least one recipient party or network."),
    ({"parties": ["PAN", "ARG"]}, "parties", "not a valid choice"),
    ({"parties": ["GTM"]}, "parties", "not a valid choice"),
    ({"networks": ["NOPE"]}, "networks", "not a valid choice"),
    ({"related_alerts": ["999999"]}, "related_alerts", "not a valid choice"),
    ({"objectives": ["MPM-2"]}, "objectives", "not a valid choice"),
    ({"kind": "request_for_information"}, "due_date", "A request for information needs a due date."),
    ({"due_date": "2030-01-01"}, "due_date", "Only a request for information has a due date."),
    ({"kind": "request_for_information", "due_date": "2001-01-01"}, "due_date", "cannot be in the past"),
    ({"kind": "request_for_information", "due_date": "tomorrow"}, "due_date", "Not a valid date value."),
])
def test_form_validation_names_the_field_and_stores_nothing(overrides, field, message, make_user, login_as,
                                                            client):
    login_as(make_user(role="liaison_officer", party_code="GTM"))
    before = (row_count(Submission), row_count(Notification), row_count(OutboxMessage))
    response = client.post("/exchange/new", data=form_input(**overrides))
    assert response.status_code == 400
    html = response.data.decode()
    start = html.index(f'id="{field}"')
    end = html.index('<div class="mb-3">', start) if '<div class="mb-3">' in html[start:] else len(html)
    assert message in html[start:end], (field, message)
    assert (row_count(Submission), row_count(Notification), row_count(OutboxMessage)) == before
    assert audit_rows("exchange.create") == []


def test_related_alerts_must_be_visible_to_the_sender(make_user):
    from tests.alerts.factories import report

    other = make_user(role="liaison_officer", party_code="HND")
    hidden = report(other, tlp="AMBER", distribution={"level": "party"})
    author = make_user(role="liaison_officer", party_code="GTM")
    with pytest.raises(validation.SubmissionInvalid) as caught:
        validation.clean_submission(Principal.for_user(author), submission_input(related_alerts=[hidden.id]))
    assert caught.value.errors == {"related_alerts": "Relate only alerts you can see."}


def test_forward_input_errors(make_user):
    author = make_user(role="liaison_officer", party_code="GTM")
    submission = make_submission(author, parties=["MEX"], tlp="GREEN")
    principal = Principal.for_user(author)
    for codes, message in (([], "Choose at least one party"), (["MEX"], "already receive"),
                           (["ARG"], "Not a party you can address"), (["GTM"], "Not a party you can address")):
        with pytest.raises(validation.SubmissionInvalid) as caught:
            operations.forward(principal, submission, codes)
        assert message in caught.value.errors["parties"]


def test_a_reply_cannot_reach_beyond_the_audience(make_user):
    author = make_user(role="liaison_officer", party_code="GTM")
    submission = make_submission(author, parties=["MEX"])
    mex = make_user(role="liaison_officer", party_code="MEX")
    for audience, message in ((["PAN"], "already see the submission"), (["MEX"], "at least one other party"),
                              (["ZZZ"], "already see the submission")):
        with pytest.raises(validation.SubmissionInvalid) as caught:
            operations.reply(Principal.for_user(mex), submission, body="x", audience=audience)
        assert message in caught.value.errors["audience"]
