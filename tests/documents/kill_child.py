"""The child process of ``test_worker_kill.py``: runs one upload or import through the application, says
``BLOCKED`` on standard output at its kill point, then waits there to be SIGKILLed by the test.

    python -m tests.documents.kill_child SETTINGS_JSON

``SETTINGS_JSON``: ``{"config": {...create_app overrides}, "sid": ..., "user_id": ..., "mode": ...,
"body": path of the request body, "content_type": ...}``. The modes:

- ``mid-upload``: the library upload's body is read up to its middle (what arrived is already encrypted
  and written to the blob store's temporary file), then the request stream blocks;
- ``stored``: the whole upload is stored and the document row flushed, not committed;
- ``mid-import``: an alert import confirmed, killed after its first stored batch (batches of two rows).
"""

from __future__ import annotations

import functools
import io
import json
import re
import sys
import time

KILL_POINT = "BLOCKED"


def block() -> None:
    print(KILL_POINT, flush=True)
    time.sleep(600)
    sys.exit("not killed")


class BlockingBody(io.BytesIO):
    """A request body that hands out its first half, then blocks as a slow client's would."""

    def _allow(self, size: int | None) -> int:
        left = len(self.getbuffer()) // 2 - self.tell()
        if left <= 0:
            block()
        return left if size is None or size < 0 else min(size, left)

    def read(self, size: int | None = -1) -> bytes:
        return super().read(self._allow(size))

    read1 = read

    def readinto(self, buffer) -> int:
        return super().readinto(memoryview(buffer)[:self._allow(len(buffer))])

    def readline(self, size: int | None = -1) -> bytes:
        return super().readline(self._allow(size))


def main() -> None:
    settings = json.loads(sys.argv[1])
    from portal import create_app

    app = create_app(settings["config"])
    client = app.test_client()
    with client.session_transaction() as session:
        session["sid"], session["_user_id"], session["_fresh"] = settings["sid"], str(settings["user_id"]), True
    body = open(settings["body"], "rb").read()  # noqa: SIM115 - read whole, then the file is left to the GC
    mode = settings["mode"]
    if mode == "mid-upload":
        client.post("/library/documents/new", input_stream=BlockingBody(body), content_length=len(body),
                    content_type=settings["content_type"])
    elif mode == "stored":
        from documents import operations

        original = operations.create_document

        def then_block(*args, **kwargs):
            document = original(*args, **kwargs)
            from portal.extensions import db

            db.session.flush()
            block()
            return document

        operations.create_document = then_block
        client.post("/library/documents/new", data=body, content_type=settings["content_type"])
    elif mode == "mid-import":
        from alerts import bulk

        bulk.import_batches = functools.partial(bulk.import_batches, batch_size=2)
        report = client.post("/alerts/bulk/import", data=body, content_type=settings["content_type"])
        pending = re.search(r'name="pending"[^>]*value="([^"]+)"', report.get_data(as_text=True))
        page = client.post("/alerts/bulk/import/confirm", data={"pending": pending.group(1), "submit": "Import"},
                           buffered=False)
        for chunk in page.response:
            if b'value="2"' in (chunk if isinstance(chunk, bytes) else chunk.encode()):
                block()  # two alerts stored in the import's transaction, not committed
    sys.exit(f"{mode}: the kill point was never reached")


if __name__ == "__main__":
    main()
