"""Two application hosts on one machine, sharing what a deployment's hosts share, for ``make test-hosts``
(which runs the tests of ``tests/multihost`` under it) and ``bench/faults.py``.

``python -m tests.hosts COMMAND...`` starts, on free loopback ports:

- one SeaweedFS S3 gateway (``tests.seaweed``), its bucket holding every host's blobs;
- a scratch PostgreSQL database of its own (created next to ``PORTAL_TEST_DATABASE_URL``'s, migrated and
  seeded once by ``flask setup``, dropped at the end), so nothing another suite left there is in it;
- two gunicorn instances of ``portal:create_app()`` (``PORTAL_HOSTS_WORKERS`` workers each, default 2),
  with one database, one Redis (``PORTAL_TEST_REDIS_URL``: rate limits; its rate-limit keys are cleared at
  the start), one bucket, one key-ring file, one secret key, one witness folder and one
  ``PORTAL_BASE_URL`` (the first host's URL: the address a load balancer would have);

then runs COMMAND and stops everything, also when COMMAND or a start fails, and exits with COMMAND's
status. COMMAND runs with the environment below (a contract: ``bench/faults.py`` relies on it):

- ``PORTAL_HOST_URLS``: the hosts' base URLs, comma-separated (``http://127.0.0.1:PORT``);
- ``PORTAL_HOST_PIDS``: their gunicorn master pids, comma-separated, in the same order;
- ``PORTAL_HOST_LOGS``: their log files (gunicorn's and the portal's JSON lines), in the same order;
- ``PORTAL_HOSTS_DATABASE_URL``: the shared database (SQLAlchemy URL);
- ``PORTAL_HOSTS_REDIS_URL``: the shared Redis;
- ``PORTAL_HOSTS_INSTANCE``: the shared instance folder (``keyring.json``, ``witness/``, ``mail/``);
- and every setting the hosts were started with (``PORTAL_DATABASE_URL``, ``PORTAL_REDIS_URL``,
  ``PORTAL_INSTANCE_PATH``, ``PORTAL_KEYRING_FILE``, ``PORTAL_SECRET_KEY``, ``PORTAL_BASE_URL``,
  ``PORTAL_BLOB_STORE``, ``PORTAL_S3_ENDPOINT``, ``AWS_*``, ``PORTAL_AUDIT_WITNESS_DIR``, ...), so that
  ``flask --app portal <command>`` (``flask_command()``) and ``hosts_app()`` in COMMAND work on the very
  database, key ring and bucket the hosts serve, as an operator's third machine would.

In COMMAND: ``host_urls()`` (the URLs), ``hosts_app()`` (an application on the hosts' settings: accounts,
tokens, reading the audit back), ``flask_command(*args)`` (a command in a process of its own) and
``reset_rate_limits()`` (the shared counters cleared). The hosts' rate limits are the defaults (10 sign-ins
and 600 API requests per token a minute, per client address for refused tokens): every client here comes
from 127.0.0.1.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.seaweed import _free_ports, running_seaweedfs

HOSTS = 2
START_TIMEOUT = 90
STOP_TIMEOUT = 20
DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"


@dataclass(frozen=True)
class Hosts:
    urls: tuple[str, ...]
    pids: tuple[int, ...]
    logs: tuple[str, ...]
    settings: dict[str, str]

    def environment(self) -> dict[str, str]:
        return {**self.settings, "PORTAL_HOST_URLS": ",".join(self.urls),
                "PORTAL_HOST_PIDS": ",".join(str(pid) for pid in self.pids),
                "PORTAL_HOST_LOGS": ",".join(self.logs),
                "PORTAL_HOSTS_DATABASE_URL": self.settings["PORTAL_DATABASE_URL"],
                "PORTAL_HOSTS_REDIS_URL": self.settings["PORTAL_REDIS_URL"],
                "PORTAL_HOSTS_INSTANCE": self.settings["PORTAL_INSTANCE_PATH"]}


# --- what COMMAND uses --------------------------------------------------------------------------------

def host_urls() -> list[str]:
    """The hosts' base URLs, from the environment ``python -m tests.hosts`` gives its command."""
    value = os.environ.get("PORTAL_HOST_URLS", "")
    return [item for item in value.split(",") if item]


def hosts_app():
    """An application on the hosts' settings (their database, key ring, bucket, Redis) in this process,
    for what a test prepares directly (accounts, tokens) or reads back (audit entries)."""
    from portal import create_app

    return create_app()


