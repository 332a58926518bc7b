"""``blobs gc``: delete blobs no row references, and what a crash left behind (the local store's temporary
files, the S3 store's unfinished multipart uploads).

The referenced set comes from the rotation registry (``portal.rotation.referenced_blob_ids``: every blob id
column of every ``register_wrapped_key`` model), so a package that stores files is covered as soon as it
registers them. An unreferenced blob younger than ``min_age_seconds`` is kept: an upload writes its blob
first and commits its row afterwards, and gc must not win that race; a temporary file (an upload still
being written, or one a killed worker left) is judged by the same age. ``--min-age 0`` removes at once what
a crash left, when no upload is under way (every host stopped, or a quiet moment).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from documents.storage import BlobStore

STALE_AFTER_SECONDS = 3600


@dataclass
class GcResult:
    """What one ``blobs gc`` run found and removed."""

    referenced: int = 0
    unreferenced: list[str] = field(default_factory=list)
    kept_young: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    temporaries: int = 0


def collect_garbage(store: BlobStore, *, dry_run: bool = False,
                    min_age_seconds: float = STALE_AFTER_SECONDS) -> GcResult:
    """Delete (or, with ``dry_run``, only list) unreferenced blobs and stale temporaries."""
    from portal.rotation import referenced_blob_ids

    referenced = referenced_blob_ids()
    result = GcResult(referenced=len(referenced))
    for blob_id in list(store.iter_ids()):
        if blob_id in referenced:
            continue
        if store.age_seconds(blob_id) < min_age_seconds:
            result.kept_young.append(blob_id)
            continue
        result.unreferenced.append(blob_id)
        if not dry_run and blob_id not in referenced_blob_ids_now(blob_id) and store.delete(blob_id):
            result.removed.append(blob_id)
    if dry_run:
        result.temporaries = store.count_stale_temporaries(min_age_seconds)
    else:
        result.temporaries = store.remove_stale_temporaries(min_age_seconds)
    return result


def referenced_blob_ids_now(blob_id: str) -> set[str]:
    """Re-check one candidate just before deleting it (a row may have been committed meanwhile)."""
    from sqlalchemy import inspect, select

    from portal.extensions import db
    from portal.rotation import registry

    for entry in registry.wrapped_keys.values():
        column = inspect(entry.model).columns[entry.blob_id_attr]
        if db.session.scalar(select(column).where(column == blob_id).limit(1)) is not None:
            return {blob_id}
    return set()
