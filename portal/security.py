"""Security headers on every response, the Fetch Metadata check, and the safe ``next`` redirect check."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, abort, request

CONTENT_SECURITY_POLICY = "; ".join(  # noqa: FLY002 - one directive a line reads better
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",  # QR codes for two-factor enrolment are data: URIs
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


# What a browser fetches as a sub-resource (``Sec-Fetch-Dest``); a top-level page load is ``document``, a
# script's fetch() is ``empty``.
SUBRESOURCE_DESTINATIONS = frozenset({
    "image", "script", "style", "font", "audio", "video", "track", "object", "embed", "manifest", "worker",
    "sharedworker", "serviceworker", "audioworklet", "paintworklet", "xslt", "report", "iframe", "frame",
})


def fetch_refusal(view, method: str, site: str | None, mode: str | None, dest: str | None) -> str | None:
    """Why a request's Fetch Metadata shows it was not made by the portal's own pages acting for the user
    (``None``: it may proceed). Browsers that send no Fetch Metadata (and machine clients) pass: the API
    needs a bearer token and every form a CSRF token anyway.

    - Another site may only link to a page (a top-level GET navigation, as a mailed link is followed); it
      may not submit, fetch or embed anything, so no other site makes a request act in the user's name.
    - The portal's own pages may embed only what is meant to be embedded (static files, the files of a
      record, ``routing.embeddable``): an ``<img>`` whose address is a search or an export, planted in
      someone's text, is refused before it runs.
    """
    embeddable = view is None or getattr(view, "is_embeddable", False)
    if site == "cross-site" and not (method in ("GET", "HEAD") and mode == "navigate" and dest in (None, "document")):
        return "cross-site"
    if dest in SUBRESOURCE_DESTINATIONS and not embeddable:
        return "subresource"
    return None


def _is_static(endpoint: str | None) -> bool:
    return bool(endpoint) and endpoint.endswith("static")


def has_encoded_slash(environ) -> bool:
    """Whether the URL as sent holds an encoded slash (``%2F``). The server decodes it before routing, so
    ``/returns/GTM%2Fsubmit`` would reach ``/returns/GTM/submit``: a path parameter would span two segments
    and name another resource. No portal URL needs one, so such a request is not found."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or ""
    return "%2f" in raw.split("?", 1)[0].lower()


def init_app(app: Flask) -> None:
    @app.before_request
    def _refuse_encoded_slashes():
        if has_encoded_slash(request.environ):
            abort(404)

    @app.before_request
    def _check_fetch_metadata():
        headers = request.headers
        endpoint = request.endpoint
        view = None if endpoint is None or _is_static(endpoint) else app.view_functions.get(endpoint)
        if fetch_refusal(view, request.method, headers.get("Sec-Fetch-Site"), headers.get("Sec-Fetch-Mode"),
                         headers.get("Sec-Fetch-Dest")):
            abort(403)

    @app.after_request
    def _security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers["X-Frame-Options"] = "DENY"
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "no-referrer"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        if request.is_secure or app.config["BASE_URL"].startswith("https://"):
            headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        if response.status_code >= 400:
            # Error pages too, matched or not (a 404 or 405 outside any endpoint shows the user's name).
            headers["Cache-Control"] = "no-store"
        elif not _is_static(request.endpoint) and "Cache-Control" not in headers:
            headers["Cache-Control"] = "no-store"
        return response


def is_safe_next(target: str | None) -> bool:
    """Only same-site relative paths: no scheme, no host, no protocol-relative or backslash tricks."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc
