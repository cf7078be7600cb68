"""CachedAnswer and Record: exact JSON round trips, and strict rejection of anything else."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from typing import Any

import pytest

from magray_lsp.cache import CachedAnswer, Record


def answer(**changes: Any) -> CachedAnswer:
    base: dict[str, Any] = {
        "text": "Returns x + 1. 🎉",
        "provider": "openai",
        "model": "gpt-4o-mini",
        "input_tokens": 120,
        "output_tokens": 40,
        "cached_input_tokens": 64,
        "cost_usd": Decimal("0.000123456789"),
        "finish_reason": "stop",
        "created_at": 1_700_000_000.25,
    }
    return CachedAnswer(**{**base, **changes})


def test_round_trip_is_exact() -> None:
    a = answer()
    back = CachedAnswer.from_json(a.to_json())
    assert back == a
    assert back is not None and back.cost_usd == Decimal("0.000123456789")
    assert CachedAnswer.from_json(a.to_json().encode()) == a
    nulls = answer(cost_usd=None, finish_reason=None)
    assert CachedAnswer.from_json(nulls.to_json()) == nulls


def test_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        answer().text = "x"  # type: ignore[misc]


def _mutated(**changes: Any) -> str:
    data = answer().to_dict()
    for k, v in changes.items():
        if v is _DROP:
            data.pop(k)
        else:
            data[k] = v
    return json.dumps(data)


_DROP = object()


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "not json",
        "[1, 2]",
        "null",
        b"\xff\xfe\x00garbage",
        "[" * 100_000 + "]" * 100_000,
        _mutated(text=_DROP),
        _mutated(text=5),
        _mutated(provider=None),
        _mutated(input_tokens=-1),
        _mutated(output_tokens=True),
        _mutated(cached_input_tokens=1.5),
        _mutated(cost_usd=0.1),
        _mutated(cost_usd="NaN"),
        _mutated(cost_usd="-1"),
        _mutated(cost_usd="1e999999999"),
        _mutated(cost_usd="lots"),
        _mutated(finish_reason=3),
        _mutated(created_at="yesterday"),
        _mutated(created_at=_DROP),
    ],
)
def test_malformed_json_is_none(raw: str | bytes) -> None:
    assert CachedAnswer.from_json(raw) is None


def test_unknown_fields_are_ignored() -> None:
    data = answer().to_dict() | {"future_field": 1}
    assert CachedAnswer.from_json(json.dumps(data)) == answer()


def test_record_round_trip_and_remaining() -> None:
    rec = Record(answer(), expires_at=1000.0)
    back = Record.from_json(rec.to_json())
    assert back == rec
    assert back is not None and back.remaining(990.0) == 10.0
    forever = Record(answer(), expires_at=None)
    assert Record.from_json(forever.to_json()) == forever
    assert forever.remaining(1e12) is None


@pytest.mark.parametrize(
    "raw",
    [
        None,
        42,
        {"v": 1},
        "{}",
        '{"v": 2, "expires_at": null, "answer": {}}',
        json.dumps({"v": 1, "expires_at": "soon", "answer": answer().to_dict()}),
        json.dumps({"v": 1, "expires_at": None, "answer": {"text": "x"}}),
    ],
)
def test_malformed_record_is_none(raw: object) -> None:
    assert Record.from_json(raw) is None
