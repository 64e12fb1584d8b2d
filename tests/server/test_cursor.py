"""Pagination cursors: opaque, URL-safe, tied to one listing; anything else is a 400."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest

from server.errors import InvalidRequest
from server.services.cursor import decode_cursor, encode_cursor


def raw_cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "value",
    [0, 7, 2**40, "x", ["one", "two", "three"], ["é", "a/b", "?&="], {"id": 3, "at": 1.5}],
)
def test_round_trip(value: Any) -> None:
    cursor = encode_cursor("assets", value)

    assert re.fullmatch(r"[A-Za-z0-9_-]+", cursor), cursor  # no padding, nothing to escape
    assert decode_cursor(cursor, "assets") == value


@pytest.mark.parametrize("cursor", [None, ""])
def test_no_cursor_is_the_first_page(cursor: str | None) -> None:
    assert decode_cursor(cursor, "runs") is None


def test_a_cursor_of_another_listing_is_refused() -> None:
    cursor = encode_cursor("assets", ["a"])

    with pytest.raises(InvalidRequest, match="another listing") as raised:
        decode_cursor(cursor, "runs")

    assert raised.value.status == 400


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor!",
        "abc",
        "é",
        base64.urlsafe_b64encode(b"\xff\xfe\xfd").decode(),
        raw_cursor(5),
        raw_cursor("ru"),
        raw_cursor(["runs"]),
        raw_cursor(["runs", 1, 2]),
        raw_cursor({"runs": 1, "x": 2}),
        raw_cursor(None),
    ],
)
def test_bad_cursors_are_invalid_requests(cursor: str) -> None:
    with pytest.raises(InvalidRequest, match="invalid cursor") as raised:
        decode_cursor(cursor, "runs")

    assert raised.value.status == 400
    assert "next_cursor" in raised.value.detail
