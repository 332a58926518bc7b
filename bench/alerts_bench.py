"""Benchmark: the early-warning database at scale (issue 3, section 8). Prints figures; asserts nothing.

Subcommands, all taking ``--folder`` (instance folder: key ring, secret key, tokens; created 0700) and
``--database-url`` (the database is EMPTIED by ``setup``):

``setup``     drop and recreate the schema (Alembic ``heads``), load the parties, create a border officer
              (CRI, token ``alerts:check alerts:read``) and a liaison officer (GTM) for the import.
``generate``  write N synthetic alerts straight into the database with Core inserts in batches, over
              ``--workers`` processes. The encrypted columns go through the portal's own ``EncryptedText``
              type (AES-GCM under the key ring, ``portal.crypto``) and the blind indexes through
              ``alerts.indexes``, exactly as ``alerts.operations._apply`` computes them; the full-text index
              follows by itself (PostgreSQL generated ``search_vector`` + GIN; SQLite FTS5 triggers).
              Alert ``i`` is deterministic, so ``measure`` knows which numbers are hits without storing any
              number in clear. Generated alerts have no revision snapshots and no audit entries (they stand
              for history, not for requests); ``measure`` (c) times the real create path, which writes both.
``measure``   serve the portal with gunicorn on 127.0.0.1, then (a) check API vs ``/api/v1/health`` at 16
              clients (``wrk`` if installed, else Python threads with keep-alive), (b) full-text search
              latency, (c) the import (gunicorn stopped first): ``--import-count`` prepared rows (default
              20,000; the generator's mix, 90 % published) through ``alerts.bulk.import_alerts``, checks
              and storing and the commit timed, with ``--subscribers`` subscribed officers to notify;
              then ``--create-count`` alerts through ``create_alert``, one commit each.
``import``    only (c) of ``measure``, without the HTTP runs (same options).
``profile``   cProfile of N check requests through the Flask test client, and EXPLAIN ANALYZE of the check
              and full-text statements (PostgreSQL).

    DB=postgresql+psycopg://postgres@127.0.0.1:5432/bench_alerts
    .venv/bin/python bench/alerts_bench.py setup    --folder /tmp/bench-alerts --database-url $DB
    .venv/bin/python bench/alerts_bench.py generate --folder /tmp/bench-alerts --database-url $DB --count 100000
    .venv/bin/python bench/alerts_bench.py measure  --folder /tmp/bench-alerts --database-url $DB
    .venv/bin/python bench/alerts_bench.py import   --folder /tmp/bench-alerts --database-url $DB --import-count 20000
    .venv/bin/python bench/alerts_bench.py profile  --folder /tmp/bench-alerts --database-url $DB
"""

from __future__ import annotations

import argparse
import bisect
import http.client
import itertools
import json
import multiprocessing
import os
import random
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MEMBERS = ("BLZ", "CAN", "CRI", "DOM", "SLV", "GTM", "HND", "MEX", "NIC", "PAN", "USA")
STATES = MEMBERS + ("COL", "ECU", "VEN", "CUB", "HTI", "IND", "CHN", "NGA", "ESP", "FRA", "D", "GBR", "BRA")
CATEGORIES = (("passport", 60), ("identity_card", 12), ("visa", 10), ("residence_permit", 6),
              ("refugee_travel_document", 2), ("civil_status_document", 3), ("entry_exit_stamp", 3),
              ("driving_licence", 3), ("other", 1))
FRAUD_TYPES = (("counterfeit", 30), ("forgery", 25), ("pseudo_document", 5), ("fraudulently_obtained", 10),
               ("impostor", 12), ("stolen_blank", 6), ("lost_stolen", 8), ("revoked_invalid", 4))
SUBTYPES = ("photo_substitution", "page_substitution", "data_alteration", "fraudulent_visa_stamp")
FEATURES = ("mrz", "biodata_page", "laminate", "uv_features", "ovd", "watermark", "security_thread",
            "perforation", "printing", "chip", "binding", "photo", "stamp_seal", "signature")
STATUSES = (("published", 85), ("draft", 7), ("withdrawn", 5), ("expired", 3))
TLPS = (("GREEN", 40), ("AMBER", 35), ("CLEAR", 10), ("AMBER+STRICT", 10), ("RED", 5))
LEVELS = (("members", 70), ("parties", 15), ("network", 10), ("party", 5))
PLACES = (("airport", 55), ("land_border", 30), ("sea_border", 5), ("inland", 10))
# Narrative words: frequent domain words first (Zipf-weighted), then a long tail of rarer ones.
COMMON = ("document", "passport", "photo", "page", "laminate", "substitution", "counterfeit", "booklet",
          "visa", "stamp", "printing", "ultraviolet", "light", "bearer", "facilitator", "border", "airport",
          "inspection", "security", "thread", "watermark", "biodata", "data", "altered", "forged", "genuine",
          "stolen", "blank", "series", "quality", "offset", "inkjet", "intaglio", "microprinting", "hologram",
          "perforation", "chip", "signature", "seal", "binding", "stitching", "route", "journey", "smuggling",
          "network", "impostor", "lookalike", "fraudulently", "obtained", "consulate", "residence", "permit",
          "entry", "exit", "overlay", "adhesive", "glue", "cut", "edges", "font", "spacing", "mrz", "check",
          "digit", "wrong", "missing", "fluorescence", "reaction", "pattern", "background", "guilloche",
          "rainbow", "numbering", "laser", "engraved", "colour", "shift", "ink", "tactile", "relief",
          "pasaporte", "falsificado", "sustitución", "fotografía", "página", "sello", "visado", "frontera",
          "contrefait", "photographie", "faux", "tampon")
