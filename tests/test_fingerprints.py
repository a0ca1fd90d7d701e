"""The one fingerprint helper: digests pinned to plain SHA-256, so that outputs written before
(avatar folders, imports, tri-planes, checkpoints) keep matching their fingerprints."""

import hashlib

import torch

from rodin_pipelines.fingerprints import (
    data_fingerprint,
    fingerprint,
    json_fingerprint,
    tensor_bytes,
)


def test_a_fingerprint_is_the_sha256_of_the_parts_in_order_cut_to_sixteen():
    expected = hashlib.sha256(b"ab" + "é".encode()).hexdigest()
    assert fingerprint(["a", b"b", "é"]) == expected[:16]
    assert fingerprint(["a", b"b", "é"], length=None) == expected
    assert fingerprint(["b", "a"]) != fingerprint(["a", "b"])


def test_json_fingerprints_sort_keys_so_insertion_order_does_not_matter():
    assert json_fingerprint({"b": 1, "a": [1, 2]}) == hashlib.sha256(
        b'{"a": [1, 2], "b": 1}').hexdigest()[:16]
    assert json_fingerprint({"a": 1, "b": 2}) == json_fingerprint({"b": 2, "a": 1})
    assert json_fingerprint({"a": 1}, 12, separators=(",", ":")) == hashlib.sha256(
        b'{"a":1}').hexdigest()[:12]


def test_data_fingerprints_cover_shape_dtype_and_bytes():
    ones = torch.ones(2, dtype=torch.float32)
    expected = hashlib.sha256(b"(2,)torch.float32" + ones.numpy().tobytes() + b"id")
    assert data_fingerprint([ones, "id"]) == expected.hexdigest()[:16]
    assert data_fingerprint([ones.reshape(1, 2), "id"]) != data_fingerprint([ones, "id"])
    assert data_fingerprint([ones.double(), "id"]) != data_fingerprint([ones, "id"])
    assert tensor_bytes(torch.zeros(0)) == b""
