"""Blob storage: opaque, already-encrypted objects named by random ids.

Callers only ever see ``BlobStore`` (``writer``, ``put``, ``open``, ``delete``, ``exists``, ``iter_ids``,
``size``) and obtain the configured one with ``current_blob_store()``. Blobs hold ciphertext only (see
``documents.service``); no store ever receives a plaintext byte.

The local filesystem store keeps ``<root>/<first 2 chars of id>/<id>``, folders 0700 and files 0600. A
write goes to a hidden temporary file in the blob's own folder, is fsync'd, renamed into place and the
folder fsync'd, so a reader never sees a partial blob and a crash leaves at worst a stale ``.tmp-`` file
that ``remove_stale_temporaries()`` (and ``blobs gc``) clears. While a large blob is written, the kernel is
asked every ``WRITEBACK_EVERY`` bytes to start writing what is already there (Linux
``sync_file_range``; a hint, not a durability step), so the final fsync does not wait for the whole file.

The S3-compatible store (``documents.s3_storage``, ``BLOB_STORE = "s3://bucket/prefix"``) streams a blob
into a multipart upload and makes it visible only with ``CompleteMultipartUpload`` in ``commit``, which
gives the same atomicity; its crash leftovers are unfinished multipart uploads, which
``remove_stale_temporaries`` aborts. Another backend registers itself with ``register_backend``.
"""

from __future__ import annotations

import abc
import ctypes
import os
import re
import secrets
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, Self

from flask import current_app

BLOB_ID = re.compile(r"[0-9a-f]{32}")
_TEMP_PREFIX = ".tmp-"


class BlobNotFound(LookupError):
    """No blob with this id."""


class BlobStoreUnavailable(OSError):
    """The store cannot take the blob now (unreachable, full, refusing): nothing of it was stored. Uploads
    answer 503 with a clear message (``documents.transfer``)."""


class InvalidBlobId(ValueError):
    """The id is not a well-formed blob id (and so could never name a stored blob)."""


def new_blob_id() -> str:
    return secrets.token_hex(16)


def validate_blob_id(blob_id: str) -> str:
    if not isinstance(blob_id, str) or not BLOB_ID.fullmatch(blob_id):
        raise InvalidBlobId("invalid blob id")
    return blob_id


class BlobWriter(abc.ABC):
    """A new blob being written, like a binary file: nothing is visible until ``commit()`` returns its id,
    and ``abort()`` leaves nothing behind. As a context manager it commits when the block ends normally
    and aborts on any exception. ``write`` consumes its argument before returning (the caller may reuse
    its buffer), as a file's ``write`` does."""

    blob_id: str

    @abc.abstractmethod
    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Append all of ``data``; returns its length."""

    @abc.abstractmethod
    def commit(self) -> str:
        """Make the blob durable and visible under ``blob_id``; returns it. On failure, aborts and raises."""

    @abc.abstractmethod
    def abort(self) -> None:
        """Discard what was written (safe to call more than once)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


class BlobStore(abc.ABC):
    """Where encrypted blobs live. Implementations must make writing a blob all-or-nothing."""

    @abc.abstractmethod
    def writer(self) -> BlobWriter:
        """A ``BlobWriter`` for a new blob under a new random id."""

    def put(self, chunks: Iterable[bytes]) -> str:
        """Store the concatenated chunks under a new random id and return it.

        If iterating ``chunks`` raises (a refused upload, a client that went away), nothing is stored
        and the exception propagates.
        """
        with self.writer() as blob:
            for chunk in chunks:
                blob.write(chunk)
        return blob.blob_id

    @abc.abstractmethod
    def open(self, blob_id: str) -> BinaryIO:
        """A binary reader (``read(n)``, ``close()``, context manager). Raises ``BlobNotFound``."""

    @abc.abstractmethod
    def delete(self, blob_id: str) -> bool:
        """Remove the blob; False if there was none."""

    @abc.abstractmethod
    def exists(self, blob_id: str) -> bool: ...

    @abc.abstractmethod
    def iter_ids(self) -> Iterator[str]:
        """Every stored blob id (for garbage collection, backups and ``keys verify``)."""

    @abc.abstractmethod
    def size(self, blob_id: str) -> int:
        """Stored (ciphertext) size in bytes. Raises ``BlobNotFound``."""

    @abc.abstractmethod
    def import_blob(self, blob_id: str, source: Path) -> None:
        """Store a copy of the file ``source`` as blob ``blob_id`` (``restore``). Raises ``InvalidBlobId``."""

    @abc.abstractmethod
    def age_seconds(self, blob_id: str) -> float:
        """Seconds since the blob was written (0 when it is gone): ``blobs gc`` keeps young blobs."""

    @abc.abstractmethod
    def check(self) -> None:
        """Raise ``OSError`` (or the backend's error) when the store cannot be reached (``/readyz``)."""

    @property
    @abc.abstractmethod
    def location(self) -> str:
        """Where the blobs are, for messages (a folder, ``s3://bucket/prefix``)."""

    def count_stale_temporaries(self, older_than_seconds: float = 3600) -> int:
        """How many leftovers of interrupted writes ``remove_stale_temporaries`` would remove."""
        return 0

    def remove_stale_temporaries(self, older_than_seconds: float = 3600) -> int:
        """Remove leftovers of writes a crash interrupted (never one still running); returns the count."""
        return 0