RARE = tuple(f"{a}{b}{c}" for a in ("kal", "mor", "tes", "vin", "dru", "pla", "sor", "quen", "bra", "fel")
             for b in ("ax", "en", "ir", "ol", "um", "et", "ar", "is")
             for c in ("o", "ia", "ent", "ado", "ine"))
WORDS = COMMON + RARE
NAMES = ("PEREZ", "LOPEZ", "GARCIA", "MARTINEZ", "RODRIGUEZ", "HERNANDEZ", "SMITH", "JOHNSON", "NGUYEN",
         "SINGH", "OKAFOR", "DUBOIS", "CASTILLO", "RAMIREZ", "FLORES", "MORALES", "REYES", "CRUZ")
GIVEN = ("JUAN", "MARIA", "JOSE", "ANA", "LUIS", "CARMEN", "JOHN", "AISHA", "WEI", "PRIYA", "PIERRE", "SOFIA")
LETTERS = "ABCDEFGHJKLMNPRTUVWXY"
MULTIPLIER = 2654435761  # odd and not a multiple of 5: i -> i * M mod 10**7 is a bijection

CHECK_PARTY = "CRI"
REPORT_PARTY = "GTM"
RATELIMIT_BENCH = "100000000 per minute"


# --- the deterministic alert i ---------------------------------------------------------------------

def document_number(i: int) -> str:
    """Alert ``i``'s number (unique for i < 10**7 * 21): what ``measure`` asks to get a hit."""
    return f"{LETTERS[i % len(LETTERS)]}{(i * MULTIPLIER) % 10**7:07d}"


