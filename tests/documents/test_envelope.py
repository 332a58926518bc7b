"""Envelope keys: wrapping under the active key, binding to the file id, rotation by rewrap."""

from __future__ import annotations

import pytest

from documents import envelope
from portal.keyring import KeyRing, KeyRingError


def test_wrap_uses_the_active_key_and_unwraps():
    ring = KeyRing.generate()
    data_key = envelope.new_data_key()
    wrapped = envelope.wrap(data_key, 42, ring)
    assert wrapped.key_id == "k1"
    assert len(wrapped.wrapped) == envelope.WRAPPED_SIZE
    assert data_key not in wrapped.wrapped
    assert envelope.unwrap(wrapped.wrapped, wrapped.key_id, 42, ring) == data_key
    assert envelope.unwrap(wrapped.wrapped, "k1", "42", ring) == data_key  # ids are compared as text


def test_each_file_gets_its_own_key_and_wrapping():
    ring = KeyRing.generate()
    assert envelope.new_data_key() != envelope.new_data_key()
    key = envelope.new_data_key()
    assert envelope.wrap(key, 1, ring).wrapped != envelope.wrap(key, 1, ring).wrapped


def test_the_file_id_is_bound():
    ring = KeyRing.generate()
    wrapped = envelope.wrap(envelope.new_data_key(), "file-1", ring)
    with pytest.raises(envelope.KeyUnwrapError):
        envelope.unwrap(wrapped.wrapped, wrapped.key_id, "file-2", ring)


def test_a_tampered_or_malformed_wrapped_key_is_refused():
    ring = KeyRing.generate()
    wrapped = envelope.wrap(envelope.new_data_key(), 1, ring).wrapped
    for damaged in (
        bytes([wrapped[0] ^ 1]) + wrapped[1:],
        wrapped[:-1] + bytes([wrapped[-1] ^ 1]),
        wrapped[:-1],
    ):
        with pytest.raises(envelope.KeyUnwrapError):
            envelope.unwrap(damaged, "k1", 1, ring)


def test_another_ring_cannot_unwrap():
    wrapped = envelope.wrap(envelope.new_data_key(), 1, KeyRing.generate())
    with pytest.raises(envelope.KeyUnwrapError):
        envelope.unwrap(wrapped.wrapped, wrapped.key_id, 1, KeyRing.generate())


def test_the_key_id_is_bound():
    ring = KeyRing.generate().with_new_key()  # k1, k2 (active)
    wrapped = envelope.wrap(envelope.new_data_key(), 1, ring)
    assert wrapped.key_id == "k2"
    with pytest.raises(envelope.KeyUnwrapError):
        envelope.unwrap(wrapped.wrapped, "k1", 1, ring)


def test_rotation_rewraps_and_the_old_key_can_then_leave_the_ring():
    old_ring = KeyRing.generate()
    data_key = envelope.new_data_key()
    stored = envelope.wrap(data_key, 9, old_ring)

    ring = old_ring.with_new_key()
    assert ring.active_id == "k2"
    # Old files still open before the rewrap...
    assert envelope.unwrap(stored.wrapped, stored.key_id, 9, ring) == data_key
    rewrapped = envelope.rewrap(stored.wrapped, stored.key_id, ring, 9)
    assert rewrapped.key_id == "k2"
    assert rewrapped.wrapped != stored.wrapped
    # ...and after it, without k1 at all.
    without_old = KeyRing({"k2": ring.keys["k2"]}, "k2")
    assert envelope.unwrap(rewrapped.wrapped, "k2", 9, without_old) == data_key
    with pytest.raises(KeyRingError):
        envelope.unwrap(stored.wrapped, stored.key_id, 9, without_old)


def test_rewrap_is_idempotent_so_an_interrupted_rotation_can_be_rerun():
    ring = KeyRing.generate().with_new_key()
    stored = envelope.wrap(envelope.new_data_key(), 3, ring)
    again = envelope.rewrap(stored.wrapped, stored.key_id, ring, 3)
    assert again == stored
    with pytest.raises(envelope.KeyUnwrapError):
        envelope.rewrap(stored.wrapped, stored.key_id, ring, 4)
