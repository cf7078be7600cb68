"""Redaction: secrets and personal data become stable placeholders before a remote call.

A ``Redaction`` lives for one request. ``redact(text)`` replaces every detected value with a
placeholder such as ``<API_KEY_1>`` or ``<EMAIL_2>`` — the same value always gets the same
placeholder within the request, so the model can still reason about "the same key used twice" —
and ``restore(text)`` puts the values back into the answer. ``StreamRestorer`` does the same for
an answer arriving in chunks, holding back a chunk's tail that may be the start of a placeholder.
``unresolved(text)`` names the placeholders an answer holds that this request cannot restore
(a model inventing ``<EMAIL_9>``): such an answer must not be used as code.

What counts as a secret or personal data is the detector table in `detectors.py`.
Over-redaction is the safe direction: a false positive only hides a value from the model, and it
is restored in the answer.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from magray_lsp.errors import PrivacyViolation
from magray_lsp.privacy.detectors import DETECTORS, Detector, find


class RedactionFailed(PrivacyViolation):
    """Redaction raised; the request was not sent (redaction fails closed)."""


#: what a placeholder looks like (also used to spot one split across stream chunks)
PLACEHOLDER = re.compile(r"<([A-Z]+(?:_[A-Z]+)*)_(\d+)>")
_MAX_PLACEHOLDER = 24


@dataclass
class Redaction:
    """The placeholders of one request: value ↔ placeholder, both ways."""

    detectors: tuple[Detector, ...] = DETECTORS
    by_value: dict[str, str] = field(default_factory=dict)
    by_placeholder: dict[str, str] = field(default_factory=dict)
    _counts: Counter[str] = field(default_factory=Counter)
    #: text seen by `redact`: a placeholder that already occurs there is never issued
    _seen: list[str] = field(default_factory=list)

    def redact(self, text: str) -> str:
        self._seen.append(text)
        out: list[str] = []
        pos = 0
        for finding in find(text, self.detectors):
            out.append(text[pos : finding.start])
            out.append(self._placeholder(text[finding.start : finding.end], finding.detector))
            pos = finding.end
        out.append(text[pos:])
        # a value found once is hidden everywhere, also where no detector would spot it
        return self.seal("".join(out))

    def redact_all(self, texts: list[str]) -> list[str]:
        """Redact several texts of one request: a value found in a later text is hidden in the
        earlier ones too."""
        redacted = [self.redact(t) for t in texts]
        return [self.seal(t) for t in redacted]

    def seal(self, text: str) -> str:
        """Replace only the values this request already knows (for text that comes back, e.g.
        an answer about to be cached): longest first, so no value hides inside another; the
        placeholders already in ``text`` are left as they are."""
        values = [v for v in sorted(self.by_value, key=len, reverse=True) if v in text]
        if not values:
            return text
        parts = PLACEHOLDER.split(text)
        # split() interleaves the two groups of each placeholder; rebuild around them
        out: list[str] = []
        for match, plain in zip([None, *PLACEHOLDER.finditer(text)], parts[::3], strict=True):
            if match is not None:
                out.append(match.group(0))
            for value in values:
                plain = plain.replace(value, self.by_value[value])
            out.append(plain)
        return "".join(out)

    def restore(self, text: str) -> str:
        """``text`` with this request's placeholders replaced by their values; any other
        placeholder stays as it is (see ``unresolved``)."""
        if not self.by_placeholder or "<" not in text:
            return text
        return PLACEHOLDER.sub(lambda m: self.by_placeholder.get(m.group(0), m.group(0)), text)

    def unresolved(self, text: str) -> list[str]:
        """The placeholders in ``text`` (once each, in order) that this request did not issue and
        that are not the user's own text either (a ``<USER_1>`` in a template the request
        redacted): ``restore`` leaves them in place, as literal text no one wrote."""
        if "<" not in text:
            return []
        found = dict.fromkeys(m.group(0) for m in PLACEHOLDER.finditer(text))
        return [
            p
            for p in found
            if p not in self.by_placeholder and not any(p in seen for seen in self._seen)
        ]

    def streamer(self) -> StreamRestorer:
        return StreamRestorer(self)

    @property
    def count(self) -> int:
        return len(self.by_value)

    def kinds(self) -> dict[str, int]:
        """How many values of each label were hidden (for status and tests; never the values)."""
        return dict(Counter(p[1:].rsplit("_", 1)[0] for p in self.by_placeholder))

    def _placeholder(self, value: str, detector: Detector) -> str:
        existing = self.by_value.get(value)
        if existing is not None:
            return existing
        while True:
            self._counts[detector.label] += 1
            placeholder = f"<{detector.label}_{self._counts[detector.label]}>"
            if not any(placeholder in seen for seen in self._seen):
                break
        self.by_value[value] = placeholder
        self.by_placeholder[placeholder] = value
        return placeholder


class StreamRestorer:
    """Restores placeholders in a stream of chunks; a placeholder may be split across chunks."""

    def __init__(self, redaction: Redaction) -> None:
        self._redaction = redaction
        self._held = ""

    def feed(self, chunk: str) -> str:
        text = self._held + chunk
        self._held = ""
        cut = text.rfind("<")
        if cut != -1 and self._redaction.by_placeholder:
            tail = text[cut:]
            if len(tail) < _MAX_PLACEHOLDER and _could_be_placeholder(tail):
                text, self._held = text[:cut], tail
        return self._redaction.restore(text)

    def flush(self) -> str:
        text, self._held = self._held, ""
        return self._redaction.restore(text)


_PARTIAL = re.compile(r"<(?:[A-Z]+(?:_[A-Z]*)*(?:_\d*)?)?")


def _could_be_placeholder(tail: str) -> bool:
    """True when ``tail`` (starting at "<", with no ">" yet) may grow into a placeholder."""
    return ">" not in tail and _PARTIAL.fullmatch(tail) is not None
