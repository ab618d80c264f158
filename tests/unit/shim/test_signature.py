from __future__ import annotations

import json

import pytest

from shim.signature import sign, verify
from tests.support.webhooks import FIXTURES

VECTORS = [
    v
    for v in json.loads((FIXTURES / "signature-test-vectors.json").read_text())["vectors"]
    if v["header_name"] == "X-Hub-Signature-256"
]


@pytest.mark.parametrize("vector", VECTORS, ids=[v["id"] for v in VECTORS])
def test_published_vectors(vector):
    body = vector["body_utf8"].encode()
    assert sign(vector["secret"], body) == vector["header_value"]
    assert verify(vector["secret"], body, vector["header_value"])


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256=",
        "sha1=126f2c800419c60137ce748d7672e77b65cf16d6",
        "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e18",
    ],
)
def test_anything_else_fails(header):
    assert not verify("It's a Secret to Everybody", b"Hello, World!", header)


def test_body_is_compared_as_raw_bytes():
    secret = "s" * 20
    body = '{"title": "caf\u00e9"}'.encode()
    assert verify(secret, body, sign(secret, body))
    assert not verify(secret, body.replace(b" ", b""), sign(secret, body))


def test_a_header_that_is_not_ascii_fails_instead_of_raising():
    assert not verify("It's a Secret to Everybody", b"Hello, World!", "sha256=\u00e9" + "0" * 63)
