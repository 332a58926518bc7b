"""Settings, read from PORTAL_* environment variables (documented in README.md).

Development generates missing secrets under the instance folder with a warning; production
(``PORTAL_ENV=production``) refuses to start instead of falling back to a default.
"""

from __future__ import annotations

import os
import secrets
import warnings
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


class ConfigurationError(RuntimeError):
    """A setting is missing or unsafe; the message names it."""


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def instance_path() -> Path:
    """Folder for the SQLite database, the development key ring and the mail spool."""
    return Path(os.environ.get("PORTAL_INSTANCE_PATH") or REPO_ROOT / "instance").resolve()


def _development_secret_key(folder: Path) -> str:
    key_file = folder / "secret_key"
    if not key_file.exists():
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        warnings.warn(
            f"PORTAL_SECRET_KEY is not set: generated a development key in {key_file}",
            RuntimeWarning,
            stacklevel=2,
        )
    return key_file.read_text().strip()


def load_settings() -> dict:
    """Build the Flask config mapping from the environment."""
    env = os.environ.get("PORTAL_ENV", "development")
    production = env == "production"
    folder = instance_path()
    base_url = os.environ.get("PORTAL_BASE_URL", "http://127.0.0.1:5000").rstrip("/")

    secret_key = os.environ.get("PORTAL_SECRET_KEY")
    keyring_file = os.environ.get("PORTAL_KEYRING_FILE")
    redis_url = os.environ.get("PORTAL_REDIS_URL")
    if production:
        missing = [
            name
            for name, value in (
                ("PORTAL_SECRET_KEY", secret_key),
                ("PORTAL_KEYRING_FILE", keyring_file),
                ("PORTAL_DATABASE_URL", os.environ.get("PORTAL_DATABASE_URL")),
                ("PORTAL_REDIS_URL", redis_url),
            )
            if not value
        ]
        if missing:
            raise ConfigurationError(
                "PORTAL_ENV=production requires these settings: " + ", ".join(missing)
            )
        if not base_url.startswith("https://"):
            raise ConfigurationError("PORTAL_ENV=production requires an https:// PORTAL_BASE_URL")

    return {
        "PORTAL_ENV": env,
        "INSTANCE_PATH": str(folder),
        "SECRET_KEY": secret_key or _development_secret_key(folder),
        "SQLALCHEMY_DATABASE_URI": os.environ.get("PORTAL_DATABASE_URL")
        or f"sqlite:///{folder / 'portal.db'}",
        "KEYRING_FILE": keyring_file or str(folder / "keyring.json"),
        "KEYRING_GENERATE": not production,
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "BASE_URL": base_url,
        "MAIL_SERVER": os.environ.get("PORTAL_MAIL_SERVER", ""),
        "MAIL_PORT": int(os.environ.get("PORTAL_MAIL_PORT", "587")),
        "MAIL_USERNAME": os.environ.get("PORTAL_MAIL_USERNAME", ""),
        "MAIL_PASSWORD": os.environ.get("PORTAL_MAIL_PASSWORD", ""),
        "MAIL_USE_TLS": _env_bool("PORTAL_MAIL_USE_TLS", True),
        "MAIL_SENDER": os.environ.get("PORTAL_MAIL_SENDER", "no-reply@rcm-portal.invalid"),
        "MAIL_SPOOL_DIR": os.environ.get("PORTAL_MAIL_SPOOL_DIR") or str(folder / "mail"),
        # Where encrypted files are kept: a folder, file:///folder, or another registered backend's URL
        # (documents.storage). Empty: <instance>/blobs.
        "BLOB_STORE": os.environ.get("PORTAL_BLOB_STORE", ""),
        # s3://bucket/prefix: the S3 endpoint (SeaweedFS, MinIO; empty: AWS), credentials from AWS_* variables.
        "S3_ENDPOINT": os.environ.get("PORTAL_S3_ENDPOINT", ""),
        # GET /metrics answers only "Authorization: Bearer <token>" (empty: 404).
        "METRICS_TOKEN": os.environ.get("PORTAL_METRICS_TOKEN", ""),
        # Witnesses of the signed audit checkpoints (portal.audit.witness): an append-only file's folder,
        # and e-mail addresses (comma-separated); a checkpoint every N minutes or M entries.
        "AUDIT_WITNESS_DIR": os.environ.get("PORTAL_AUDIT_WITNESS_DIR", ""),
        "AUDIT_WITNESS_EMAILS": os.environ.get("PORTAL_AUDIT_WITNESS_EMAILS", ""),
        "AUDIT_CHECKPOINT_MINUTES": int(os.environ.get("PORTAL_AUDIT_CHECKPOINT_MINUTES", "15")),
        "AUDIT_CHECKPOINT_ENTRIES": int(os.environ.get("PORTAL_AUDIT_CHECKPOINT_ENTRIES", "1000")),
        "SESSION_COOKIE_SECURE": production or base_url.startswith("https://"),
        # Reverse proxies in front of the portal whose X-Forwarded-For/-Proto to trust (0: none). Rate
        # limits and the audit log need the client's address, not the proxy's.
        "TRUSTED_PROXIES": int(os.environ.get("PORTAL_TRUSTED_PROXIES", "0")),
        # argon2id parameters (RFC 9106 second recommended option); tests lower them.
        "ARGON2_TIME_COST": 3,
        "ARGON2_MEMORY_COST": 64 * 1024,
        "ARGON2_PARALLELISM": 2,
    }


# Values that do not depend on the environment.
STATIC_SETTINGS = {
    "SQLALCHEMY_TRACK_MODIFICATIONS": False,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_NAME": "rcm_session",
    "WTF_CSRF_TIME_LIMIT": 3600,
    "WTF_CSRF_SSL_STRICT": True,
    "BOOTSTRAP_SERVE_LOCAL": True,
    "BABEL_DEFAULT_LOCALE": "en",
    "BABEL_TRANSLATION_DIRECTORIES": str(REPO_ROOT / "portal" / "translations"),
    "LANGUAGES": ("en", "es"),
    "RATELIMIT_HEADERS_ENABLED": True,
    # Fail closed: when the store (Redis) is down, a rate-limited route answers 503 (portal.errors) rather
    # than let attempts through uncounted; no per-process fallback, which would count on one host only.
    "RATELIMIT_SWALLOW_ERRORS": False,
    "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": False,
    "RATELIMIT_STORAGE_OPTIONS": {"wrap_exceptions": True, "socket_connect_timeout": 2, "socket_timeout": 2},
    "RATELIMIT_LOGIN": "10 per minute",
    "RATELIMIT_API": "600 per minute",
    # Per client address, counting only refused bearer tokens: the per-token limit is keyed on the token
    # presented, so without this every made-up token would get a fresh allowance (and an audit entry).
    "RATELIMIT_API_AUTH_FAILURES": "30 per minute",
    "SESSION_IDLE_MINUTES": 30,
    "SESSION_ABSOLUTE_HOURS": 12,
    "LOCKOUT_THRESHOLD": 5,
    "LOCKOUT_MINUTES": 15,
    "PASSWORD_MIN_LENGTH": 12,
    "PASSWORD_MIN_SCORE": 3,
    "RESET_LINK_HOURS": 1,
    "MAX_CONTENT_LENGTH": 50 * 1024 * 1024,
    "PAGE_SIZE": 25,
}
