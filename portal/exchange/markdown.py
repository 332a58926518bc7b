"""Markdown for submission bodies and replies: rendered by markdown-it (raw HTML off), then sanitised by nh3.

Raw HTML in the source is escaped by the renderer, and the output still goes through an nh3 allowlist
(defence in depth): only the tags below survive, ``on*`` and ``style`` attributes never do, links keep only
http(s) and mailto URLs or paths inside the portal, and an image keeps its ``src`` only when it is a path
inside the portal (no images from outside: they would leak the reader's address and time to a third party,
and the CSP refuses them anyway).
"""

from __future__ import annotations

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


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src":
        return value if _is_local_path(value) else None
    if tag == "a" and attribute == "href":
        lowered = value.strip().lower()
        if lowered.startswith(("http://", "https://", "mailto:")) or _is_local_path(value):
            return value
        return None
    return value


def sanitise(html: str) -> str:
    """The allowlisted part of ``html``."""
    return nh3.clean(html, tags=set(ALLOWED_TAGS), attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
                     url_schemes=set(URL_SCHEMES), attribute_filter=_filter_attribute,
                     link_rel="noopener noreferrer nofollow", strip_comments=True)


def render(text: str | None) -> Markup:
    """Markdown ``text`` as safe HTML for a template."""
    return Markup(sanitise(_renderer.render(text or "")))
