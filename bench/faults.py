"""Faults under load on two application hosts (issue 14, section 5): prints what it found, exits 1 if any
expectation failed. Bounded in time: each scenario has its own duration and deadline.

It runs against the hosts the launcher started (``python -m tests.hosts .venv/bin/python bench/faults.py``),
read from the environment:

- ``PORTAL_HOST_URLS``: the two hosts' base URLs (comma-separated), ``PORTAL_HOST_PIDS``: their gunicorn
  master pids (the workers are the masters' children);
- ``PORTAL_HOSTS_DATABASE_URL``, ``PORTAL_HOSTS_REDIS_URL``, ``PORTAL_HOSTS_INSTANCE``: the database, the
  Redis and the instance folder (key ring, secret key, local blob store) the hosts share. This script
  uses them in-process (to create its accounts and tokens, and to look at rows and blobs afterwards) and
  for the ``flask`` commands it runs (``audit verify``, ``keys verify``, ``blobs gc``). Every other setting
  (``PORTAL_SECRET_KEY``, ``PORTAL_KEYRING_FILE``, ``PORTAL_BLOB_STORE``...) is read from this process's
  environment, so it must be the hosts' (or absent on both: the instance folder's development defaults).

The scenarios (``--scenarios``, all by default, in this order):

``load``      ``--clients`` (50) clients for ``--duration`` (60) seconds, each alternating the two hosts,
              mixing document checks, searches, alert reports, attachment uploads and exchange submissions
              (one token per client, so the per-token rate limit is not what is measured). Expected: no 5xx
              and no failed connection; every 201 found afterwards on the other host.
``kill``      a worker SIGKILLed in the middle of an upload (half a PDF sent; the worker serving the
              connection is found through /proc and killed) and in the middle of an alert import (the
              confirmed import's page streamed up to its first stored batch of ``bulk.BATCH_SIZE``).
              Expected: no attachment row, no imported alert; after ``blobs gc --min-age 0`` (run once the
              load has stopped) every blob is referenced and no temporary is left; the uploads' plaintext
              markers are nowhere under the instance folder, the blob store or the temporary folder.
``postgres``  ``pg_ctlcluster --skip-systemctl-redirect VERSION CLUSTER restart`` (``--pg-cluster``, default
              ``15/main``) while ``--restart-clients`` clients run. Expected: every 5xx is a 503 with
              ``Retry-After`` and no stack trace; within ``--resume-within`` seconds of the restart both hosts
              answer again, without restarting the portal. The database is restarted: never on a shared
              server someone else is using.
``redis``     the hosts' Redis stopped (SIGSTOP, then SIGCONT): sign-in and the API answer 503, the sign-in
              form, ``/healthz`` and a signed-in page answer 200, ``/readyz`` names redis; after SIGCONT the
              API answers again. Refused when the Redis is on port 6379 (likely shared) unless
              ``--allow-shared-redis``.

At the end, for every scenario: ``flask audit verify`` (the chain intact) and ``flask keys verify`` (every
encrypted value and blob decrypts) must exit 0.
"""

from __future__ import annotations

import argparse
import csv
import http.client
import io
import json
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SCENARIOS = ("load", "kill", "postgres", "redis")
LEAKS = (b"Traceback", b"OperationalError", b"psycopg", b"redis.exceptions")


# --------------------------------------------------------------------------- the hosts and their settings


@dataclass
class Host:
    url: str
    master: int | None

    @property
    def address(self) -> tuple[str, int]:
        parts = urlsplit(self.url)
        return parts.hostname or "127.0.0.1", parts.port or 80

    def workers(self) -> list[int]:
        if self.master is None:
            return []
        try:
            return [int(pid) for pid in Path(f"/proc/{self.master}/task/{self.master}/children").read_text().split()]
        except OSError:
            return []


def hosts_from_environment() -> list[Host]:
    urls = [url.strip().rstrip("/") for url in os.environ.get("PORTAL_HOST_URLS", "").split(",") if url.strip()]
    pids = [int(pid) for pid in os.environ.get("PORTAL_HOST_PIDS", "").split(",") if pid.strip()]
    if not urls:
        sys.exit("PORTAL_HOST_URLS is not set: run under `python -m tests.hosts` (see the module's docstring)")
    return [Host(url, pids[index] if index < len(pids) else None) for index, url in enumerate(urls)]


