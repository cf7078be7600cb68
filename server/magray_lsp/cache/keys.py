"""Cache keys: one sha256 over a canonical JSON of everything an answer depends on.

Two requests get the same key exactly when they would get the same answer from the same model:
the same action and prompt template, the same target code (normalized, so reformatting does not
miss; its comments count when the answer becomes an edit), the same surrounding context, the
same generation parameters and the same model pin or routing policy. Bumping a prompt
template's version therefore invalidates all of its entries.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

#: Bumped when the canonical form below, or the meaning of a part, changes, so old keys simply
#: stop matching. 2: edit actions' target keys keep comments, and cached answers seal their
#: placeholders with the prompt lines they stand in (``privacy.outbound.seal_answer``).
KEY_FORMAT_VERSION = 2


def cache_key(
    *,
    action: str,
    template_version: str,
    target_key: str,
    context_hash: str,
    params: Mapping[str, Any],
    policy: str,
) -> str:
    """The cache key (64 hex characters) of one answer.

    - ``action``: the code action, e.g. ``"explain"``, ``"document"``, ``"refactor"``, ``"hover"``.
    - ``template_version``: version of the prompt template the action rendered; changing the
      template must change this, which invalidates every answer produced by the old one.
    - ``target_key``: the normalized target code or a hash of it — syntax tokens without
      whitespace, so that reformatting still hits; without comments for a prose answer
      (explain, hover), with them for an answer that becomes an edit (which would otherwise
      drop a comment added since, see ``context.normalize``).
    - ``context_hash``: a hash of the rest of the prompt context (surrounding code, imports, repo
      map); it is an input here, never hashed again.
    - ``params``: generation parameters that change the answer: ``max_tokens``, ``temperature``,
      ``top_p``, ``stop`` and provider-specific ones. ``None`` values mean "unset" and are
      dropped; an integral float equals the int (``1.0`` == ``1``); key order does not matter.
    - ``policy``: the model pin (``"openai/gpt-4o-mini"``) or the routing policy that chose the
      model (e.g. ``"route:explain:v3"``), so answers from different models never mix.

    Raises ``TypeError`` for a parameter value that has no canonical JSON form and ``ValueError``
    for NaN or infinite numbers.
    """
    return _NOTHING_SHARED.key(
        action=action,
        template_version=template_version,
        target_key=target_key,
        context_hash=context_hash,
        params=params,
        policy=policy,
    )


class KeyMaker:
    """`cache_key` for many answers that share some of their parameters (a gateway's providers'
    defaults, fixed for its life): the shared part is made canonical once, not per key. Every
    key equals `cache_key` of the same parts, ``params`` holding the shared ones as well: the
    sha256 of the canonical JSON of ``{"v": KEY_FORMAT_VERSION, "action": …, "params": {…},
    …}``, written here part by part in sorted order (each part is canonical already)."""

    __slots__ = ("_shared",)

    def __init__(self, shared_params: Mapping[str, Any]) -> None:
        #: each shared parameter's canonical JSON text, by name
        self._shared = {
            name: _dumps(_canonical(value))
            for name, value in _str_keys(shared_params).items()
            if value is not None
        }

    def key(
        self,
        *,
        action: str,
        template_version: str,
        target_key: str,
        context_hash: str,
        params: Mapping[str, Any],
        policy: str,
    ) -> str:
        """As `cache_key`, with ``params`` added to the shared ones (no name in both)."""
        texts = self._shared
        if params:
            texts = dict(texts)
            for name, value in _str_keys(params).items():
                if name in texts:
                    raise ValueError(f"cache key parameter {name!r} is shared already")
                if value is not None:
                    texts[name] = _dumps(_canonical(value))
        # the canonical JSON of `cache_key`'s payload, its keys in sorted order
        params_text = ",".join(f"{_string(name)}:{texts[name]}" for name in sorted(texts))
        text = (
            f'{{"action":{_string(_require_str("action", action))},'
            f'"context_hash":{_string(_require_str("context_hash", context_hash))},'
            f'"params":{{{params_text}}},'
            f'"policy":{_string(_require_str("policy", policy))},'
            f'"target_key":{_string(_require_str("target_key", target_key))},'
            f'"template_version":{_string(_require_str("template_version", template_version))},'
            f'"v":{KEY_FORMAT_VERSION}}}'
        )
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no whitespace, canonical numbers, UTF-8 text kept as is."""
    return _dumps(_canonical(value))


#: `canonical_json` of a value that is its own canonical form (one encoder: `json.dumps` with
#: options builds a new one per call)
_dumps = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
).encode


#: a string's JSON, as `_dumps` writes it (without the encoder's checks of the value's type)
_string = json.encoder.encode_basestring


def _require_str(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"cache key part {name!r} must be a str, not {type(value).__name__}")
    return value


def _str_keys(mapping: Mapping[Any, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        if not isinstance(key, str):
            raise TypeError(f"cache key parameter names must be str, not {type(key).__name__}")
        out[key] = value
    return out


def _number(value: float | Decimal) -> int | float:
    if not math.isfinite(value):
        raise ValueError(f"cache key parameters cannot be {value}")
    # 1.0 and 1 (and Decimal("1.00")) ask for the same thing; -0.0 is 0.
    if value == int(value):
        return int(value)
    # json writes floats with repr(): the shortest text that round-trips, hence canonical.
    return float(value)


def _canonical(value: Any) -> Any:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float | Decimal):
        return _number(value)
    if isinstance(value, Mapping):
        return {k: _canonical(v) for k, v in _str_keys(value).items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, _dt.datetime | _dt.date | _dt.time):
        return value.isoformat()
    raise TypeError(f"cache key parameter of type {type(value).__name__} has no canonical form")


#: `cache_key`'s maker: every parameter is the answer's own
_NOTHING_SHARED = KeyMaker({})
