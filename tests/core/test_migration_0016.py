"""Migration 0016 freezes the audience of every record already distributed to a network (issue 11, section 2)."""

from __future__ import annotations

from sqlalchemy import inspect, text


def _rows(connection) -> list[tuple]:
    return [tuple(row) for row in connection.execute(text(
        "SELECT record_type, record_id, party_id, via_network_id FROM distribution_recipients "
        "ORDER BY record_type, record_id, party_id"))]


def test_network_distributions_get_the_audience_of_today_and_submissions_their_networks(scratch):
    engine, migrate = scratch
    migrate("0015")
    with engine.begin() as connection:
        for party_id, code, kind in ((1, "GTM", "member"), (2, "MEX", "member"), (3, "USA", "member"),
                                     (4, "IOM", "organisation")):
            connection.execute(text("INSERT INTO parties (id, code, kind, name_en, name_es, active) "
                                    "VALUES (:id, :code, :kind, :code, :code, :active)"),
                               {"id": party_id, "code": code, "kind": kind, "active": True})
        connection.execute(text("INSERT INTO networks (id, code, name_en, name_es) VALUES (1, 'TROIKA', 'T', 'T')"))
        for party_id in (1, 2, 4):
            connection.execute(text("INSERT INTO network_parties (network_id, party_id) VALUES (1, :p)"),
                               {"p": party_id})
        for notice_id, level, network_id in ((1, "network", 1), (2, "parties", None)):
            connection.execute(text(
                "INSERT INTO notices (id, title, body, created_by_id, created_at, owner_party_id, "
                "distribution_level, network_id, tlp) VALUES (:id, 'k1:t', 'k1:b', 1, '2026-12-01 10:00:00', 1, "
                ":level, :network, 'RED')"), {"id": notice_id, "level": level, "network": network_id})
        connection.execute(text("INSERT INTO submission_networks (submission_id, network_id) VALUES (5, 1)"))
        for record_type, record_id, party_id in (("notices", 2, 3), ("submissions", 5, 2), ("submissions", 5, 3)):
            connection.execute(text("INSERT INTO distribution_recipients (record_type, record_id, party_id) "
                                    "VALUES (:t, :r, :p)"), {"t": record_type, "r": record_id, "p": party_id})
    migrate("0016")
    with engine.connect() as connection:
        assert _rows(connection) == [
            ("notices", 1, 1, 1),  # the owner: the audience is taken
            ("notices", 1, 2, 1),  # MEX, a member country of TROIKA today (IOM, an organisation, is not reached)
            ("notices", 2, 3, None),  # a listed recipient stays listed
            ("submissions", 5, 2, 1),  # reached through TROIKA: loses it on leaving TROIKA
            ("submissions", 5, 3, None),  # USA is not in TROIKA: it was named
        ]
    migrate("0015", down=True)
    with engine.connect() as connection:
        assert "via_network_id" not in {column["name"] for column in inspect(connection).get_columns(
            "distribution_recipients")}
        assert [row[:3] for row in _rows_without_via(connection)] == [("notices", 2, 3), ("submissions", 5, 2),
                                                                       ("submissions", 5, 3)]


def _rows_without_via(connection) -> list[tuple]:
    return [tuple(row) for row in connection.execute(text(
        "SELECT record_type, record_id, party_id FROM distribution_recipients ORDER BY record_type, record_id, party_id"))]
