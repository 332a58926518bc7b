"""The registry of everything the key ring protects: models import it to declare what they encrypt.

Each package REGISTERS what it encrypts, next to its models (at import of its ``models.py``, so whatever
``create_app`` imports through ``MODEL_MODULES`` is known before any command runs)::

    register_encrypted_column(User, "email")                     # an EncryptedText column (attribute name)
    register_blind_index(User, lambda user: {"email_index": email_index(user.email)})
    register_wrapped_key(Attachment, "file_uid", "wrapped_key", "key_id", rewrap=..., verify=...,
                         blob_id_attr="blob_id", size_attr="size")

A wrapped file key's registration carries the functions that re-wrap it and verify its blob: they belong
to the file service (``documents``), whose ``register_stored_file(model)`` fills them in, so the core
calls what the feature registered and never imports it. What ``keys rotate``/``keys verify`` do with the
registry is in ``portal.rotation_work``; ``blobs gc`` keeps exactly ``referenced_blob_ids()``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import inspect, select

from portal.crypto import EncryptedText
from portal.extensions import db


@dataclass(frozen=True)
class EncryptedColumn:
    """A registered ``EncryptedText`` column of a model."""

    model: type
    attr: str

    @property
    def column(self):
        return inspect(self.model).columns[self.attr]

    @property
    def type(self) -> EncryptedText:
        return self.column.type

    @property
    def label(self) -> str:
        return f"{self.model.__tablename__}.{self.column.name}"


@dataclass(frozen=True)
class BlindIndex:
    """A registered way to recompute a model's blind indexes from a loaded row."""

    model: type
    compute: Callable[[Any], dict[str, str | None] | None]
    name: str


# rewrap(wrapped, key_id, ring, file_id) -> an object with ``.wrapped`` and ``.key_id``: the same data key
# under ``ring.active_id``. Raises DecryptionError or KeyRingError for a key it cannot unwrap.
Rewrap = Callable[[bytes, str, Any, Any], Any]
# verify(blob_id, wrapped, key_id, file_id, ring, size=...): decrypt the whole blob. Raises MissingBlob for a
# missing blob, DecryptionError, KeyRingError or ValueError for one that does not decrypt.
Verify = Callable[..., None]


class MissingBlob(LookupError):
    """Raised by a registered ``verify`` function: the row names a blob the store does not have."""


@dataclass(frozen=True)
class WrappedKeyColumns:
    """A wrapped file key on ``model``, its blob, and the functions of the file service that handle them."""

    model: type
    file_id_attr: str
    wrapped_attr: str
    key_id_attr: str
    rewrap: Rewrap
    verify: Verify
    blob_id_attr: str = "blob_id"
    size_attr: str | None = None

    @property
    def label(self) -> str:
        return f"{self.model.__tablename__}.{self.wrapped_attr}"


@dataclass
class Registry:
    """Everything registered: encrypted columns, blind indexes, wrapped file keys."""

    encrypted: dict[tuple[type, str], EncryptedColumn] = field(default_factory=dict)
    blind_indexes: dict[tuple[type, str], BlindIndex] = field(default_factory=dict)
    wrapped_keys: dict[tuple[type, str], WrappedKeyColumns] = field(default_factory=dict)

    def copy(self) -> Registry:
        return Registry(dict(self.encrypted), dict(self.blind_indexes), dict(self.wrapped_keys))


registry = Registry()


def register_encrypted_column(model: type, *attrs: str) -> None:
    """Declare EncryptedText columns of ``model`` (by attribute name) for ``keys rotate`` and ``keys verify``."""
    for attr in attrs:
        entry = EncryptedColumn(model, attr)
        if not isinstance(entry.type, EncryptedText):
            raise TypeError(f"{entry.label} is not an EncryptedText column")
        registry.encrypted[(model, attr)] = entry


def register_blind_index(model: type, compute_fn: Callable[[Any], dict[str, str | None] | None],
                         name: str | None = None) -> None:
    """Declare how to recompute ``model``'s blind indexes from a loaded (decrypted) row (``keys rotate --index``)."""
    name = name or getattr(compute_fn, "__qualname__", repr(compute_fn))
    registry.blind_indexes[(model, name)] = BlindIndex(model, compute_fn, name)


def register_wrapped_key(model: type, file_id_attr: str, wrapped_attr: str, key_id_attr: str, *,
                         rewrap: Rewrap, verify: Verify, blob_id_attr: str = "blob_id",
                         size_attr: str | None = None) -> None:
    """Declare a wrapped file key (and its blob) on ``model``; call once per blob a row may hold.

    ``rewrap`` and ``verify`` come from the package that encrypts the files (``documents``, through
    ``documents.service.register_file_columns``): the core calls them, it never imports that package.
    """
    registry.wrapped_keys[(model, wrapped_attr)] = WrappedKeyColumns(
        model, file_id_attr, wrapped_attr, key_id_attr, rewrap, verify, blob_id_attr, size_attr)


def unregistered_encrypted_columns(metadata=None) -> list[str]:
    """EncryptedText columns in the metadata that nobody registered (rotation would leave them behind)."""
    metadata = metadata if metadata is not None else db.metadata
    registered = {(entry.model.__table__.name, entry.column.name) for entry in registry.encrypted.values()}
    return sorted(f"{table.name}.{column.name}" for table in metadata.sorted_tables for column in table.columns
                  if isinstance(column.type, EncryptedText) and (table.name, column.name) not in registered)


def referenced_blob_ids() -> set[str]:
    """Every blob id a registered row points at (``blobs gc`` keeps exactly these)."""
    ids: set[str] = set()
    for entry in registry.wrapped_keys.values():
        column = inspect(entry.model).columns[entry.blob_id_attr]
        ids.update(db.session.scalars(select(column).where(column.is_not(None))))
    return ids
