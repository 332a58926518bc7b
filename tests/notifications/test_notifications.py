"""In-app notifications: the list, "mark all as read", the navbar count, and what a title may carry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask_babel import get_locale
from sqlalchemy import select

from portal.extensions import db
from portal.notifications.models import Notification
from portal.notifications.operations import mark_all_read, notify, title_for
from portal.timeutil import utcnow


def _add(user, title, *, minutes_ago=0, read=False, tlp="GREEN", link="/notices/1"):
    note = Notification(user_id=user.id, kind="notice.new", title=title, link=link, tlp=tlp,
                        created_at=utcnow() - timedelta(minutes=minutes_ago),
                        read_at=utcnow() if read else None)
    db.session.add(note)
    db.session.commit()
    return note


def test_list_shows_own_notifications_newest_first(make_user, login_as, client):
    user = make_user()
    other = make_user(party_code="MEX")
    _add(user, "Older one", minutes_ago=10, tlp="RED")
    _add(user, "Newer one", minutes_ago=1, link="/notices/42")
    _add(other, "Someone else's")
    login_as(user)
    response = client.get("/notifications/")
    assert response.status_code == 200
    html = response.data.decode()
    assert html.index("Newer one") < html.index("Older one")
    assert "Someone else" not in html
    assert 'href="/notices/42"' in html
    assert "TLP:RED" in html and "TLP:GREEN" in html
    assert 'class="badge bg-danger">2</span>' in html  # unread count in the navbar


def test_read_all_marks_only_own_unread(make_user, login_as, client):
    user = make_user()
    other = make_user(party_code="MEX")
    mine = [_add(user, "A"), _add(user, "B")]
    earlier = utcnow() - timedelta(days=1)
    already = _add(user, "C", read=True)
    already.read_at = earlier
    theirs = _add(other, "D")
    db.session.commit()
    login_as(user)
    response = client.post("/notifications/read-all")
    assert response.status_code == 302
    assert response.headers["Location"] == "/notifications/"
    for note in (*mine, already, theirs):
        db.session.refresh(note)
    assert all(note.read_at is not None for note in mine)
    assert already.read_at == earlier
    assert theirs.read_at is None
    html = client.get("/notifications/").data.decode()
    assert "bg-danger" not in html and 'id="read-all"' not in html


def test_read_all_is_post_only_and_needs_login(client):
    assert client.get("/notifications/read-all").status_code == 405
    response = client.post("/notifications/read-all")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")


def test_empty_list(make_user, login_as, client):
    login_as(make_user())
    assert "You have no notifications." in client.get("/notifications/").data.decode()


def test_notify_renders_each_title_in_the_recipients_language(app_ctx, make_user):
    class LocaleProbe:
        def __str__(self):
            return f"locale={get_locale()}"

    english = make_user(locale="en")
    spanish = make_user(locale="es")
    unset = make_user()
    notify([english, spanish, unset], "notice.new", LocaleProbe(), "/notices/1", "GREEN")
    titles = {n.user_id: n.title for n in db.session.scalars(select(Notification))}
    assert titles == {english.id: "locale=en", spanish.id: "locale=es", unset.id: "locale=en"}


@pytest.mark.parametrize("link", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)"])
def test_notify_refuses_links_outside_the_portal(app_ctx, make_user, link):
    with pytest.raises(ValueError):
        notify([make_user()], "notice.new", "x", link, "GREEN")


@pytest.mark.parametrize("tlp,content", [("CLEAR", True), ("GREEN", True), ("AMBER", False),
                                         ("AMBER+STRICT", False), ("RED", False), (None, False)])
def test_only_clear_and_green_titles_carry_content(tlp, content):
    assert (title_for(tlp, content_title="content", reference_title="ref") == "content") is content


def test_mark_all_read_counts(app_ctx, make_user):
    user = make_user()
    _add(user, "A")
    _add(user, "B")
    assert mark_all_read(user) == 2
    assert mark_all_read(user) == 0
