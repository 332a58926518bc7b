"""Security headers on every response, and the safe ``next`` redirect check."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, request

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


def _is_static(endpoint: str | None) -> bool:
    return bool(endpoint) and endpoint.endswith("static")


def init_app(app: Flask) -> None:
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
