"""Revision differences: which fields changed, how they read, and word-level changes in free text."""

from alerts.diff import Segment, diff_snapshots, display, word_diff
from alerts.operations import revisions, snapshot, update_alert, withdraw_alert
from tests.alerts.factories import principal, report


def test_word_diff_marks_only_the_changed_words():
    assert word_diff("Good quality booklet.", "Poor quality booklet.") == [
        Segment("delete", "Good"), Segment("insert", "Poor"), Segment("equal", " quality booklet."),
    ]
    assert word_diff("Seen at the airport.", "Seen at the land border post.") == [
        Segment("equal", "Seen at the "), Segment("delete", "airport."), Segment("insert", "land border post."),
    ]


def test_a_rewritten_text_is_shown_whole_rather_than_as_word_islands():
    assert word_diff("The laminate shows no reaction.", "Check the stitching.") == [
        Segment("delete", "The laminate shows no reaction."), Segment("insert", "Check the stitching."),
    ]


def test_values_read_as_labels():
    assert display("fraud_type", "stolen_blank") == "Stolen blank"
    assert display("security_features", ["laminate", "uv_features"]) == "Laminate, UV features"
    assert display("route", ["COL", "PAN", "GTM"]) == "COL → PAN → GTM"
    assert display("distribution", {"level": "parties", "parties": ["HND", "MEX"], "network": None}) == \
        "Listed parties: HND, MEX"
    assert display("distribution", {"level": "members", "parties": [], "network": None}) == "All members"
    assert display("holder_name", None) == ""


def test_first_snapshot_lists_every_given_field_as_added(app_ctx):
    first = {"document_number": "A1", "fraud_type": "counterfeit", "description": "Text.", "route": [],
             "forgery_subtype": None}
    changes = diff_snapshots(None, first)
    assert [(c.name, c.kind, c.new) for c in changes] == [
        ("document_number", "added", "A1"), ("fraud_type", "added", "Counterfeit"), ("description", "added", "Text."),
    ]


def test_consecutive_revisions_of_a_real_alert(make_user):
    author = make_user(role="liaison_officer", party_code="GTM")
    alert = report(author)
    update_alert(principal(author), alert, {"tlp": "AMBER", "route": ["COL", "GTM"],
                                           "description": "Counterfeit passport booklet of poor quality."})
    withdraw_alert(principal(author), alert, "Duplicate of another report.")
    steps = revisions(alert)
    assert [step["event"] for step in steps] == ["create", "publish", "update", "withdraw"]
    published = diff_snapshots(steps[0]["data"], steps[1]["data"])
    assert [(c.name, c.old, c.new) for c in published] == [("status", "Draft", "Published")]
    updated = {c.name: c for c in diff_snapshots(steps[1]["data"], steps[2]["data"])}
    assert set(updated) == {"tlp", "route", "description"}
    assert (updated["tlp"].old, updated["tlp"].new) == ("GREEN", "AMBER")
    assert (updated["route"].old, updated["route"].new) == ("COL → PAN → GTM", "COL → GTM")
    assert Segment("delete", "good") in updated["description"].segments
    assert Segment("insert", "poor") in updated["description"].segments
    withdrawn = {c.name: c for c in diff_snapshots(steps[2]["data"], steps[3]["data"])}
    assert set(withdrawn) == {"status", "withdrawal_reason"}
    assert withdrawn["withdrawal_reason"].kind == "added" and withdrawn["withdrawal_reason"].segments == []
    assert steps[3]["data"] == snapshot(alert)


def test_a_reordered_set_is_no_change():
    """Plan objectives, security features and listed parties are sets: a new order alone changes nothing."""
    from alerts.diff import diff_snapshots

    old = {"objectives": ["MPM-2", "ERX-INF-4"], "security_features": ["laminate", "uv_features"],
           "distribution": {"level": "parties", "parties": ["MEX", "HND"]}}
    new = {"objectives": ["ERX-INF-4", "MPM-2"], "security_features": ["uv_features", "laminate"],
           "distribution": {"level": "parties", "parties": ["HND", "MEX"]}}
    assert diff_snapshots(old, new) == []
    changed = diff_snapshots(old, {**new, "objectives": ["ERX-INF-4"]})
    assert [change.name for change in changed] == ["objectives"]