def portal_environment() -> dict:
    """The hosts' settings as the portal reads them (``portal.config``), for this process and its commands."""
    env = dict(os.environ)
    for ours, theirs in (("PORTAL_DATABASE_URL", "PORTAL_HOSTS_DATABASE_URL"),
                         ("PORTAL_REDIS_URL", "PORTAL_HOSTS_REDIS_URL"),
                         ("PORTAL_INSTANCE_PATH", "PORTAL_HOSTS_INSTANCE")):
        if os.environ.get(theirs):
            env[ours] = os.environ[theirs]
    env.setdefault("PYTHONWARNINGS", "ignore::RuntimeWarning")
    return env


def flask_command(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flask", "--app", "portal", *args], cwd=ROOT, check=False,
                          env=portal_environment(), capture_output=True, text=True, timeout=timeout)


# --------------------------------------------------------------------------- findings


@dataclass
class Findings:
    rows: list[tuple[str, str, bool, str]] = field(default_factory=list)

    def expect(self, scenario: str, what: str, ok: bool, detail: str = "") -> bool:
        self.rows.append((scenario, what, bool(ok), detail))
        print(f"  [{'ok' if ok else 'FAILED'}] {what}{': ' + detail if detail else ''}", flush=True)
        return ok

    def table(self) -> str:
        width = max([len(what) for _s, what, _ok, _d in self.rows] + [20])
        lines = [f"{'scenario':<9} {'expectation':<{width}} result  detail"]
        lines += [f"{scenario:<9} {what:<{width}} {'ok' if ok else 'FAILED':<7} {detail}"
                  for scenario, what, ok, detail in self.rows]
        return "\n".join(lines)

    @property
    def failed(self) -> bool:
        return any(not ok for _s, _w, ok, _d in self.rows)


# --------------------------------------------------------------------------- accounts, tokens, fixtures


@dataclass
class Actors:
    user_id: int
    email: str
    password: str
    tokens: list[str]
    seed_alert: int
    session_cookie: str


def prepare(app, clients: int, run: str) -> Actors:
    """A liaison officer of GTM with a token per client (every scope the load uses) and a seed alert."""
    import pyotp
    from flask.sessions import SecureCookieSessionInterface

    from alerts.operations import create_alert
    from auth.models import User, UserSession, email_index
    from auth.passwords import hash_password
    from auth.tokens import create_token
    from portal.crypto import token_digest
    from portal.extensions import db
    from portal.parties.models import Party
    from portal.principal import Principal
    from portal.timeutil import utcnow
    from tests.alerts.factories import alert_data

    with app.app_context():
        email = f"faults-{run}@gtm.example.org"
        password = secrets.token_urlsafe(18)
        user = User(email=email, email_index=email_index(email), full_name=f"Faults Bench {run}",
                    role="liaison_officer", active=True, password_hash=hash_password(password),
                    totp_secret=pyotp.random_base32(), totp_enrolled_at=utcnow(),
                    party_id=db.session.query(Party.id).filter_by(code="GTM").scalar())
        db.session.add(user)
        db.session.flush()
        scopes = ("alerts:check", "alerts:read", "alerts:write", "exchange:read", "exchange:write")
        tokens = [create_token(user, name=f"faults client {n}", scopes=scopes)[1] for n in range(clients + 4)]
        seed = create_alert(Principal.for_user(user), alert_data(document_number=f"S{run[:4].upper()}0001"))
        sid = secrets.token_urlsafe(32)
        db.session.add(UserSession(sid_digest=token_digest(sid), user_id=user.id))
        db.session.commit()
        serializer = SecureCookieSessionInterface().get_signing_serializer(app)
        cookie = serializer.dumps({"sid": sid, "_user_id": str(user.id), "_fresh": True})
        return Actors(user.id, email, password, tokens, seed.id, cookie)


# --------------------------------------------------------------------------- HTTP


@dataclass
class Answer:
    status: int
    body: bytes
    headers: dict
    at: float


