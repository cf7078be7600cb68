"""Cache keys: stable, canonical, and sensitive to every part an answer depends on."""

from __future__ import annotations

import datetime
import hashlib
import math
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from magray_lsp.cache import KeyMaker, cache_key, canonical_json
from magray_lsp.cache.keys import KEY_FORMAT_VERSION

BASE: dict[str, Any] = {
    "action": "explain",
    "template_version": "explain@3",
    "target_key": "def f ( x ) : return x + 1",
    "context_hash": "ab" * 32,
    "params": {"max_tokens": 512, "temperature": 0.2},
    "policy": "openai/gpt-4o-mini",
}


def key(**changes: Any) -> str:
    return cache_key(**{**BASE, **changes})


def test_key_is_sha256_hex_and_stable() -> None:
    k = key()
    assert len(k) == 64 and all(c in "0123456789abcdef" for c in k)
    assert key() == k
    # Pinned: a change here silently invalidates every user's cache; bump KEY_FORMAT_VERSION.
    assert k == "f244c49ffabe109d5ebbc7c7d1cb94f379b71a5d933b5da7f73f341e36f7d815"


def test_the_key_hashes_the_canonical_json_of_every_part() -> None:
    """The key serializes its parts in one pass; it equals the sha256 of `canonical_json` of
    them all (which canonicalizes again), for nested and unusual parameter values too."""
    params = {
        "providers": {"openai": {"temperature": Decimal("0.50"), "stop": ("a", "b")}, "x": {}},
        "max_output_tokens": 700.0,
        "when": datetime.date(2026, 1, 2),
        "unset": None,
    }
    parts = {**BASE, "params": params}
    payload = {**parts, "v": KEY_FORMAT_VERSION, "params": {"providers": params["providers"]}}
    payload["params"] |= {"max_output_tokens": 700, "when": "2026-01-02"}
    expected = hashlib.sha256(canonical_json(payload).encode()).hexdigest()
    assert cache_key(**parts) == expected


@pytest.mark.parametrize(
    "part, value",
    [
        ("action", "document"),
        ("template_version", "explain@4"),
        ("target_key", "def f ( x ) : return x + 2"),
        ("context_hash", "cd" * 32),
        ("params", {"max_tokens": 256, "temperature": 0.2}),
        ("params", {"max_tokens": 512, "temperature": 0.3}),
        ("params", {"max_tokens": 512, "temperature": 0.2, "seed": 7}),
        ("policy", "anthropic/claude-3-5-haiku-latest"),
    ],
)
def test_every_part_changes_the_key(part: str, value: Any) -> None:
    assert key(**{part: value}) != key()


def test_params_are_canonical() -> None:
    reordered = {"temperature": 0.2, "max_tokens": 512}
    assert key(params=reordered) == key()
    assert key(params={"max_tokens": 512.0, "temperature": 0.2}) == key()
    assert key(params={"max_tokens": 512, "temperature": Decimal("0.2")}) == key()
    assert key(params={**BASE["params"], "top_p": None}) == key()  # None means "unset"
    assert key(params={"a": -0.0}) == key(params={"a": 0})
    assert key(params={"stop": ("x", "y")}) == key(params={"stop": ["x", "y"]})
    assert key(params={"o": {"b": 1, "a": 2}}) == key(params={"o": {"a": 2, "b": 1}})
    assert key(params={"stop": ["x", "y"]}) != key(params={"stop": ["y", "x"]})
    assert key(params={"n": 1}) != key(params={"n": "1"})
    assert key(params={"flag": True}) != key(params={"flag": 1})


def test_parts_cannot_bleed_into_each_other() -> None:
    assert key(action="ab", template_version="c") != key(action="a", template_version="bc")


def test_canonical_json_form() -> None:
    assert canonical_json({"b": [1.0, 0.5, "é"], "a": None}) == '{"a":null,"b":[1,0.5,"é"]}'
    assert canonical_json(0.1 + 0.2) == "0.30000000000000004"


@pytest.mark.parametrize("bad", [math.nan, math.inf, Decimal("NaN")])
def test_non_finite_numbers_are_rejected(bad: Any) -> None:
    with pytest.raises(ValueError):
        key(params={"temperature": bad})


def test_unsupported_values_are_rejected() -> None:
    with pytest.raises(TypeError):
        key(params={"x": object()})
    with pytest.raises(TypeError):
        key(params={1: "x"})
    with pytest.raises(TypeError):
        key(policy=None)


# -- KeyMaker: the shared parameters made canonical once ---------------------------------------

_names = st.text(min_size=0, max_size=6)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.decimals(allow_nan=False, allow_infinity=False, places=3)
    | st.text(max_size=8)
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.tuples(inner, inner)
        | st.dictionaries(_names, inner, max_size=3)
    ),
    max_leaves=8,
)
_params = st.dictionaries(_names, _values, max_size=4)


@given(
    shared=_params,
    own=_params,
    action=st.text(max_size=10),
    template_version=st.text(max_size=10),
    target_key=st.text(max_size=20),
    context_hash=st.text(max_size=10),
    policy=st.text(max_size=10),
)
def test_key_maker_makes_the_key_by_its_definition(
    shared: dict[str, Any],
    own: dict[str, Any],
    action: str,
    template_version: str,
    target_key: str,
    context_hash: str,
    policy: str,
) -> None:
    own = {name: value for name, value in own.items() if name not in shared}
    parts = {
        "action": action,
        "template_version": template_version,
        "target_key": target_key,
        "context_hash": context_hash,
        "policy": policy,
    }
    made = KeyMaker(shared).key(**parts, params=own)
    # by definition: the sha256 of the canonical JSON of every part (`canonical_json` drops
    # nothing, so the unset parameters are left out here)
    every = {name: value for name, value in {**shared, **own}.items() if value is not None}
    payload = {**parts, "params": every, "v": KEY_FORMAT_VERSION}
    assert made == hashlib.sha256(canonical_json(payload).encode()).hexdigest()
    assert made == cache_key(**parts, params={**shared, **own})


def test_key_maker_keeps_the_pinned_key_and_refuses_what_cache_key_refuses() -> None:
    maker = KeyMaker({"temperature": 0.2, "top_p": None})
    parts = {k: v for k, v in BASE.items() if k != "params"}
    assert maker.key(**parts, params={"max_tokens": 512}) == key()
    with pytest.raises(ValueError, match="shared already"):
        maker.key(**parts, params={"temperature": 0.3})
    with pytest.raises(ValueError):
        maker.key(**parts, params={"x": math.inf})
    with pytest.raises(TypeError):
        maker.key(**{**parts, "policy": None}, params={})
    with pytest.raises(TypeError):
        KeyMaker({"x": object()})