def issuing_state(i: int) -> str:
    return STATES[(i // 7) % len(STATES)]


def is_series(i: int) -> bool:
    return i % 50 == 7  # 2 %: a series of stolen blanks instead of one number


_CUMULATIVE: dict[int, tuple[list, list]] = {}


def _pick(rng: random.Random, weighted) -> str:
    values, cumulative = _CUMULATIVE.get(id(weighted)) or _CUMULATIVE.setdefault(
        id(weighted), ([value for value, _ in weighted], list(itertools.accumulate(w for _, w in weighted))))
    return values[bisect.bisect_right(cumulative, rng.random() * cumulative[-1])]


_ZIPF = list(itertools.accumulate(1.0 / (rank + 1) ** 1.1 for rank in range(len(WORDS))))
_POOL_SIZE = 4096
_POOLS: dict[tuple[int, int], list[str]] = {}


def _sentence(rng: random.Random, low: int, high: int) -> str:
    """A narrative sentence of Zipf-distributed words, drawn from a fixed pool (same in every process)."""
    pool = _POOLS.get((low, high))
    if pool is None:
        seeded = random.Random(low * 1000 + high)
        pool = _POOLS[(low, high)] = [
            " ".join(seeded.choices(WORDS, cum_weights=_ZIPF, k=seeded.randint(low, high))).capitalize() + "."
            for _ in range(_POOL_SIZE)]
    return pool[rng.randrange(_POOL_SIZE)]


def _td3(number: str, state: str, surname: str, given: str, birth: date) -> str:
    from alerts.mrz import check_digit

    line1 = f"P<{state:<<3}{surname}<<{given}".ljust(44, "<")[:44]
    num = number.ljust(9, "<")[:9]
    born, expiry = birth.strftime("%y%m%d"), "301231"
    body = (num + check_digit(num) + state.ljust(3, "<") + born + check_digit(born) + "M" + expiry
            + check_digit(expiry) + "<" * 14 + "<")
    composite = check_digit(body[0:10] + body[13:20] + body[21:43])
    return line1 + "\n" + body + composite


def alert_row(i: int, ids: dict) -> tuple[dict, list[int]]:
    """The ``alerts`` row of synthetic alert ``i`` (plaintext secrets: the column type encrypts them) and
    its listed recipient party ids."""
    from alerts.indexes import NumberRange, number_any_index, number_index, skeleton_index

    rng = random.Random(i * 7919 + 17)
    slot = i % (len(MEMBERS) * 10)
    owner = MEMBERS[slot % len(MEMBERS)]
    year = 2016 + slot // len(MEMBERS)
    seq = i // (len(MEMBERS) * 10) + 1
    detected = date(year, 1, 1) + timedelta(days=rng.randrange(365))
    created = datetime.combine(detected, datetime.min.time()) + timedelta(days=rng.randrange(3), hours=9)
    status = _pick(rng, STATUSES)
    category = _pick(rng, CATEGORIES)
    state = issuing_state(i)
    number = document_number(i)
    series = is_series(i)
    fraud = "stolen_blank" if series else _pick(rng, FRAUD_TYPES)
    range_start = range_end = range_idx = None
    doc_number = number
    if series:
        prefix, digits = number[0], int(number[1:])
        first = min(digits, 10**7 - 1001)
        range_start, range_end = f"{prefix}{first:07d}", f"{prefix}{first + 1000:07d}"
        range_idx = NumberRange.parse(range_start, range_end).index(state)
        doc_number = None
    holder = birth = mrz = None
    if not series and rng.random() < 0.6:
        surname, given = rng.choice(NAMES), rng.choice(GIVEN)
        born = date(1950, 1, 1) + timedelta(days=rng.randrange(20000))
        holder, birth = f"{surname}, {given}", born.isoformat()
        if category == "passport" and rng.random() < 0.5:
            mrz = _td3(number, state, surname, given, born)
    level = _pick(rng, LEVELS)
    recipients = []
    if level == "parties":
        recipients = sorted({ids["parties"][code] for code in rng.sample(MEMBERS, rng.randint(2, 4))}
                            - {ids["parties"][owner]})
        if not recipients:
            level = "members"
    network_id = rng.choice(ids["networks"]) if level == "network" else None
    published = created + timedelta(hours=2) if status != "draft" else None
    row = {
        "id": ids["offset"] + i + 1,
        "reference": f"{owner}-{year:04d}-{seq:06d}", "reference_year": year, "reference_seq": seq,
        "created_by_id": None, "created_at": created, "updated_at": published or created,
        "status": status, "revision": 1, "published_at": published,
        "withdrawn_at": created + timedelta(days=30) if status == "withdrawn" else None,
        "withdrawal_reason": "Withdrawn by the reporting party after review." if status == "withdrawn" else None,
        "expired_at": created + timedelta(days=3650) if status == "expired" else None,
        "review_date": detected + timedelta(days=3652),
        "detecting_unit": f"Unit {rng.randrange(1, 40)}", "detection_place_kind": _pick(rng, PLACES),
        "detection_place": f"Border post {rng.randrange(1, 200)}", "detection_date": detected,
        "route": rng.sample(STATES, rng.randint(1, 4)), "bearer_nationality": rng.choice(STATES),
        "document_category": category, "document_type": "ordinary" if category == "passport" else None,
        "issuing_state": state, "series": f"{state}-S{rng.randrange(1, 30):02d}",
        "document_number": doc_number,
        "number_index": number_index(doc_number, state) if doc_number else None,
        "number_any_index": number_any_index(doc_number) if doc_number else None,
        "skeleton_index": skeleton_index(doc_number) if doc_number else None,
        "range_start": range_start, "range_end": range_end, "range_index": range_idx,
        "issue_date": detected - timedelta(days=rng.randrange(100, 3000)),
        "expiry_date": detected + timedelta(days=rng.randrange(100, 3000)),
        "fraud_type": fraud, "forgery_subtype": rng.choice(SUBTYPES) if fraud == "forgery" else None,
        "security_features": rng.sample(FEATURES, rng.randint(1, 4)),
        "description": _sentence(rng, 12, 30), "modus_operandi": _sentence(rng, 6, 16),
        "detection_tips": _sentence(rng, 6, 16) if rng.random() < 0.8 else None,
        "holder_name": holder, "holder_birth_date": birth, "mrz": mrz, "mrz_findings": [],
        "objectives": ["ERX-INF-4"], "owner_party_id": ids["parties"][owner], "distribution_level": level,
        "network_id": network_id, "tlp": _pick(rng, TLPS),
    }
    return row, recipients


# --- application ---------------------------------------------------------------------------------------

def _secret_key(folder: Path) -> str:
    path = folder / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def prepare_folder(folder: Path) -> None:
    from portal.keyring import KeyRing

    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not (folder / "keyring.json").exists():
        KeyRing.generate().save(folder / "keyring.json")
    _secret_key(folder)


def make_app(folder: Path, url: str, **extra):
    warnings.simplefilter("ignore", RuntimeWarning)
    from portal import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "KEYRING_FILE": str(folder / "keyring.json"),
                       "SECRET_KEY": _secret_key(folder), "INSTANCE_PATH": str(folder),
                       "RATELIMIT_API": RATELIMIT_BENCH, **extra})


def _ids(db) -> dict:
    from sqlalchemy import func, select

    from alerts.models import Alert
    from portal.access import network_members
    from portal.parties.models import Network, Party

    networks = list(db.session.scalars(select(Network.id).order_by(Network.id)))
    return {"parties": {p.code: p.id for p in db.session.scalars(select(Party))},
            "networks": networks, "members": {network_id: network_members([network_id]) for network_id in networks},
            "offset": db.session.scalar(select(func.max(Alert.id))) or 0}


# --- setup ---------------------------------------------------------------------------------------------

def cmd_setup(args) -> None:
    from flask_migrate import upgrade
    from sqlalchemy import text

    from auth.models import User, email_index
    from auth.tokens import create_token
    from portal.extensions import db
    from portal.parties.seed import load_reference_parties
    from portal.timeutil import utcnow

    folder = Path(args.folder)
    prepare_folder(folder)
    app = make_app(folder, args.database_url, ARGON2_TIME_COST=1, ARGON2_MEMORY_COST=8192)
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade(directory=str(app.extensions["migrate"].directory), revision="heads")
        load_reference_parties()
        db.session.flush()
        ids = _ids(db)
        tokens = {}
        for key, code, role, scopes in (("check", CHECK_PARTY, "border_officer", ["alerts:check", "alerts:read"]),
                                        ("report", REPORT_PARTY, "liaison_officer", ["alerts:write"])):
            email = f"bench-{key}@bench.invalid"
            user = User(email=email, email_index=email_index(email), full_name=f"Bench {key}", role=role,
                        party_id=ids["parties"][code], active=True, password_hash=None,
                        password_changed_at=utcnow())
            db.session.add(user)
            db.session.flush()
            _token, secret = create_token(user, name=f"bench {key}", scopes=scopes, days=30)
            tokens[key] = {"secret": secret, "user_id": user.id}
        db.session.commit()
        path = folder / "tokens.json"
        path.write_text(json.dumps(tokens))
        path.chmod(0o600)
        print(f"schema ready on {db.engine.dialect.name}; tokens in {path}")
        db.engine.dispose()