class LocalBlobStore(BlobStore):
    """Blobs as files under ``root``, sharded by the first two characters of the id."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).resolve()

    @classmethod
    def from_url(cls, url: str) -> LocalBlobStore:
        return cls(url.removeprefix("file://"))

    def _path(self, blob_id: str) -> Path:
        validate_blob_id(blob_id)
        path = self.root / blob_id[:2] / blob_id
        # Belt and braces: the id pattern already excludes separators and dots.
        if path.parent.parent != self.root:
            raise InvalidBlobId("invalid blob id")
        return path

    def _ensure_folder(self, folder: Path) -> None:
        if folder.is_dir():
            return
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder.mkdir(mode=0o700, exist_ok=True)
        _fsync_dir(self.root)

    def writer(self) -> LocalBlobWriter:
        blob_id = new_blob_id()
        final = self._path(blob_id)
        self._ensure_folder(final.parent)
        return LocalBlobWriter(blob_id, final)

    def open(self, blob_id: str) -> BinaryIO:
        try:
            return open(self._path(blob_id), "rb")
        except FileNotFoundError:
            raise BlobNotFound(blob_id) from None

    def delete(self, blob_id: str) -> bool:
        path = self._path(blob_id)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        _fsync_dir(path.parent)
        return True

    def exists(self, blob_id: str) -> bool:
        return self._path(blob_id).is_file()

    def size(self, blob_id: str) -> int:
        try:
            return self._path(blob_id).stat().st_size
        except FileNotFoundError:
            raise BlobNotFound(blob_id) from None

    def iter_ids(self) -> Iterator[str]:
        if not self.root.is_dir():
            return
        for shard in sorted(self.root.iterdir()):
            if not (shard.is_dir() and re.fullmatch(r"[0-9a-f]{2}", shard.name)):
                continue
            for entry in sorted(shard.iterdir()):
                if BLOB_ID.fullmatch(entry.name) and entry.name[:2] == shard.name and entry.is_file():
                    yield entry.name

    @property
    def location(self) -> str:
        return str(self.root)

    def check(self) -> None:
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise PermissionError(f"{self.root} is not writable")

    def age_seconds(self, blob_id: str) -> float:
        try:
            return time.time() - self._path(blob_id).stat().st_mtime
        except FileNotFoundError:
            return 0.0

    def import_blob(self, blob_id: str, source: Path) -> None:
        """Put a copy of ``source`` in place as blob ``blob_id`` (``restore``). Raises ``InvalidBlobId``."""
        destination = self._path(blob_id)
        self._ensure_folder(destination.parent)
        temporary = destination.parent / f"{_TEMP_PREFIX}{blob_id}-restore"
        shutil.copyfile(source, temporary)
        os.chmod(temporary, 0o600)
        os.replace(temporary, destination)

    def iter_temporaries(self) -> Iterator[Path]:
        if not self.root.is_dir():
            return
        yield from self.root.glob(f"??/{_TEMP_PREFIX}*")

    def _stale(self, older_than_seconds: float) -> list[Path]:
        cutoff = time.time() - older_than_seconds
        stale = []
        for path in self.iter_temporaries():
            try:
                if path.stat().st_mtime < cutoff:
                    stale.append(path)
            except FileNotFoundError:
                continue
        return stale

    def count_stale_temporaries(self, older_than_seconds: float = 3600) -> int:
        return len(self._stale(older_than_seconds))

    def remove_stale_temporaries(self, older_than_seconds: float = 3600) -> int:
        """Delete temporary files left by a crash (never one a running upload may still be writing)."""
        removed = 0
        for path in self._stale(older_than_seconds):
            try:
                path.unlink()
                removed += 1
            except FileNotFoundError:
                continue
        return removed


class LocalBlobWriter(BlobWriter):
    """A hidden temporary file (0600) in the blob's folder; ``commit`` fsyncs it, renames it into place and
    fsyncs the folder. Writes go straight to the file (no user-space buffer: callers write large pieces)."""

    def __init__(self, blob_id: str, final: Path):
        self.blob_id = blob_id
        self._final = final
        self._temporary = final.parent / f"{_TEMP_PREFIX}{blob_id}-{secrets.token_hex(4)}"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        self._fd: int | None = os.open(self._temporary, flags, 0o600)
        self._written = self._writeback_from = 0

    def write(self, data: bytes | bytearray | memoryview) -> int:
        if self._fd is None:
            raise ValueError("write to a finished blob writer")
        view = memoryview(data).cast("B")
        size = len(view)
        try:
            while view:
                written = os.write(self._fd, view)
                if not written:
                    raise OSError("blob write made no progress")
                view = view[written:]
        except OSError as exc:
            self.abort()
            raise BlobStoreUnavailable(exc.errno, f"blob store write failed: {exc.strerror or exc}") from exc
        self._written += size
        if self._written - self._writeback_from >= WRITEBACK_EVERY:
            _start_writeback(self._fd, self._writeback_from, self._written - self._writeback_from)
            self._writeback_from = self._written
        return size

    def commit(self) -> str:
        if self._fd is None:
            raise ValueError("commit of a finished blob writer")
        try:
            os.fsync(self._fd)
            self._close()
            os.replace(self._temporary, self._final)
        except OSError as exc:
            self.abort()
            raise BlobStoreUnavailable(exc.errno, f"blob store write failed: {exc.strerror or exc}") from exc
        except BaseException:
            self.abort()
            raise
        _fsync_dir(self._final.parent)
        return self.blob_id

    def abort(self) -> None:
        try:
            self._close()
        finally:
            self._temporary.unlink(missing_ok=True)

    def _close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


# Start the kernel's write-back every this many bytes of a blob being written.
WRITEBACK_EVERY = 8 * 1024 * 1024
_SYNC_FILE_RANGE_WRITE = 2  # <linux/fs.h>: start write-out of dirty pages, do not wait


def _load_sync_file_range():
    """The C library's ``sync_file_range`` (Linux), or None where there is none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    function.argtypes = (ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint)
    function.restype = ctypes.c_int
    return function


