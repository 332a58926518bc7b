"""What every upload check shares: the refusal, the limits and where they come from.

Kept apart from ``uploads`` so that the parsers of each kind (``pdf_check``, ``office_check``) can raise
the same ``UploadRefused`` without importing the module that imports them.
"""

from __future__ import annotations

from dataclasses import dataclass

MB = 1024 * 1024


class UploadRefused(ValueError):
    """An upload the portal will not store. ``code`` is stable (API, audit), ``message`` translatable."""

    def __init__(self, code: str, message):
        super().__init__(code)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


@dataclass(frozen=True)
class UploadLimits:
    max_bytes: int = 50 * MB
    max_image_pixels: int = 40_000_000
    max_image_dimension: int = 20_000
    max_image_frames: int = 16
    # Bytes of decoded pixels (as Pillow holds them, every frame) an image may need. At their peak the
    # checks hold the upload, the decoded frame, its clean copy and the re-encoded file: an
    # incompressible image at this budget grows a worker by about 165 MB, under the 200 MB an upload may
    # cost (measured: bench/upload_memory.py, docs/performance.md).
    max_decode_bytes: int = 40 * MB
    max_unzipped_bytes: int = 200 * MB
    max_zip_ratio: int = 100
    max_zip_entries: int = 5_000
    max_pdf_inflated_bytes: int = 512 * MB
    max_csv_line_chars: int = MB
    max_name_length: int = 150


def limits_from_config(config) -> UploadLimits:
    """Limits from the Flask config (``UPLOAD_MAX_BYTES`` or ``MAX_CONTENT_LENGTH``, ``UPLOAD_*``)."""
    defaults = UploadLimits()
    values = {}
    for name in UploadLimits.__dataclass_fields__:
        key = "UPLOAD_" + name.upper()
        if config.get(key) is not None:
            values[name] = int(config[key])
    if "max_bytes" not in values and config.get("MAX_CONTENT_LENGTH"):
        values["max_bytes"] = int(config["MAX_CONTENT_LENGTH"])
    return UploadLimits(**{**defaults.__dict__, **values})
