"""The environment ``python -m tests.hosts`` gives its command: a contract ``bench/faults.py`` relies on."""

from __future__ import annotations

from tests.hosts import Hosts, host_urls

SETTINGS = {"PORTAL_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:5432/test_hosts_abc123",
            "PORTAL_REDIS_URL": "redis://127.0.0.1:6379/15", "PORTAL_INSTANCE_PATH": "/tmp/portal-hosts-x",
            "PORTAL_BASE_URL": "http://127.0.0.1:5001"}


def test_the_command_is_told_the_hosts_in_order_and_what_they_share(monkeypatch):
    hosts = Hosts(("http://127.0.0.1:5001", "http://127.0.0.1:5002"), (101, 202),
                  ("/tmp/portal-hosts-x/host0.log", "/tmp/portal-hosts-x/host1.log"), SETTINGS)
    environment = hosts.environment()
    assert environment == {**SETTINGS,
                           "PORTAL_HOST_URLS": "http://127.0.0.1:5001,http://127.0.0.1:5002",
                           "PORTAL_HOST_PIDS": "101,202",
                           "PORTAL_HOST_LOGS": "/tmp/portal-hosts-x/host0.log,/tmp/portal-hosts-x/host1.log",
                           "PORTAL_HOSTS_DATABASE_URL": SETTINGS["PORTAL_DATABASE_URL"],
                           "PORTAL_HOSTS_REDIS_URL": SETTINGS["PORTAL_REDIS_URL"],
                           "PORTAL_HOSTS_INSTANCE": SETTINGS["PORTAL_INSTANCE_PATH"]}
    monkeypatch.setenv("PORTAL_HOST_URLS", environment["PORTAL_HOST_URLS"])
    assert host_urls() == list(hosts.urls)
    monkeypatch.delenv("PORTAL_HOST_URLS")
    assert host_urls() == []