def flask_command(*args: str, input: str | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """``flask --app portal ARGS...`` on the hosts' settings, as an operator runs it; its output captured."""
    return subprocess.run([sys.executable, "-m", "flask", "--app", "portal", *args], input=input,
                          capture_output=True, text=True, timeout=timeout, env=os.environ.copy(), check=False)


def reset_rate_limits(redis_url: str | None = None) -> None:
    """Clear the hosts' rate-limit counters in Redis (a fresh allowance, as after a minute)."""
    from limits.storage import storage_from_string

    storage_from_string(redis_url or os.environ["PORTAL_HOSTS_REDIS_URL"]).reset()


# --- starting and stopping ----------------------------------------------------------------------------

@contextmanager
def scratch_database(server_url: str):
    """A new, empty PostgreSQL database on ``server_url``'s server; dropped on the way out."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    url = make_url(server_url)
    if url.get_backend_name() != "postgresql":
        raise RuntimeError("two hosts need a database server: PORTAL_TEST_DATABASE_URL must be PostgreSQL")
    name = f"{url.database or 'portal'}_hosts_{secrets.token_hex(3)}"
    # A connection of its own each time: the drop must not fail on a connection a restart has closed.
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            _drop_database(admin, name)
    finally:
        admin.dispose()


def _drop_database(admin, name: str, attempts: int = 10) -> None:
    """Drop ``name``, retrying while the server restarts (a fault test may have restarted it)."""
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    for attempt in range(attempts):
        try:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            return
        except OperationalError:
            if attempt == attempts - 1:
                raise
            time.sleep(1)


def _shared_settings(instance: Path, database_url: str, redis_url: str, blob_settings: dict, base_url: str) -> dict:
    from portal.keyring import KeyRing

    keyring = instance / "keyring.json"
    KeyRing.generate().save(keyring)
    return {"PORTAL_ENV": "development", "PORTAL_DATABASE_URL": database_url, "PORTAL_REDIS_URL": redis_url,
            "PORTAL_INSTANCE_PATH": str(instance), "PORTAL_KEYRING_FILE": str(keyring),
            "PORTAL_SECRET_KEY": secrets.token_hex(32), "PORTAL_BASE_URL": base_url,
            "PORTAL_MAIL_SERVER": "", "PORTAL_MAIL_SPOOL_DIR": str(instance / "mail"),
            "PORTAL_AUDIT_WITNESS_DIR": str(instance / "witness"),
            # Small enough that the serving processes take checkpoints of their own while the tests run.
            "PORTAL_AUDIT_CHECKPOINT_ENTRIES": "25", **blob_settings}


def _run_setup(environment: dict) -> None:
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "portal", "setup"], env=environment,
                            capture_output=True, text=True, timeout=300, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"flask setup failed:\n{result.stdout}\n{result.stderr}")


def _ready(url: str) -> bool:
    try:
        with closing(urllib.request.urlopen(url + "/readyz", timeout=5)) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _stop(processes: list[subprocess.Popen]) -> None:
    """SIGTERM to every master (each stops its workers gracefully, all at once); then SIGKILL to the process
    group of any that is still there, and of workers left behind by a master killed outright."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        process.wait()


def _log_tail(path: Path) -> str:
    try:
        return path.read_text(errors="replace")[-3000:]
    except OSError:
        return ""


@contextmanager
def running_hosts(count: int = HOSTS, workers: int | None = None):
    """Start SeaweedFS, a scratch database and ``count`` gunicorn hosts; yield ``Hosts``; stop them all."""
    workers = workers or int(os.environ.get("PORTAL_HOSTS_WORKERS", "2"))
    server_url = os.environ.get("PORTAL_TEST_DATABASE_URL") or DEFAULT_DATABASE_URL
    redis_url = os.environ.get("PORTAL_TEST_REDIS_URL") or DEFAULT_REDIS_URL
    ports = _free_ports(count)
    urls = tuple(f"http://127.0.0.1:{port}" for port in ports)
    instance = Path(tempfile.mkdtemp(prefix="portal-hosts-"))
    processes: list[subprocess.Popen] = []
    try:
        with running_seaweedfs() as seaweed, scratch_database(server_url) as database_url:
            settings = _shared_settings(instance, database_url, redis_url, seaweed.environment("hosts"), urls[0])
            environment = {**os.environ, **settings}
            _run_setup(environment)
            reset_rate_limits(redis_url)
            logs = tuple(instance / f"host{n}.log" for n in range(count))
            try:
                for port, log in zip(ports, logs, strict=True):
                    with open(log, "wb") as handle:
                        processes.append(subprocess.Popen(
                            [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind",
                             f"127.0.0.1:{port}", "--graceful-timeout", "10", "--timeout", "120", "portal:create_app()"],
                            env=environment, stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True))
                deadline = time.monotonic() + START_TIMEOUT
                for url, process, log in zip(urls, processes, logs, strict=True):
                    while not _ready(url):
                        if process.poll() is not None or time.monotonic() > deadline:
                            raise RuntimeError(f"the host at {url} did not start:\n{_log_tail(log)}")
                        time.sleep(0.3)
                yield Hosts(urls, tuple(process.pid for process in processes), tuple(str(log) for log in logs),
                            settings)
            finally:
                _stop(processes)  # before the database is dropped and SeaweedFS stopped under them
                reset_rate_limits(redis_url)
    finally:
        shutil.rmtree(instance, ignore_errors=True)


def _terminate(signum, _frame):
    raise SystemExit(128 + signum)  # unwinds through running_hosts(), which stops everything


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m tests.hosts COMMAND...", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _terminate)
    with running_hosts() as hosts:
        print(f"Two portal hosts at {', '.join(hosts.urls)} (gunicorn masters {', '.join(map(str, hosts.pids))})",
              file=sys.stderr)
        return subprocess.call(argv, env={**os.environ, **hosts.environment()})


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
