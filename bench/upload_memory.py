"""How much one upload makes a worker grow: peak RSS of a fresh process checking an image upload.

    PYTHONPATH=. python bench/upload_memory.py

Each case runs in a new interpreter that reads the file, notes its peak RSS (VmHWM), runs the
upload checks and the thumbnail exactly as ``documents.files.store_upload`` does, and notes the peak again;
the growth is the difference. Then it resets the peak and watermarks the stored image as an AMBER or RED
download does (``documents.watermark.apply_watermark``): the download's own growth (Linux only). Figures and their ratio to the
200 MB budget of issue 11 go to stdout. ``tests/documents/test_upload_memory.py`` holds the largest
images an upload accepts to that budget with ``measure``.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile

from PIL import Image

BUDGET_MB = 200

# The peak is read from /proc/self/status (VmHWM) where there is one: ``ru_maxrss`` carries over the
# peak of the parent that forked the child (exec does not reset it), which hides the growth.
CHILD = r"""
import resource, sys
from documents.uploads import UploadRefused, inspect_upload
from documents.watermark import apply_watermark, make_thumbnail


def peak_kb():
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

data = open(sys.argv[1], "rb").read()
before = peak_kb()
try:
    # Chunks as a request streams them: never all held at once.
    chunks = (data[i : i + 65536] for i in range(0, len(data), 65536))
    upload = inspect_upload(chunks, "specimen.png")
    cleaned = b"".join(upload.chunks)
    make_thumbnail(cleaned, upload.kind.code)
    outcome = "accepted"
except UploadRefused as refusal:
    outcome = "refused (" + refusal.code + ")"
after = peak_kb()
download = 0.0
if outcome == "accepted":
    # A download starts from the stored file in memory: the peak is reset (clear_refs 5) and measured
    # from the resident size with it.
    del data, chunks, upload
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")
    start = peak_kb()
    apply_watermark(cleaned, "png", "GTM · Test User Nine · 2026-12-02 UTC")
    download = (peak_kb() - start) / 1024
print(outcome, (after - before) / 1024, download)
"""


def png(width: int, height: int, mode: str = "RGBA", noise: bool = False) -> bytes:
    """One colour (compresses to almost nothing, like the issue's file) or noise (does not compress)."""
    if noise:
        image = Image.frombytes(mode, (width, height), os.urandom(width * height * len(mode)))
    else:
        image = Image.new(mode, (width, height), (40, 90, 160, 255)[: len(mode)])
    out = io.BytesIO()
    image.save(out, "PNG", optimize=not noise, compress_level=1 if noise else 9)
    return out.getvalue()


def measure(data: bytes) -> tuple[str, float, float]:
    """(outcome, growth of the upload in MB, growth of its watermarked download in MB) in a new process."""
    with tempfile.NamedTemporaryFile(suffix=".png") as file:
        file.write(data)
        file.flush()
        result = subprocess.run(
            [sys.executable, "-c", CHILD, file.name], capture_output=True, text=True, check=True
        )
    outcome, upload, download = result.stdout.strip().rsplit(" ", 2)
    return outcome, float(upload), float(download)


def main() -> None:
    cases = [
        ("6300x6300 RGBA PNG (issue 11)", png(6300, 6300)),
        ("3200x3200 RGBA PNG (39 MB decoded)", png(3200, 3200)),
        ("4000x4000 RGB PNG (61 MB decoded)", png(4000, 4000, "RGB")),
        ("3200x3200 RGBA noise PNG (39 MB decoded)", png(3200, 3200, noise=True)),
        ("6324x6324 L noise PNG (40 MP, 38 MB)", png(6324, 6324, "L", noise=True)),
    ]
    print(f"{'case':40} {'file KB':>8} {'outcome':>26} {'upload MB':>10} {'download':>10} {'of budget':>10}")
    for label, data in cases:
        outcome, upload, download = measure(data)
        print(f"{label:40} {len(data) / 1024:8.0f} {outcome:>26} {upload:10.1f} {download:10.1f} "
              f"{max(upload, download) / BUDGET_MB:10.0%}")


if __name__ == "__main__":
    main()
