"""Benchmark: encrypted file storage throughput against raw AES-256-GCM, and peak memory of a 1 GB round trip.

For each size it measures, on the same bytes in the same run:

- raw AES-256-GCM: sealing (and opening) the bytes in 64 KiB segments in memory, no framing, no disk
  (the issue's baseline: ``AESGCM.encrypt`` returning each sealed segment, up to 65 of them kept alive;
  opening decrypts one cached segment over and over);
- raw AES-256-GCM + disk: the same sealed into a file that is fsync'd, then read back and opened;
- encrypt-and-store: ``documents.service.encrypt_to_store`` (data key, wrap, STREAM, blob store with
  temporary file, fsync and rename) into a local blob store;
- fetch-and-decrypt: ``decrypt_from_store`` read to the end.

It prints MB/s and the ratios portal / raw in memory (the issue's, target >= 0.7) and portal / raw + disk.
A second line per size gives a stronger reference, for information: the cipher alone, sealing and opening
the same bytes with ``encrypt_into`` / ``decrypt_into`` into one reused buffer (no allocation at all), and
the portal's ratios to it. Then a subprocess encrypts-and-stores and fetches-and-decrypts a 1 GB file
streaming and prints its peak RSS (target: flat, under 100 MB). Asserts nothing.

    .venv/bin/python bench/documents_throughput.py --quick      # 1 MB and 100 MB, plus the 1 GB memory run
    .venv/bin/python bench/documents_throughput.py              # 1 MB, 100 MB and 1 GB
    .venv/bin/python bench/documents_throughput.py --quick --no-rss   # while iterating
    .venv/bin/python bench/documents_throughput.py --repeat 3   # fastest of 3 interleaved runs per figure
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from documents.service import decrypt_from_store, encrypt_to_store
from documents.storage import LocalBlobStore
from documents.stream import DEFAULT_SEGMENT_SIZE
from portal.keyring import KeyRing

MB = 1024 * 1024
CHUNK = MB  # what an upload stream hands over at a time


def chunks(size: int, block: bytes):
    """``size`` bytes as 1 MiB chunks of the same random block (generated once: no RNG in the timing)."""
    sent = 0
    while sent < size:
        piece = block[: min(CHUNK, size - sent)]
        sent += len(piece)
        yield piece


def raw_gcm(size: int, block: bytes) -> tuple[float, float]:
    """Seconds to seal, and to open, the same bytes in the same segment size with AES-256-GCM."""
    aead = AESGCM(os.urandom(32))
    nonce = os.urandom(12)
    sealed = []
    start = time.perf_counter()
    for chunk in chunks(size, block):
        for offset in range(0, len(chunk), DEFAULT_SEGMENT_SIZE):
            sealed.append(aead.encrypt(nonce, chunk[offset:offset + DEFAULT_SEGMENT_SIZE], b""))
            if len(sealed) > 64:  # keep memory flat like the stream does
                sealed.clear()
    sealing = time.perf_counter() - start
    sample = aead.encrypt(nonce, block[:DEFAULT_SEGMENT_SIZE], b"")
    segments = -(-size // DEFAULT_SEGMENT_SIZE)
    start = time.perf_counter()
    for _ in range(segments):
        aead.decrypt(nonce, sample, b"")
    return sealing, time.perf_counter() - start


def cipher_alone(size: int, block: bytes) -> tuple[float, float]:
    """Seconds to seal, and to open, the same bytes in the same segments into one reused buffer: the
    cipher's own cost without any allocation (a stronger reference than ``raw_gcm``, printed apart)."""
    aead = AESGCM(os.urandom(32))
    nonce = os.urandom(12)
    sealed = memoryview(bytearray(DEFAULT_SEGMENT_SIZE + 16))
    start = time.perf_counter()
    for chunk in chunks(size, block):
        view = memoryview(chunk)
        for offset in range(0, len(view), DEFAULT_SEGMENT_SIZE):
            piece = view[offset:offset + DEFAULT_SEGMENT_SIZE]
            aead.encrypt_into(nonce, piece, b"", sealed[:len(piece) + 16])
    sealing = time.perf_counter() - start
    segments = [aead.encrypt(nonce, block[offset:offset + DEFAULT_SEGMENT_SIZE], b"")
                for offset in range(0, len(block), DEFAULT_SEGMENT_SIZE)]
    opened = memoryview(bytearray(DEFAULT_SEGMENT_SIZE))
    start = time.perf_counter()
    for index in range(-(-size // DEFAULT_SEGMENT_SIZE)):
        aead.decrypt_into(nonce, segments[index % len(segments)], b"", opened)
    return sealing, time.perf_counter() - start


def raw_gcm_file(size: int, block: bytes, folder: Path) -> tuple[float, float]:
    """The same, but written to a file (fsync'd) and read back: raw GCM plus the disk the store also pays."""
    aead = AESGCM(os.urandom(32))
    nonce = os.urandom(12)
    path = folder / "raw-baseline.bin"
    start = time.perf_counter()
    with open(path, "wb") as handle:
        for chunk in chunks(size, block):
            handle.writelines(aead.encrypt(nonce, chunk[offset:offset + DEFAULT_SEGMENT_SIZE], b"") for offset in range(0, len(chunk), DEFAULT_SEGMENT_SIZE))
        handle.flush()
        os.fsync(handle.fileno())
    sealing = time.perf_counter() - start
    start = time.perf_counter()
    with open(path, "rb") as handle:
        while piece := handle.read(DEFAULT_SEGMENT_SIZE + 16):
            aead.decrypt(nonce, piece, b"")
    opening = time.perf_counter() - start
    path.unlink()
    return sealing, opening


def portal_round_trip(size: int, block: bytes, folder: Path) -> tuple[float, float]:
    store = LocalBlobStore(folder)
    ring = KeyRing.generate()
    start = time.perf_counter()
    stored = encrypt_to_store(store, chunks(size, block), "bench-file", ring)
    storing = time.perf_counter() - start
    start = time.perf_counter()
    total = 0
    with decrypt_from_store(store, stored.blob_id, stored.wrapped_key, stored.key_id, "bench-file", ring) as reader:
        for piece in reader:
            total += len(piece)
    fetching = time.perf_counter() - start
    assert total == size
    store.delete(stored.blob_id)
    return storing, fetching


def rss_child(size: int, folder: str) -> None:
    """Encrypt-and-store then fetch-and-decrypt ``size`` bytes streaming; print the peak RSS in MB."""
    block = os.urandom(CHUNK)
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    storing, fetching = portal_round_trip(size, block, Path(folder))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{peak:.1f} {baseline:.1f} {storing:.4f} {fetching:.4f}")


def load_average() -> str:
    """The host's load (the figures depend on it: the standard machine is shared)."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} on {os.cpu_count()} cores"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 MB and 100 MB only (the 1 GB memory run stays)")
    parser.add_argument("--no-rss", action="store_true", help="skip the 1 GB peak-memory subprocess")
    parser.add_argument("--folder", help="where the blob store goes (default: a temporary folder)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run every measure N times, interleaved, and keep the fastest of each (a shared host)")
    parser.add_argument("--rss-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    folder = Path(args.folder or tempfile.mkdtemp(prefix="bench-documents-"))
    if args.rss_child:
        rss_child(args.rss_child, str(folder))
        return

    sizes = [MB, 100 * MB] + ([] if args.quick else [1024 * MB])
    block = os.urandom(CHUNK)
    print(f"segment size {DEFAULT_SEGMENT_SIZE // 1024} KiB, blob store in {folder}; {load_average()}")
    print("MB/s; ratio = portal / raw GCM in memory, and (in brackets) portal / raw GCM to an fsync'd file")
    print(f"{'size':>8} | {'raw enc':>7} | {'raw+disk':>8} | {'store':>6} | {'ratio':>12} | "
          f"{'raw dec':>7} | {'raw+disk':>8} | {'fetch':>6} | {'ratio':>12}")
    if args.repeat > 1:
        print(f"each figure is the fastest of {args.repeat} interleaved runs (baselines and portal alike)")
    for size in sizes:
        runs = [(raw_gcm(size, block), raw_gcm_file(size, block, folder), portal_round_trip(size, block, folder),
                 cipher_alone(size, block)) for _ in range(max(1, args.repeat))]
        (raw_seal, raw_open), (disk_seal, disk_open), (storing, fetching), (alone_seal, alone_open) = (
            tuple(min(times) for times in zip(*measure)) for measure in zip(*runs))
        mb = size / MB
        print(f"{mb:>6.0f}MB | {mb / raw_seal:>7.0f} | {mb / disk_seal:>8.0f} | {mb / storing:>6.0f} | "
              f"{raw_seal / storing:>5.2f} ({disk_seal / storing:.2f}) | {mb / raw_open:>7.0f} | "
              f"{mb / disk_open:>8.0f} | {mb / fetching:>6.0f} | {raw_open / fetching:>5.2f} ({disk_open / fetching:.2f})")
        print(f"{'':>8}   cipher alone, reused buffer: seal {mb / alone_seal:.0f}, open {mb / alone_open:.0f} MB/s; "
              f"store / that {alone_seal / storing:.2f}, fetch / that {alone_open / fetching:.2f}")

    if not args.no_rss:
        size = 1024 * MB
        completed = subprocess.run([sys.executable, __file__, "--rss-child", str(size), "--folder", str(folder)],
                                   capture_output=True, text=True, check=True)
        peak, baseline, storing, fetching = (float(value) for value in completed.stdout.split())
        print(f"1 GB streaming round trip in a subprocess: peak RSS {peak:.1f} MB "
              f"(after imports {baseline:.1f} MB; target < 100 MB, flat); "
              f"store {size / MB / storing:.0f} MB/s, fetch {size / MB / fetching:.0f} MB/s")
    print(f"done; {load_average()}")


if __name__ == "__main__":
    main()
