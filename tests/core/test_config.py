"""Settings: production refuses to start without its secrets; development generates them with a warning."""

import pytest

from portal.config import ConfigurationError, load_settings


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in ("PORTAL_SECRET_KEY", "PORTAL_KEYRING_FILE", "PORTAL_DATABASE_URL", "PORTAL_REDIS_URL",
                 "PORTAL_BASE_URL", "PORTAL_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path))
    return monkeypatch


def test_production_without_secrets_is_a_clear_error(clean_env):
    clean_env.setenv("PORTAL_ENV", "production")
    with pytest.raises(ConfigurationError) as excinfo:
        load_settings()
    message = str(excinfo.value)
    for name in ("PORTAL_SECRET_KEY", "PORTAL_KEYRING_FILE", "PORTAL_DATABASE_URL", "PORTAL_REDIS_URL"):
        assert name in message


def test_production_requires_https(clean_env):
    clean_env.setenv("PORTAL_ENV", "production")
    for name in ("PORTAL_SECRET_KEY", "PORTAL_KEYRING_FILE", "PORTAL_DATABASE_URL", "PORTAL_REDIS_URL"):
        clean_env.setenv(name, "x")
    clean_env.setenv("PORTAL_BASE_URL", "http://portal.example")
    with pytest.raises(ConfigurationError, match="https"):
        load_settings()
    clean_env.setenv("PORTAL_BASE_URL", "https://portal.example")
    settings = load_settings()
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["KEYRING_GENERATE"] is False


def test_development_defaults(clean_env, tmp_path):
    with pytest.warns(RuntimeWarning, match="PORTAL_SECRET_KEY"):
        settings = load_settings()
    assert settings["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'portal.db'}"
    assert settings["KEYRING_FILE"] == str(tmp_path / "keyring.json")
    assert settings["RATELIMIT_STORAGE_URI"] == "memory://"
    assert load_settings()["SECRET_KEY"] == settings["SECRET_KEY"]  # kept, not regenerated
