"""Markdown for submission bodies and replies: rendered by markdown-it (raw HTML off), then sanitised by nh3.

Raw HTML in the source is escaped by the renderer, and the output still goes through an nh3 allowlist
(defence in depth): only the tags below survive, ``on*`` and ``style`` attributes never do, links keep only
http(s) and mailto URLs or paths inside the portal, and an image keeps its ``src`` only when it is one of the
record's own attachments (its image or thumbnail, routes without side effects that the Fetch Metadata
check lets a page embed). Any other image is dropped: one from outside would leak the reader's address
and time to a third party, and one inside the portal (``![](/alerts/?q=...)``) would make every reader's
browser run a request in the reader's name.
"""

from __future__ import annotations

import re
from functools import partial

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

ALLOWED_TAGS = frozenset({
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "code", "em", "strong", "del",
    "ul", "ol", "li", "a", "img", "table", "thead", "tbody", "tr", "th", "td",
})
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})

_renderer = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(["table", "strikethrough"])


def _is_local_path(value: str) -> bool:
    return value.startswith("/") and not value.startswith("//") and "\\" not in value


def own_attachment_images(submission_id: int) -> re.Pattern:
    """The image addresses a submission's text may show: its own attachments' image and thumbnail routes."""
    return re.compile(rf"/exchange/{int(submission_id)}/attachments/[0-9]+/(?:view|thumbnail)")


def _filter_attribute(tag: str, attribute: str, value: str, *, images: re.Pattern | None = None) -> str | None:
    if tag == "img" and attribute == "src":
        return value if images is not None and images.fullmatch(value) else None
    if tag == "a" and attribute == "href":
        lowered = value.strip().lower()
        if lowered.startswith(("http://", "https://", "mailto:")) or _is_local_path(value):
            return value
        return None
    return value


def sanitise(html: str, images: re.Pattern | None = None) -> str:
    """The allowlisted part of ``html``; images only where their address matches ``images``."""
    return nh3.clean(html, tags=set(ALLOWED_TAGS), attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
                     url_schemes=set(URL_SCHEMES), attribute_filter=partial(_filter_attribute, images=images),
                     link_rel="noopener noreferrer nofollow", strip_comments=True)


def render(text: str | None, submission_id: int | None = None) -> Markup:
    """Markdown ``text`` of submission ``submission_id`` (a body or a reply) as safe HTML for a template:
    images only of that submission's own attachments."""
    images = own_attachment_images(submission_id) if submission_id is not None else None
    return Markup(sanitise(_renderer.render(text or ""), images))