class Client:
    """One client: a keep-alive connection per host, alternating between them."""

    def __init__(self, hosts: list[Host], token: str | None = None, cookie: str | None = None, timeout: float = 30):
        """``cookie``: the session cookie to send and keep (``""``: none yet, keep what the server sets)."""
        self.hosts, self.token, self.cookie, self.timeout = hosts, token, cookie, timeout
        self._connections: dict[int, http.client.HTTPConnection] = {}
        self._turn = random.randrange(len(hosts))

    def next_host(self) -> int:
        self._turn = (self._turn + 1) % len(self.hosts)
        return self._turn

    def request(self, method: str, path: str, *, host: int | None = None, body: bytes | None = None,
                headers: dict | None = None) -> Answer:
        index = self.next_host() if host is None else host
        all_headers = dict(headers or {})
        if self.token:
            all_headers.setdefault("Authorization", f"Bearer {self.token}")
        if self.cookie:
            all_headers.setdefault("Cookie", f"rcm_session={self.cookie}")
        for attempt in (0, 1):
            connection = self._connections.get(index)
            if connection is None:
                connection = http.client.HTTPConnection(*self.hosts[index].address, timeout=self.timeout)
                self._connections[index] = connection
            try:
                connection.request(method, path, body=body, headers=all_headers)
                response = connection.getresponse()
                data = response.read()
                session = re.search(r"rcm_session=([^;]*)", response.getheader("Set-Cookie") or "")
                if session and self.cookie is not None:
                    self.cookie = session.group(1)  # the session cookie the server sent back (CSRF token)
                if response.getheader("Connection", "").lower() == "close":
                    connection.close()
                    self._connections.pop(index, None)
                return Answer(response.status, data, {k.lower(): v for k, v in response.getheaders()}, time.time())
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as error:
                connection.close()
                self._connections.pop(index, None)
                if attempt:  # a kept-alive connection the server closed is retried once on a fresh one
                    return Answer(0, type(error).__name__.encode(), {}, time.time())
            except OSError as error:
                connection.close()
                self._connections.pop(index, None)
                return Answer(0, type(error).__name__.encode(), {}, time.time())
        raise AssertionError("unreachable")

    def json(self, method: str, path: str, payload, **kwargs) -> Answer:
        return self.request(method, path, body=json.dumps(payload).encode(),
                            headers={"Content-Type": "application/json"}, **kwargs)


def multipart(fields: dict, filename: str, content: bytes, content_type: str) -> tuple[bytes, str]:
    boundary = "faults" + secrets.token_hex(12)
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
             for name, value in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                 f"Content-Type: {content_type}\r\n\r\n".encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


# --------------------------------------------------------------------------- the load