# --- generate ------------------------------------------------------------------------------------------

_WORKER: dict = {}


def _worker_init(folder: str, url: str, ids: dict) -> None:
    app = make_app(Path(folder), url)
    context = app.app_context()
    context.push()
    _WORKER.update(app=app, context=context, ids=ids)


def _insert_batch(bounds: tuple[int, int]) -> int:
    from sqlalchemy import insert

    from alerts.models import Alert
    from portal.access import DistributionRecipient, audience_rows
    from portal.extensions import db

    rows, recipients = [], []
    for i in range(*bounds):
        row, parties = alert_row(i, _WORKER["ids"])
        rows.append(row)
        # a network alert's frozen audience, as set_distribution writes it (its network's members at load time)
        recipients += audience_rows("alerts", row["id"], row["owner_party_id"], row["distribution_level"], parties,
                                    row["network_id"], members=_WORKER["ids"]["members"].get(row["network_id"]))
    with db.engine.begin() as conn:
        conn.execute(insert(Alert.__table__), rows)  # EncryptedText binds encrypt each secret, per row
        if recipients:
            conn.execute(insert(DistributionRecipient.__table__), recipients)
    return len(rows)


def cmd_generate(args) -> None:
    from sqlalchemy import text

    from alerts.models import AlertReferenceCounter
    from portal.extensions import db

    folder = Path(args.folder)
    app = make_app(folder, args.database_url)
    with app.app_context():
        ids = _ids(db)
        dialect = db.engine.dialect.name
        db.engine.dispose()
    if ids["offset"]:
        print(f"note: {ids['offset']} alerts exist already; new ids start after them")
    batches = [(start, min(start + args.batch, args.count)) for start in range(0, args.count, args.batch)]
    done, start = 0, time.perf_counter()
    context = multiprocessing.get_context("fork")
    with context.Pool(args.workers, _worker_init, (str(folder), args.database_url, ids)) as pool:
        for count in pool.imap_unordered(_insert_batch, batches):
            done += count
            if done % (args.batch * 10) < args.batch or done == args.count:
                elapsed = time.perf_counter() - start
                print(f"  {done:>9,} alerts  {elapsed:7.1f} s  {done / elapsed:8.0f} alerts/s", flush=True)
    elapsed = time.perf_counter() - start
    with app.app_context():
        if dialect == "postgresql":
            db.session.execute(text("SELECT setval(pg_get_serial_sequence('alerts', 'id'), "
                                    "(SELECT max(id) FROM alerts))"))
        # The real create path numbers on from the highest generated sequence of each party and year.
        for (party_id, year, last) in db.session.execute(text(
                "SELECT owner_party_id, reference_year, max(reference_seq) FROM alerts "
                "GROUP BY owner_party_id, reference_year")):
            counter = db.session.get(AlertReferenceCounter, (party_id, year))
            if counter is None:
                db.session.add(AlertReferenceCounter(party_id=party_id, year=year, last_value=last))
            else:
                counter.last_value = max(counter.last_value, last)
        db.session.commit()
        analyse = time.perf_counter()
        # Every table the load wrote, as autovacuum would in time: without statistics on the recipients the
        # planner hashed all of a party's listed records for scoped queries (~20 ms at 1,000,000 for a
        # search; 8 ms instead of 0.1 ms for each of an import's notification access checks at 100,000).
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for statement in (("VACUUM ANALYZE alerts", "VACUUM ANALYZE distribution_recipients")
                              if dialect == "postgresql" else ("ANALYZE",)):
                conn.execute(text(statement))
        total = db.session.scalar(text("SELECT count(*) FROM alerts"))
        print(f"generated {args.count:,} alerts in {elapsed:.1f} s: {args.count / elapsed:,.0f} alerts/s "
              f"({args.workers} processes, batches of {args.batch}, {dialect}); "
              f"vacuum/analyze {time.perf_counter() - analyse:.1f} s; {total:,} alerts in the table")
        if dialect == "postgresql":
            size = db.session.scalar(text("SELECT pg_size_pretty(pg_total_relation_size('alerts'))"))
            print(f"alerts table with indexes: {size}")
        db.engine.dispose()



# --- load generation -----------------------------------------------------------------------------------

def check_paths(count: int, known: int, rng: random.Random) -> list[str]:
    """Check requests: half hits (a generated alert's number, with its state), half misses, in random order."""
    paths = []
    for n in range(count):
        if n % 2 == 0:
            i = rng.randrange(known)
            number, state = document_number(i), issuing_state(i)
        else:
            number, state = f"Z{rng.randrange(10**8):08d}", rng.choice(STATES)
        query = {"document_number": number, "issuing_state": state} if n % 4 != 3 else {"document_number": number}
        paths.append("/api/v1/alerts/check?" + urlencode(query))
    return paths