_sync_file_range = _load_sync_file_range()


def _start_writeback(fd: int, offset: int, length: int) -> None:
    """Ask the kernel to begin writing ``length`` bytes at ``offset`` to disk, without waiting (a hint: the
    fsync in ``commit`` is what makes the blob durable, so a failure or a missing call changes nothing)."""
    if _sync_file_range is not None:
        _sync_file_range(fd, offset, length, _SYNC_FILE_RANGE_WRITE)


def _fsync_dir(folder: Path) -> None:
    """Make a rename or unlink durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# "s3" is registered by the package (documents/__init__.py), which imports documents.s3_storage lazily.
_BACKENDS: dict[str, Callable[[str], BlobStore]] = {"file": LocalBlobStore.from_url}


def register_backend(scheme: str, factory: Callable[[str], BlobStore]) -> None:
    """Make ``BLOB_STORE = "<scheme>://..."`` build its store with ``factory(url)``."""
    _BACKENDS[scheme] = factory


def blob_store_from_setting(setting: str) -> BlobStore:
    """A store from a ``BLOB_STORE`` value: a folder path, ``file:///folder`` or ``<scheme>://...``."""
    scheme, sep, _ = setting.partition("://")
    if not sep:
        return LocalBlobStore(setting)
    try:
        factory = _BACKENDS[scheme]
    except KeyError:
        raise ValueError(f"BLOB_STORE: no blob store backend for {scheme!r}") from None
    return factory(setting)


def current_blob_store() -> BlobStore:
    """The application's store: ``BLOB_STORE`` from the config, by default ``<instance>/blobs``."""
    store = current_app.extensions.get("blob_store")
    if store is None:
        setting = current_app.config.get("BLOB_STORE") or str(
            Path(current_app.config["INSTANCE_PATH"]) / "blobs"
        )
        store = current_app.extensions["blob_store"] = blob_store_from_setting(setting)
    return store