class Load:
    """Clients running the mix until ``stop``; every answer is kept (operation, status, created id)."""

    def __init__(self, hosts: list[Host], tokens: list[str], seed_alert: int, run: str):
        self.hosts, self.tokens, self.seed_alert, self.run = hosts, tokens, seed_alert, run
        self.answers: list[tuple[str, Answer]] = []
        self.created: list[tuple[str, int]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        from tests.alerts.factories import alert_data
        from tests.documents.factories import pdf_bytes
        from tests.exchange.factories import submission_input

        self._alert, self._pdf, self._submission = alert_data, pdf_bytes, submission_input

    def start(self, clients: int) -> None:
        for number in range(clients):
            thread = threading.Thread(target=self._client, args=(number,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def _keep(self, operation: str, answer: Answer, kind: str | None = None) -> None:
        with self._lock:
            self.answers.append((operation, answer))
            if answer.status == 201 and kind:
                self.created.append((kind, json.loads(answer.body)["id"]))

    def _client(self, number: int) -> None:
        rng = random.Random(number)
        client = Client(self.hosts, token=self.tokens[number])
        own_alerts = [self.seed_alert]
        counter = 0
        while not self._stop.is_set():
            counter += 1
            pick = rng.random()
            if pick < 0.35:
                query = urlencode({"document_number": f"N{rng.randrange(10**7):07d}", "issuing_state": "GTM"})
                self._keep("check", client.request("GET", f"/api/v1/alerts/check?{query}"))
            elif pick < 0.6:
                query = urlencode({"q": rng.choice(("counterfeit", "laminate", "passport", "visa", "aurora"))})
                self._keep("search", client.request("GET", f"/api/v1/alerts?{query}"))
            elif pick < 0.75:
                number_ = f"L{number:02d}{counter:06d}"[:9]
                answer = client.json("POST", "/api/v1/alerts", self._alert(document_number=number_))
                self._keep("report", answer, "alert")
                if answer.status == 201:
                    own_alerts.append(json.loads(answer.body)["id"])
            elif pick < 0.9:
                body, kind = multipart({"side": "front"}, "report.pdf",
                                       self._pdf(f"Faults load {self.run} {number} {counter}"), "application/pdf")
                self._keep("upload", client.request("POST", f"/api/v1/alerts/{rng.choice(own_alerts)}/attachments",
                                                    body=body, headers={"Content-Type": kind}), "attachment")
            else:
                self._keep("submission", client.json("POST", "/api/v1/submissions",
                                                     self._submission(title=f"Faults load {number} {counter}")),
                           "submission")


DETAIL_PATHS = {"alert": "/api/v1/alerts/{}", "attachment": "/api/v1/attachments/{}",
                "submission": "/api/v1/submissions/{}"}


def check_created(findings: Findings, scenario: str, load: Load, hosts: list[Host], token: str) -> None:
    """Every 201 of the load is there afterwards, read on the host that did not answer it (any host: both)."""
    client = Client(hosts, token=token)
    missing = [f"{kind} {item}" for kind, item in load.created
               if client.request("GET", DETAIL_PATHS[kind].format(item)).status != 200]
    counts = Counter(kind for kind, _item in load.created)
    findings.expect(scenario, "every 201 found afterwards", not missing,
                    f"{len(load.created)} created ({dict(counts)}); missing: {missing[:5]}" if missing
                    else f"{len(load.created)} created ({dict(counts)})")


def summarise(load: Load) -> str:
    statuses = Counter(answer.status for _op, answer in load.answers)
    return f"{len(load.answers)} requests, statuses {dict(sorted(statuses.items()))}"


def scenario_load(findings: Findings, hosts, actors: Actors, args, run: str) -> None:
    print(f"load: {args.clients} clients for {args.duration:g} s over {len(hosts)} hosts", flush=True)
    load = Load(hosts, actors.tokens[:args.clients], actors.seed_alert, run)
    started = time.time()
    load.start(args.clients)
    time.sleep(args.duration)
    load.stop()
    elapsed = time.time() - started
    by_operation = Counter(op for op, _answer in load.answers)
    print(f"  {summarise(load)} in {elapsed:.0f} s ({len(load.answers) / elapsed:.0f}/s); {dict(by_operation)}")
    server_errors = [(op, a.status, a.body[:80]) for op, a in load.answers if a.status >= 500 or a.status == 0]
    findings.expect("load", "no 5xx, no failed connection", not server_errors,
                    f"{len(server_errors)}: {server_errors[:3]}" if server_errors else summarise(load))
    refused = [(op, a.status, a.body[:120]) for op, a in load.answers if 400 <= a.status < 500]
    findings.expect("load", "no 4xx (every request of the mix is valid)", not refused,
                    f"{len(refused)}: {refused[:3]}" if refused else "")
    check_created(findings, "load", load, hosts, actors.tokens[-1])


# --------------------------------------------------------------------------- killing a worker


def _socket_inode(local_port: int, remote_port: int) -> str | None:
    """The inode of the server side of the connection from ``remote_port`` to ``local_port`` (/proc/net/tcp)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            columns = line.split()
            local, remote, inode = columns[1], columns[2], columns[9]
            if int(local.rsplit(":", 1)[1], 16) == local_port and int(remote.rsplit(":", 1)[1], 16) == remote_port:
                return inode
    return None


def worker_serving(host: Host, connection: socket.socket) -> int | None:
    """The gunicorn worker (a child of ``host.master``) holding the server side of ``connection``."""
    inode = _socket_inode(host.address[1], connection.getsockname()[1])
    if inode is None:
        return None
    for worker in host.workers():
        try:
            for fd in os.listdir(f"/proc/{worker}/fd"):
                if os.readlink(f"/proc/{worker}/fd/{fd}") == f"socket:[{inode}]":
                    return worker
        except OSError:
            continue
    return None


def kill_serving_worker(host: Host, connection: socket.socket, findings: Findings, what: str) -> bool:
    worker = None
    deadline = time.time() + 10
    while worker is None and time.time() < deadline:
        worker = worker_serving(host, connection)
        if worker is None:
            time.sleep(0.1)
    if not findings.expect("kill", f"{what}: the worker serving it found", worker is not None,
                           f"master {host.master}, workers {host.workers()}"):
        return False
    before = len(host.workers())
    os.kill(worker, signal.SIGKILL)
    connection.settimeout(10)
    try:
        rest = connection.recv(65536)
    except OSError:
        rest = b""
    findings.expect("kill", f"{what}: the connection ends without an answer", not rest.startswith(b"HTTP/1.1 2"),
                    f"worker {worker} killed")
    deadline = time.time() + 30
    while time.time() < deadline and (worker in host.workers() or len(host.workers()) < before):
        time.sleep(0.2)
    return findings.expect("kill", f"{what}: gunicorn replaced the worker", len(host.workers()) >= before
                           and worker not in host.workers(), f"workers now {host.workers()}")


def raw_request(host: Host, head: str, body: bytes, send: int) -> socket.socket:
    connection = socket.create_connection(host.address, timeout=30)
    connection.sendall(head.encode() + body[:send])
    return connection


def kill_mid_upload(app, findings: Findings, host: Host, actors: Actors, marker: str) -> None:
    from alerts.attachments import Attachment
    from portal.extensions import db
    from tests.documents.factories import pdf_bytes

    body, kind = multipart({"side": "front"}, "specimen.pdf", pdf_bytes(marker, padding=6 * 1024 * 1024),
                           "application/pdf")
    head = (f"POST /api/v1/alerts/{actors.seed_alert}/attachments HTTP/1.1\r\nHost: {host.address[0]}\r\n"
            f"Authorization: Bearer {actors.tokens[-2]}\r\nContent-Type: {kind}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    with app.app_context():
        before = db.session.query(Attachment).filter_by(alert_id=actors.seed_alert).count()
    connection = raw_request(host, head, body, len(body) // 2)
    time.sleep(1.5)  # the worker reads, encrypts and writes what arrived, then waits for the rest
    kill_serving_worker(host, connection, findings, "mid-upload")
    connection.close()
    with app.app_context():
        after = db.session.query(Attachment).filter_by(alert_id=actors.seed_alert).count()
    findings.expect("kill", "mid-upload: no attachment row", after == before, f"{before} before, {after} after")


def _csrf(page: bytes) -> str:
    match = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page)
    return match.group(1).decode() if match else ""


def import_csv(rows: int, prefix: str) -> bytes:
    from alerts.bulk import CSV_FIELDS
    from tests.alerts.factories import alert_data

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS)
    writer.writeheader()
    for i in range(rows):
        data = alert_data(document_number=f"{prefix}{i:05d}")
        distribution = data.pop("distribution")
        row = {name: ";".join(value) if isinstance(value, list) else value for name, value in data.items()}
        row.update(distribution_level=distribution["level"], distribution_parties="", distribution_network="")
        writer.writerow({name: row.get(name, "") for name in CSV_FIELDS})
    return out.getvalue().encode()


def kill_mid_import(app, findings: Findings, host: Host, actors: Actors, prefix: str) -> None:
    from alerts.bulk import BATCH_SIZE
    from alerts.models import Alert
    from portal.extensions import db

    client = Client([host], cookie=actors.session_cookie, timeout=120)
    page = client.request("GET", "/alerts/bulk/import", host=0)
    if not findings.expect("kill", "mid-import: the import page opens", page.status == 200, f"status {page.status}"):
        return
    body, kind = multipart({"csrf_token": _csrf(page.body)}, "alerts.csv", import_csv(BATCH_SIZE + 500, prefix),
                           "text/csv")
    report = client.request("POST", "/alerts/bulk/import", host=0, body=body, headers={"Content-Type": kind})
    pending = re.search(rb'name="pending"[^>]*value="([^"]+)"', report.body)
    if not findings.expect("kill", "mid-import: the dry run accepts the file", report.status == 200 and pending,
                           f"status {report.status}"):
        return
    form = urlencode({"csrf_token": _csrf(report.body), "pending": pending.group(1).decode(),
                      "submit": "Import"}).encode()
    head = (f"POST /alerts/bulk/import/confirm HTTP/1.1\r\nHost: {host.address[0]}\r\n"
            f"Cookie: rcm_session={client.cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(form)}\r\n\r\n")
    with app.app_context():
        before = db.session.query(Alert).filter(Alert.created_by_id == actors.user_id).count()
    connection = raw_request(host, head, form, len(form))
    received, deadline = b"", time.time() + 120
    while f'value="{BATCH_SIZE}"'.encode() not in received and time.time() < deadline:
        chunk = connection.recv(65536)
        if not chunk:
            break
        received += chunk
    if findings.expect("kill", "mid-import: a first batch stored (not committed)",
                       f'value="{BATCH_SIZE}"'.encode() in received, f"{len(received)} bytes of the page read"):
        kill_serving_worker(host, connection, findings, "mid-import")
    connection.close()
    with app.app_context():
        stored = db.session.query(Alert).filter(Alert.created_by_id == actors.user_id).count() - before
    findings.expect("kill", "mid-import: no alert of the import stored", stored == 0, f"{stored} imported")


def scan_for_plaintext(folders: list[Path], markers: list[bytes], since: float) -> list[str]:
    found = []
    for folder in folders:
        for path in folder.rglob("*"):
            try:
                if not path.is_file() or path.stat().st_mtime < since - 5 or path.stat().st_size > 200 * 1024 * 1024:
                    continue
                data = path.read_bytes()
            except OSError:
                continue
            found += [f"{path}: {marker.decode()}" for marker in markers if marker in data]
    return found


def check_blob_store(app, findings: Findings, scenario: str) -> None:
    """After ``blobs gc --min-age 0``: every blob is referenced, no temporary is left."""
    from documents.storage import current_blob_store
    from portal.rotation import referenced_blob_ids

    gc = flask_command("blobs", "gc", "--min-age", "0")
    findings.expect(scenario, "blobs gc --min-age 0 runs", gc.returncode == 0,
                    (gc.stdout.strip().splitlines() or [gc.stderr.strip()[-200:]])[-1])
    with app.app_context():
        store = current_blob_store()
        orphans = set(store.iter_ids()) - referenced_blob_ids()
        temporaries = store.count_stale_temporaries(0)
    findings.expect(scenario, "no orphan blob, no temporary left", not orphans and not temporaries,
                    f"{len(orphans)} orphan(s), {temporaries} temporary file(s)")


def scenario_kill(findings: Findings, hosts, actors: Actors, app, run: str) -> None:
    print("kill: a worker SIGKILLed mid-upload and mid-import", flush=True)
    if not all(host.master for host in hosts):
        findings.expect("kill", "the gunicorn master pids are known (PORTAL_HOST_PIDS)", False)
        return
    started = time.time()
    upload_marker = f"FAULTS-PLAINTEXT-{run}"
    import_prefix = "Q" + run[:3].upper()
    kill_mid_upload(app, findings, hosts[0], actors, upload_marker)
    kill_mid_import(app, findings, hosts[-1], actors, import_prefix)
    check_blob_store(app, findings, "kill")
    from documents.storage import current_blob_store

    with app.app_context():
        store = current_blob_store()
        folders = [Path(app.config["INSTANCE_PATH"]), Path(tempfile.gettempdir())]
        if getattr(store, "root", None) is not None:
            folders.append(Path(store.root))
    control = Path(app.config["INSTANCE_PATH"]) / f"faults-control-{run}"
    control.write_bytes(b"control " + upload_marker.encode())
    seen = scan_for_plaintext([control.parent], [upload_marker.encode()], started)
    control.unlink()
    findings.expect("kill", "control: the scan finds a marker written in clear", len(seen) == 1, str(seen))
    found = scan_for_plaintext(folders, [upload_marker.encode(), f"{import_prefix}0000".encode()], started)
    findings.expect("kill", "no plaintext on disk", not found,
                    "; ".join(found[:3]) if found else f"searched {', '.join(map(str, folders))}")


# --------------------------------------------------------------------------- PostgreSQL restarted


def scenario_postgres(findings: Findings, hosts, actors: Actors, args, run: str) -> None:
    version, cluster = args.pg_cluster.split("/")
    print(f"postgres: restart of cluster {args.pg_cluster} under {args.restart_clients} clients", flush=True)
    load = Load(hosts, actors.tokens[:args.restart_clients], actors.seed_alert, run + "pg")
    load.start(args.restart_clients)
    time.sleep(3)
    began = time.time()
    restart = subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, cluster, "restart"],
                             check=False, capture_output=True, text=True, timeout=120)
    back = time.time()
    findings.expect("postgres", "the cluster restarted", restart.returncode == 0,
                    f"{back - began:.1f} s" if restart.returncode == 0 else restart.stderr.strip()[-200:])
    probe = Client(hosts, token=actors.tokens[-3])
    resumed = {}
    while len(resumed) < len(hosts) and time.time() < back + args.resume_within:
        for index in range(len(hosts)):
            if index not in resumed and probe.request("GET", "/api/v1/alerts?q=passport", host=index).status == 200:
                resumed[index] = time.time() - back
        time.sleep(0.2)
    time.sleep(3)
    load.stop()
    print(f"  {summarise(load)}")
    findings.expect("postgres", "service resumed on every host without a restart", len(resumed) == len(hosts),
                    ", ".join(f"{hosts[i].url} after {t:.1f} s" for i, t in sorted(resumed.items())))
    failures = [a for _op, a in load.answers if a.status >= 500 or a.status == 0]
    wrong = [(a.status, a.body[:80]) for a in failures if a.status != 503 or "retry-after" not in a.headers]
    leaks = [a.body[:80] for a in failures if any(leak in a.body for leak in LEAKS)]
    findings.expect("postgres", "during the outage only 503 + Retry-After", not wrong,
                    f"{len(failures)} answered 503" if not wrong else f"{len(wrong)}: {wrong[:3]}")
    findings.expect("postgres", "no stack trace or driver error in any answer", not leaks, str(leaks[:2]))
    late = [a for _op, a in load.answers if a.status == 503 and a.at > back + args.resume_within]
    findings.expect("postgres", f"no 503 after {args.resume_within:g} s", not late, f"{len(late)} late")
    check_created(findings, "postgres", load, hosts, actors.tokens[-1])


# --------------------------------------------------------------------------- Redis stopped


def redis_pid(url: str) -> int | None:
    """The process listening on the Redis URL's port (/proc/net/tcp, state LISTEN)."""
    port = urlsplit(url).port or 6379
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            for line in Path(table).read_text().splitlines()[1:]:
                columns = line.split()
                if columns[3] == "0A" and int(columns[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(f"socket:[{columns[9]}]")
        except OSError:
            continue
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) in inodes for fd in (proc / "fd").iterdir()):
                return int(proc.name)
        except OSError:
            continue
    return None


def scenario_redis(findings: Findings, hosts, actors: Actors, args) -> None:
    url = os.environ.get("PORTAL_HOSTS_REDIS_URL") or os.environ.get("PORTAL_REDIS_URL", "")
    print(f"redis: the hosts' Redis stopped ({urlsplit(url).netloc or 'not configured'})", flush=True)
    if not url:
        findings.expect("redis", "the hosts use Redis (PORTAL_HOSTS_REDIS_URL)", False)
        return
    if (urlsplit(url).port or 6379) == 6379 and not args.allow_shared_redis:
        findings.expect("redis", "a Redis of the hosts' own (not port 6379)", False,
                        "refused to stop a Redis others may use; pass --allow-shared-redis")
        return
    pid = redis_pid(url)
    if not findings.expect("redis", "the Redis process found", pid is not None, f"pid {pid}"):
        return
    api, browser = Client(hosts, token=actors.tokens[-4]), Client(hosts, cookie=actors.session_cookie)
    os.kill(pid, signal.SIGSTOP)
    try:
        for index, host in enumerate(hosts):
            anonymous = Client(hosts, cookie="")
            form = anonymous.request("GET", "/auth/login", host=index)
            findings.expect("redis", f"{host.url} sign-in form: 200", form.status == 200, f"{form.status}")
            login = anonymous.request(
                "POST", "/auth/login", host=index,
                body=urlencode({"csrf_token": _csrf(form.body), "email": actors.email,
                                "password": actors.password}).encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded"})
            findings.expect("redis", f"{host.url} sign-in: 503 + Retry-After",
                            login.status == 503 and "retry-after" in login.headers, f"{login.status}")
            answer = api.request("GET", "/api/v1/alerts?q=passport", host=index)
            findings.expect("redis", f"{host.url} API: 503 redis_unavailable", answer.status == 503
                            and b"redis_unavailable" in answer.body, f"{answer.status} {answer.body[:80]!r}")
            page = browser.request("GET", "/", host=index)
            findings.expect("redis", f"{host.url} signed-in dashboard: 200", page.status == 200, f"{page.status}")
            alive = browser.request("GET", "/healthz", host=index)
            ready = browser.request("GET", "/readyz", host=index)
            findings.expect("redis", f"{host.url} /healthz 200, /readyz 503 naming redis",
                            alive.status == 200 and ready.status == 503 and b"redis" in ready.body,
                            f"{alive.status}, {ready.status} {ready.body[:80]!r}")
    finally:
        os.kill(pid, signal.SIGCONT)
    time.sleep(0.5)
    statuses = [api.request("GET", "/api/v1/alerts?q=passport", host=index).status for index in range(len(hosts))]
    findings.expect("redis", "after SIGCONT the API answers 200 on every host", set(statuses) == {200}, str(statuses))


# --------------------------------------------------------------------------- main


def final_checks(findings: Findings) -> None:
    print("checks: audit chain and encrypted values", flush=True)
    for command in (("audit", "verify"), ("keys", "verify")):
        result = flask_command(*command)
        tail = (result.stdout.strip().splitlines() or result.stderr.strip().splitlines() or [""])[-1]
        findings.expect("checks", f"flask {' '.join(command)} exits 0", result.returncode == 0, tail[:160])


def _installed_cluster() -> str:
    """The newest PostgreSQL installed here, as .ci/run picks it (``ls /etc/postgresql``), cluster ``main``."""
    versions = sorted(os.listdir("/etc/postgresql"), key=lambda v: [int(p) for p in v.split(".") if p.isdigit()]) \
        if os.path.isdir("/etc/postgresql") else []
    return f"{versions[-1] if versions else '15'}/main"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", default=",".join(SCENARIOS),
                        help=f"comma-separated, of {', '.join(SCENARIOS)} (default: all)")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of the load scenario")
    parser.add_argument("--restart-clients", type=int, default=10, help="clients running while PostgreSQL restarts")
    parser.add_argument("--resume-within", type=float, default=15.0,
                        help="seconds after the restart within which every host must answer again")
    parser.add_argument("--pg-cluster", default=_installed_cluster(), help="VERSION/CLUSTER for pg_ctlcluster")
    parser.add_argument("--allow-shared-redis", action="store_true",
                        help="stop the Redis even when it listens on 6379")
    args = parser.parse_args()
    chosen = [name.strip() for name in args.scenarios.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(SCENARIOS))
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(unknown)}")

    hosts = hosts_from_environment()
    os.environ.update(portal_environment())
    from portal import create_app

    app = create_app()
    run = secrets.token_hex(4)
    actors = prepare(app, max(args.clients, args.restart_clients), run)
    findings = Findings()
    started = time.time()
    for name in chosen:
        if name == "load":
            scenario_load(findings, hosts, actors, args, run)
        elif name == "kill":
            scenario_kill(findings, hosts, actors, app, run)
        elif name == "postgres":
            scenario_postgres(findings, hosts, actors, args, run)
        elif name == "redis":
            scenario_redis(findings, hosts, actors, args)
    final_checks(findings)
    print(f"\nfaults: {len(hosts)} hosts, scenarios {', '.join(chosen)}, {time.time() - started:.0f} s\n")
    print(findings.table())
    sys.exit(1 if findings.failed else 0)


if __name__ == "__main__":
    main()