def search_paths(count: int, rng: random.Random) -> list[str]:
    """Full-text searches of two words: one common, one from the long tail (a realistic narrowing)."""
    paths = []
    for _ in range(count):
        words = [rng.choice(COMMON[:40]), rng.choice(WORDS[40:])]
        paths.append("/api/v1/alerts?" + urlencode({"q": " ".join(words)}))
    return paths


def python_load(port: int, paths: list[str], token: str | None, clients: int, duration: float,
                max_requests: int, bodies: list[bytes] | None = None) -> dict:
    """``clients`` threads, each with one keep-alive connection, until ``duration`` or ``max_requests``;
    with ``bodies``, POSTs of those JSON bodies in turn (to ``paths`` in turn)."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    stop = time.perf_counter() + duration
    counter = iter(range(max_requests))
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if bodies:
        headers["Content-Type"] = "application/json"

    def run():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine, codes = [], {}
        while time.perf_counter() < stop:
            try:
                n = next(counter)
            except StopIteration:
                break
            began = time.perf_counter()
            try:
                conn.request("POST" if bodies else "GET", paths[n % len(paths)],
                             body=bodies[n % len(bodies)] if bodies else None, headers=headers)
                response = conn.getresponse()
                response.read()
                code = response.status
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                code = 0
            mine.append(time.perf_counter() - began)
            codes[code] = codes.get(code, 0) + 1
        conn.close()
        with lock:
            latencies.extend(mine)
            for code, seen in codes.items():
                statuses[code] = statuses.get(code, 0) + seen

    threads = [threading.Thread(target=run) for _ in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    latencies.sort()

    def pct(p):
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000 if latencies else 0.0

    return {"requests": len(latencies), "rps": len(latencies) / elapsed, "p50": pct(50), "p95": pct(95),
            "p99": pct(99), "mean": statistics.fmean(latencies) * 1000 if latencies else 0.0,
            "statuses": statuses, "client": "python"}


_WRK_SCRIPT = """
local paths = {}
for line in io.lines("%s") do paths[#paths + 1] = line end
local n = 0
init = function(args) n = math.random(#paths) end
request = function()
  n = n %% #paths + 1
  return wrk.format("GET", paths[n])
end
done = function(summary, latency, requests)
  io.write(string.format("JSON {\\"requests\\": %%d, \\"p50\\": %%f, \\"p95\\": %%f, \\"p99\\": %%f, "
    .. "\\"mean\\": %%f, \\"errors\\": %%d, \\"non2xx\\": %%d}\\n",
    summary.requests, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.mean / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
"""


def wrk_load(port: int, paths: list[str], token: str | None, clients: int, duration: float, folder: Path) -> dict:
    """``wrk`` (C, event loop: it leaves the cores to the server) with a fixed list of paths."""
    list_file, script = folder / "wrk-paths.txt", folder / "wrk-script.lua"
    list_file.write_text("\n".join(paths) + "\n")
    script.write_text(_WRK_SCRIPT % list_file)
    command = ["wrk", "-t2", f"-c{clients}", f"-d{int(duration)}s", "--timeout", "5s", "-s", str(script)]
    if token:
        command += ["-H", f"Authorization: Bearer {token}"]
    output = subprocess.run(command + [f"http://127.0.0.1:{port}"], check=False, capture_output=True, text=True,
                            timeout=duration + 60).stdout
    figures = json.loads(next(line[5:] for line in output.splitlines() if line.startswith("JSON ")))
    rps = next(float(line.split()[1]) for line in output.splitlines() if line.startswith("Requests/sec"))
    figures.update(rps=rps, client="wrk", statuses={"non-2xx": figures.pop("non2xx"),
                                                     "socket errors": figures.pop("errors")})
    return figures


# --- measure -------------------------------------------------------------------------------------------

def _loadavg() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def _serve(args, folder: Path, app_spec: str | None = None):
    """Gunicorn serving ``app_spec`` (default: the portal with the bench's API rate limit) on ``args.port``."""
    env = {**os.environ, "PORTAL_DATABASE_URL": args.database_url, "PORTAL_INSTANCE_PATH": str(folder),
           "PORTAL_KEYRING_FILE": str(folder / "keyring.json"), "PORTAL_SECRET_KEY": _secret_key(folder),
           "PORTAL_REDIS_URL": args.redis_url, "PYTHONWARNINGS": "ignore::RuntimeWarning"}
    app_spec = app_spec or f"portal:create_app({{'RATELIMIT_API': '{RATELIMIT_BENCH}'}})"
    command = [str(ROOT / ".venv/bin/gunicorn"), "--chdir", str(ROOT), "--bind", f"127.0.0.1:{args.port}",
               "--workers", str(args.workers), "--worker-class", args.worker_class, "--threads",
               str(args.threads), "--keep-alive", "30", "--backlog", "256", "--log-level", "warning",
               "--error-logfile", str(folder / "gunicorn.log"), app_spec]
    process = subprocess.Popen(command, env=env, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=2)
            conn.request("GET", "/api/v1/health")
            if conn.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.3)
    process.terminate()
    raise SystemExit(f"gunicorn did not answer; see {folder / 'gunicorn.log'}")


def serving_arguments(parser: argparse.ArgumentParser, *, clients: int, duration: float) -> None:
    """The options of a bench that serves the portal (``_serve``) and loads it: database, server, clients."""
    parser.add_argument("--folder", default="/tmp/bench-alerts")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/8")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 2))
    parser.add_argument("--worker-class", default="gthread")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--clients", type=int, default=clients)
    parser.add_argument("--duration", type=float, default=duration)


def _load(args, folder, paths, token, clients, duration, max_requests):
    if args.client == "wrk" and shutil.which("wrk"):
        return wrk_load(args.port, paths, token, clients, duration, folder)
    return python_load(args.port, paths, token, clients, duration, max_requests)


def _line(name: str, figures: dict) -> str:
    return (f"{name:<22} {figures['rps']:8.0f} req/s  p50 {figures['p50']:7.2f} ms  p95 {figures['p95']:7.2f} ms  "
            f"p99 {figures['p99']:7.2f} ms  ({figures['requests']} requests, {figures['client']}, "
            f"{figures['statuses']})")


def import_row(i: int, rng: random.Random, parties: list[str], networks: list[str]) -> dict:
    """Synthetic alert ``i`` as an import row (the API's shape, as a CSV or JSON file gives it): the same
    mix as the generator (categories, fraud types, TLP, distribution, holder data, MRZs, series), 90 %
    published and 10 % drafts (an import reports new alerts; withdrawal and expiry come later)."""
    state = issuing_state(i)
    number = document_number(i)
    category = _pick(rng, CATEGORIES)
    fraud = "stolen_blank" if is_series(i) else _pick(rng, FRAUD_TYPES)
    detected = date(2025, 1, 1) + timedelta(days=rng.randrange(300))
    row = {"detecting_unit": f"Unit {rng.randrange(1, 40)}", "detection_place_kind": _pick(rng, PLACES),
           "detection_place": f"Border post {rng.randrange(1, 200)}", "detection_date": detected.isoformat(),
           "route": rng.sample([code for code in STATES if len(code) == 3], rng.randint(1, 4)),
           "bearer_nationality": rng.choice(STATES), "document_category": category,
           "issuing_state": state, "series": f"{state}-S{rng.randrange(1, 30):02d}",
           "issue_date": (detected - timedelta(days=rng.randrange(100, 3000))).isoformat(),
           "expiry_date": (detected + timedelta(days=rng.randrange(100, 3000))).isoformat(),
           "fraud_type": fraud, "security_features": rng.sample(FEATURES, rng.randint(1, 4)),
           "description": _sentence(rng, 12, 30), "modus_operandi": _sentence(rng, 6, 16),
           "tlp": _pick(rng, TLPS), "status": "draft" if rng.random() < 0.1 else "published"}
    if category == "passport":
        row["document_type"] = "ordinary"
    if fraud == "forgery":
        row["forgery_subtype"] = rng.choice(SUBTYPES)
    if rng.random() < 0.8:
        row["detection_tips"] = _sentence(rng, 6, 16)
    if is_series(i):
        prefix, digits = number[0], min(int(number[1:]), 10**7 - 1001)
        row["range_start"], row["range_end"] = f"{prefix}{digits:07d}", f"{prefix}{digits + 1000:07d}"
    else:
        row["document_number"] = number
        if rng.random() < 0.6:
            surname, given = rng.choice(NAMES), rng.choice(GIVEN)
            born = date(1950, 1, 1) + timedelta(days=rng.randrange(20000))
            row["holder_name"], row["holder_birth_date"] = f"{surname}, {given}", born.isoformat()
            if category == "passport" and rng.random() < 0.5 and len(state) == 3:
                row["mrz"] = _td3(number, state, surname, given, born)
    level = _pick(rng, LEVELS)
    if level == "parties":
        row["distribution"] = {"level": "parties", "parties": rng.sample(parties, rng.randint(2, 4))}
    elif level == "network":
        row["distribution"] = {"level": "network", "network": rng.choice(networks)}
    else:
        row["distribution"] = {"level": level}
    if row["tlp"] in ("RED", "AMBER+STRICT") and level in ("members", "network"):
        row["distribution"] = {"level": "party"}  # the portal refuses these wider than a party list
    return row


def _subscribers(db, count: int) -> int:
    """``count`` officers of other parties, each subscribed to one issuing state (immediate or digest),
    created once: what a published import notifies. Returns how many exist."""
    from sqlalchemy import func, select

    from alerts.models import AlertSubscription
    from auth.models import User, email_index
    from portal.parties.models import Party
    from portal.timeutil import utcnow

    existing = db.session.scalar(select(func.count(AlertSubscription.id))) or 0
    parties = {p.code: p.id for p in db.session.scalars(select(Party).where(Party.code.in_(MEMBERS)))}
    for n in range(existing, count):
        code = [code for code in MEMBERS if code != REPORT_PARTY][n % (len(MEMBERS) - 1)]
        email = f"bench-subscriber-{n}@bench.invalid"
        user = User(email=email, email_index=email_index(email), full_name=f"Subscriber {n}",
                    role="liaison_officer", party_id=parties[code], active=True, password_hash=None,
                    password_changed_at=utcnow())
        db.session.add(user)
        db.session.flush()
        db.session.add(AlertSubscription(user_id=user.id, issuing_state=STATES[n % len(STATES)],
                                         delivery="immediate" if n % 2 else "digest"))
    db.session.commit()
    return max(existing, count)


def _database_size(db) -> str:
    from sqlalchemy import text

    if db.engine.dialect.name != "postgresql":
        return "n/a"
    return db.session.scalar(text("SELECT pg_size_pretty(pg_database_size(current_database()))"))


def measure_import(args, folder: Path) -> None:
    """(c) ``alerts.bulk.import_alerts`` on ``--import-count`` prepared rows (checks and storing timed,
    commit included), then ``create_alert`` with one commit per alert (like ``POST /api/v1/alerts``)."""
    from sqlalchemy import func, select

    from alerts.bulk import import_alerts
    from alerts.models import Alert
    from alerts.operations import create_alert
    from auth.models import User
    from portal.extensions import db
    from portal.parties.models import Network
    from portal.principal import Principal

    tokens = json.loads((folder / "tokens.json").read_text())
    app = make_app(folder, args.database_url)
    rng = random.Random(99)
    with app.app_context(), app.test_request_context("/bench-import"):
        principal = Principal.for_user(db.session.get(User, tokens["report"]["user_id"]))
        subscribers = _subscribers(db, args.subscribers)
        known = db.session.scalar(select(func.count(Alert.id)))
        base = 20_000_000 + known  # numbers no earlier run used
        parties = [code for code in MEMBERS if code != REPORT_PARTY]
        networks = list(db.session.scalars(select(Network.code).where(Network.code.in_(("FOCAL", "WDC-CONS")))))
        rows = [import_row(base + n, rng, parties, networks) for n in range(args.import_count)]
        print(f"(c) import: {known:,} alerts in the table, database {_database_size(db)}, {subscribers} "
              f"subscribers; load average before: {_loadavg()}", flush=True)
        start = time.perf_counter()
        counts = import_alerts(principal, rows, batch_size=args.batch_size)
        stored = time.perf_counter()
        db.session.commit()  # the audit entries are chained and inserted here
        elapsed = time.perf_counter() - start
        print(f"(c) import via alerts.bulk.import_alerts (checks, then set-based batches of {args.batch_size}): "
              f"{counts.imported / elapsed:7.0f} alerts/s ({counts.imported} alerts, {counts.published} "
              f"published, {elapsed:.1f} s, of which commit with the audit append {elapsed - (stored - start):.1f} s;"
              f" load average after: {_loadavg()})", flush=True)
        print(f"(c) after the import: {known + counts.imported:,} alerts, database {_database_size(db)}",
              flush=True)
        count = args.create_count
        if count:
            start = time.perf_counter()
            for n in range(count):
                create_alert(principal, import_row(base + args.import_count + n, rng, parties, networks))
                db.session.commit()
            elapsed = time.perf_counter() - start
            print(f"(c) create_alert, one transaction per alert (like POST /api/v1/alerts): "
                  f"{count / elapsed:7.0f} alerts/s ({count} alerts, {elapsed:.1f} s)", flush=True)
        db.engine.dispose()


def cmd_import(args) -> None:
    """Only part (c) of ``measure``: the import rate, without the HTTP runs."""
    measure_import(args, Path(args.folder))


class WaitSampler(threading.Thread):
    """Samples what the portal's PostgreSQL sessions are doing (``pg_stat_activity``) every 50 ms: the
    share of sessions waiting on the audit chain's advisory lock is the evidence of its serialisation."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.url = url.replace("postgresql+psycopg://", "postgresql://")
        self.counts: dict[str, int] = {}
        self.samples = 0
        self.halt = threading.Event()

    def run(self) -> None:
        if not self.url.startswith("postgresql://"):
            return
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.halt.wait(0.05):
                rows = conn.execute(
                    "SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
                ).fetchall()
                self.samples += 1
                for state, kind, event in rows:
                    if state == "active":
                        key = f"waiting {kind}:{event}" if kind else "running"
                    else:
                        key = state or "unknown"
                    self.counts[key] = self.counts.get(key, 0) + 1

    def stop(self) -> None:
        self.halt.set()
        self.join(timeout=5)

    def summary(self) -> str:
        if not self.samples:
            return "not sampled"
        ranked = sorted(self.counts.items(), key=lambda item: -item[1])
        return ", ".join(f"{key} {count / self.samples:.1f}" for key, count in ranked[:6]) + \
            f" (mean sessions per sample, {self.samples} samples)"


def cmd_measure(args) -> None:
    from sqlalchemy import func, select

    from alerts.models import Alert
    from portal.extensions import db

    folder = Path(args.folder)
    tokens = json.loads((folder / "tokens.json").read_text())
    app = make_app(folder, args.database_url)
    with app.app_context():
        known = db.session.scalar(select(func.count(Alert.id)))
        dialect = db.engine.dialect.name
        db.engine.dispose()
    rng = random.Random(2026)
    checks = check_paths(20_000, known, rng)
    searches = search_paths(2_000, rng)
    token = tokens["check"]["secret"]
    client = "wrk" if args.client == "wrk" and shutil.which("wrk") else "python"
    print(f"{known:,} alerts on {dialect}; gunicorn {args.workers} x {args.worker_class} ({args.threads} threads); "
          f"{os.cpu_count()} cores; client {client}; load average before: {_loadavg()}")
    server = _serve(args, folder)
    try:
        # Warm up every worker: connections, statement caches, the first-request imports.
        python_load(args.port, ["/api/v1/health"], None, 8, 5, 400)
        python_load(args.port, checks, token, 8, 10, 400)
        python_load(args.port, searches, token, 4, 10, 40)
        health = _load(args, folder, ["/api/v1/health"], None, args.clients, args.duration, args.max_requests)
        print(_line("health", health), flush=True)
        sampler = WaitSampler(args.database_url)
        sampler.start()
        check = _load(args, folder, checks, token, args.clients, args.duration, args.max_requests)
        sampler.stop()
        print(_line("(a) check", check), flush=True)
        print(f"(a) during the check run, the portal's database sessions were: {sampler.summary()}", flush=True)
        print(f"(a) ratio check/health throughput: {check['rps'] / health['rps']:.2f}   "
              f"(load average: {_loadavg()})", flush=True)
        search_one = python_load(args.port, searches, token, 1, args.duration, args.search_requests)
        print(_line("(b) full-text, 1 client", search_one), flush=True)
        search_many = python_load(args.port, searches, token, 4, args.duration, args.search_requests)
        print(_line("(b) full-text, 4 clients", search_many), flush=True)
        print(f"load average after the HTTP runs: {_loadavg()}", flush=True)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    if args.import_count:
        measure_import(args, folder)


# --- profile -------------------------------------------------------------------------------------------

def cmd_profile(args) -> None:
    import cProfile
    import io
    import pstats

    from sqlalchemy import func, select, text

    from alerts.models import Alert
    from portal.extensions import db

    folder = Path(args.folder)
    tokens = json.loads((folder / "tokens.json").read_text())
    app = make_app(folder, args.database_url, RATELIMIT_STORAGE_URI=args.redis_url)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {tokens['check']['secret']}"}
    with app.app_context():
        known = db.session.scalar(select(func.count(Alert.id)))
    paths = check_paths(args.requests, known, random.Random(7))
    for path in paths[:50]:
        client.get(path, headers=headers)
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    for path in paths:
        client.get(path, headers=headers)
    profiler.disable()
    elapsed = time.perf_counter() - start
    print(f"{args.requests} check requests in process (test client, 1 thread): {args.requests / elapsed:.0f} req/s")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(args.top)
    print(out.getvalue())
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            return
        i = 12345 % known
        from alerts.indexes import number_index

        with app.test_request_context():
            index = number_index(document_number(i), issuing_state(i))
        cri = db.session.scalar(text("SELECT id FROM parties WHERE code = :c"), {"c": CHECK_PARTY})
        for title, statement, params in (
            ("check (exact, with state)",
             ("SELECT alerts.id FROM alerts WHERE (alerts.owner_party_id = :p OR alerts.distribution_level = 'members' "
             "OR (alerts.distribution_level = 'parties' AND EXISTS (SELECT 1 FROM distribution_recipients d WHERE "
             "d.record_type = 'alerts' AND d.record_id = alerts.id AND d.party_id = :p)) OR (alerts.distribution_level "
             "= 'network' AND EXISTS (SELECT 1 FROM network_parties n WHERE n.network_id = alerts.network_id AND "
             "n.party_id = :p))) AND (alerts.status != 'draft' OR alerts.owner_party_id = :p) AND alerts.status = "
             "'published' AND alerts.number_index = :ix ORDER BY alerts.id"), {"p": cri, "ix": index}),
            ("full-text page (2 words)",
             ("SELECT alerts.id FROM alerts WHERE (alerts.owner_party_id = :p OR alerts.distribution_level = 'members') "
             "AND alerts.search_vector @@ to_tsquery('simple', 'document & kalaxo:*') "
             "ORDER BY alerts.detection_date DESC NULLS LAST, alerts.id DESC LIMIT 20"), {"p": cri}),
            ("full-text count (2 words)",
             ("SELECT count(alerts.id) FROM alerts WHERE (alerts.owner_party_id = :p OR alerts.distribution_level = "
             "'members') AND alerts.search_vector @@ to_tsquery('simple', 'document & kalaxo:*')"), {"p": cri}),
        ):
            plan = db.session.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + statement), params).scalars().all()
            print(f"--- EXPLAIN ANALYZE: {title}")
            print("\n".join(plan))
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--folder", default=str(Path(tempfile.gettempdir()) / "bench-alerts"))
    common.add_argument("--database-url", required=True)
    common.add_argument("--redis-url", default="redis://127.0.0.1:6379/8")
    sub.add_parser("setup", parents=[common])
    generate = sub.add_parser("generate", parents=[common])
    generate.add_argument("--count", type=int, default=100_000)
    generate.add_argument("--batch", type=int, default=2_000)
    generate.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    measure = sub.add_parser("measure", parents=[common])
    measure.add_argument("--port", type=int, default=8765)
    measure.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 2))
    measure.add_argument("--worker-class", default="gthread")
    measure.add_argument("--threads", type=int, default=4)
    measure.add_argument("--clients", type=int, default=16)
    measure.add_argument("--duration", type=float, default=20)
    measure.add_argument("--max-requests", type=int, default=200_000)
    measure.add_argument("--search-requests", type=int, default=300)
    measure.add_argument("--client", choices=("wrk", "python"), default="wrk")
    for parser_ in (measure, sub.add_parser("import", parents=[common])):
        parser_.add_argument("--import-count", type=int, default=20_000)
        parser_.add_argument("--batch-size", type=int, default=2_000)
        parser_.add_argument("--create-count", type=int, default=100)
        parser_.add_argument("--subscribers", type=int, default=12)
    profile = sub.add_parser("profile", parents=[common])
    profile.add_argument("--requests", type=int, default=1_000)
    profile.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    {"setup": cmd_setup, "generate": cmd_generate, "measure": cmd_measure, "import": cmd_import,
     "profile": cmd_profile}[args.command](args)


if __name__ == "__main__":
    main()
