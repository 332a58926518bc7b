"""Rendering a submission's Markdown body and sanitising its HTML (``portal.exchange.markdown``)."""

from __future__ import annotations

from tests.exchange.factories import (
    make_submission,
)


def test_body_is_rendered_and_sanitised(make_user, login_as, client):
    author = make_user(role="liaison_officer", party_code="GTM")
    body = ("# Heading\n\n**bold** and [ok](https://example.org/x)\n\n<script>alert('x')</script>\n\n"
            "[bad](javascript:alert(1)) <img src=x onerror=alert(1)> ![ext](https://evil.example/p.png)\n\n"
            "<a href=\"javascript:alert(2)\" onclick=\"alert(3)\">raw</a>")
    submission = make_submission(author, parties=["MEX"], body=body)
    login_as(make_user(role="liaison_officer", party_code="MEX"))
    html = client.get(f"/exchange/{submission.id}").data.decode()
    body_html = html[html.index('id="submission-body"'):html.index('id="acks-heading"')]
    assert "<h1>Heading</h1>" in body_html and "<strong>bold</strong>" in body_html
    assert 'href="https://example.org/x"' in body_html
    tags = _tags(body_html[body_html.index(">") + 1:])
    assert "script" not in {tag for tag, _attrs in tags}
    attributes = [(tag, name, value or "") for tag, attrs in tags for name, value in attrs]
    assert not [a for a in attributes if a[1].startswith("on")]
    assert not [a for a in attributes if a[2].strip().lower().startswith("javascript")]
    assert not [a for a in attributes if a[0] == "img" and a[1] == "src"]  # the external image lost its src
    assert "&lt;script&gt;" in body_html  # raw HTML in the source is shown as text, never run


def _tags(html: str) -> list[tuple[str, list]]:
    from html.parser import HTMLParser

    found = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, attrs))

    Collector().feed(html)
    return found


def test_sanitiser_strips_dangerous_html():
    from portal.exchange.markdown import render, sanitise

    cleaned = sanitise('<p onclick="x">a<script>b()</script><a href="javascript:alert(1)">l</a>'
                       '<img src="x" onerror="alert(1)"><img src="https://evil/p.png"><img src="/static/a.png">'
                       '<a href="https://ok.example">ok</a><iframe src="/x"></iframe><style>p{}</style></p>')
    assert "script" not in cleaned and "b()" not in cleaned
    assert "javascript" not in cleaned and "onerror" not in cleaned and "onclick" not in cleaned
    assert "evil" not in cleaned and "iframe" not in cleaned and "style" not in cleaned
    # issue 11: no image but the record's own attachments, not even one inside the portal
    assert 'src="/static/a.png"' not in cleaned and 'href="https://ok.example"' in cleaned
    assert str(render("[x](javascript:alert(1))")) == "<p>[x](javascript:alert(1))</p>\n"
    assert "<img" not in str(render("![x](//evil.example/p.png)")).replace("<img alt=\"x\">", "")


def test_only_the_submissions_own_attachments_are_shown_as_images(make_user, login_as, client):
    """``![](/alerts/bulk/export.json) ![](/alerts/?q=X)`` made every reader's browser run an export and a
    search recorded as theirs; now only the submission's own attachment images keep their address."""
    from tests.exchange.factories import make_submission_attachment

    author = make_user(role="liaison_officer", party_code="GTM")
    submission = make_submission(author, parties=["MEX"], body="placeholder")
    item = make_submission_attachment(author, submission)
    other = make_submission(author, parties=["MEX"], body="x")
    own = f"/exchange/{submission.id}/attachments/{item.id}/thumbnail"
    foreign = f"/exchange/{other.id}/attachments/{item.id}/view"
    submission.body = (f"![a](/alerts/bulk/export.json) ![b](/alerts/?q=P<GTMQZ7730001) ![c]({foreign}) "
                       f"![d]({own}) ![e](/exchange/{submission.id}/attachments/{item.id}/download)")
    from portal.extensions import db

    db.session.commit()
    login_as(make_user(role="liaison_officer", party_code="MEX"))
    html = client.get(f"/exchange/{submission.id}").data.decode()
    body_html = html[html.index('id="submission-body"'):html.index('id="acks-heading"')]
    sources = [value for tag, attrs in _tags(body_html) if tag == "img" for name, value in attrs if name == "src"]
    assert set(sources) == {own}  # the body's image (the page lists the same thumbnail beside it)
