"""Redaction: secrets and personal data become stable placeholders before a remote call.

A ``Redaction`` lives for one request. ``redact(text)`` replaces every detected value with a
placeholder such as ``<API_KEY_1>`` or ``<EMAIL_2>`` — the same value always gets the same
placeholder within the request, so the model can still reason about "the same key used twice" —
and ``restore(text)`` puts the values back into the answer. ``StreamRestorer`` does the same for
an answer arriving in chunks, holding back a chunk's tail that may be the start of a placeholder.
``unresolved(text)`` names the placeholders an answer holds that this request cannot restore
(a model inventing ``<EMAIL_9>``): such an answer must not be used as code.

The detectors are a table of regular expressions (provider key formats, PEM private keys, JWTs,
passwords in URLs and connection strings, high-entropy values assigned to secret-ish names, and
PII: e-mail addresses, phone numbers, IP addresses, Luhn-valid card numbers), in the spirit of
Yelp's detect-secrets. Over-redaction is the safe direction: a false positive only hides a value
from the model, and it is restored in the answer.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from magray_lsp.errors import PrivacyViolation


class RedactionFailed(PrivacyViolation):
    """Redaction raised; the request was not sent (redaction fails closed)."""


@dataclass(frozen=True, slots=True)
class Detector:
    """One kind of secret or personal data.

    ``group`` is the regex group holding the value to hide (0: the whole match); ``valid`` may
    reject a match (a Luhn check, an entropy threshold, a loopback address ...).
    """

    name: str
    label: str  # placeholder label: API_KEY, PRIVATE_KEY, JWT, PASSWORD, SECRET, EMAIL, ...
    pattern: re.Pattern[str]
    group: int | str = 0
    valid: Callable[[str], bool] | None = None
    #: lower-case substrings of which one must occur for the pattern to be worth running
    hint: tuple[str, ...] = ()
    #: when set, the match's ``n`` group (the name a value is assigned to) must match it
    names: re.Pattern[str] | None = None


# -- validators ------------------------------------------------------------------------------


def shannon_entropy(value: str) -> float:
    """Bits per character."""
    if not value:
        return 0.0
    counts = Counter(value)
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


_HEX = re.compile(r"^[0-9a-fA-F]+$")
_BASE64ISH = re.compile(r"^[A-Za-z0-9+/=_\-.~]+$")
# Values that name a secret rather than being one: ${ENV}, <placeholder>, {{template}}, ****.
_REFERENCE = re.compile(
    r"^(?:\$\{?[A-Za-z_][\w]*\}?|<[^>]*>|\{\{.*\}\}|\*+|x+|X+|\.\.\.|None|null)$"
)

#: detect-secrets' defaults: base64-like strings above 4.5 bits/char, hex above 3.0.
BASE64_ENTROPY = 4.5
HEX_ENTROPY = 3.0


def high_entropy(value: str, *, min_length: int = 16) -> bool:
    if len(value) < min_length or _REFERENCE.match(value):
        return False
    if _HEX.match(value):
        return shannon_entropy(value) > HEX_ENTROPY
    if _BASE64ISH.match(value):
        return shannon_entropy(value) > BASE64_ENTROPY - (0.5 if len(value) >= 32 else 0.0)
    return False


def _not_reference(value: str) -> bool:
    return len(value) >= 4 and not _REFERENCE.match(value)


def luhn_ok(value: str) -> bool:
    digits = [int(c) for c in value if c.isdigit()]
    if not 13 <= len(digits) <= 19 or len(set(digits)) < 2:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _public_ipv4(value: str) -> bool:
    try:
        address = ipaddress.IPv4Address(value)
    except ValueError:
        return False
    return not (address.is_loopback or address.is_unspecified or value.startswith("255."))


def _ipv6(value: str) -> bool:
    if sum(1 for part in value.split(":") if part) < 3:
        return False  # `a::b`, `[::2]` slices and C++ scopes are not addresses worth hiding
    try:
        address = ipaddress.IPv6Address(value)
    except ValueError:
        return False
    return not (address.is_loopback or address.is_unspecified)


# -- the table -------------------------------------------------------------------------------

_B = r"(?<![A-Za-z0-9_\-])"  # start boundary: not inside a longer token
_E = r"(?![A-Za-z0-9_\-])"
_SECRET_NAMES = (
    r"(?:pass(?:word|wd|phrase)?|pwd|secret|token|api[_\-]?key|apikey|access[_\-]?key|"
    r"private[_\-]?key|client[_\-]?secret|auth(?:orization)?|credentials?|session[_\-]?key|"
    r"signing[_\-]?key|encryption[_\-]?key|bearer)"
)
_PASSWORD_NAMES = r"(?:pass(?:word|wd|phrase)?|pwd)"


def _rx(pattern: str, flags: int = 0) -> re.Pattern[str]:
    return re.compile(pattern, flags)


DETECTORS: tuple[Detector, ...] = (
    Detector(
        "pem-private-key",
        "PRIVATE_KEY",
        _rx(
            r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
            r"(?:[\s\S]*?-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|[A-Za-z0-9+/=\s\\\"',n]*)"
        ),
        hint=("private key",),
    ),
    Detector(
        "anthropic-key", "API_KEY", _rx(_B + r"sk-ant-[A-Za-z0-9_\-]{16,}" + _E), hint=("sk-ant-",)
    ),
    Detector(
        "openai-key",
        "API_KEY",
        _rx(_B + r"sk-(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_\-]{16,}" + _E),
        hint=("sk-",),
    ),
    Detector(
        "stripe-key",
        "API_KEY",
        _rx(_B + r"(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}" + _E),
        hint=("_live_", "_test_"),
    ),
    Detector("google-api-key", "API_KEY", _rx(_B + r"AIza[0-9A-Za-z_\-]{35}" + _E), hint=("aiza",)),
    Detector("huggingface-token", "API_KEY", _rx(_B + r"hf_[A-Za-z0-9]{30,}" + _E), hint=("hf_",)),
    Detector(
        "github-token",
        "API_KEY",
        _rx(_B + r"(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_\w{22,})" + _E),
        hint=("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    ),
    Detector(
        "gitlab-token", "API_KEY", _rx(_B + r"glpat-[A-Za-z0-9_\-]{20,}" + _E), hint=("glpat-",)
    ),
    Detector(
        "slack-token", "API_KEY", _rx(_B + r"xox[abposr]-[A-Za-z0-9\-]{10,}" + _E), hint=("xox",)
    ),
    Detector(
        "slack-webhook",
        "SECRET",
        _rx(r"https://hooks\.slack\.com/services/[A-Za-z0-9_/]+"),
        hint=("hooks.slack.com",),
    ),
    Detector(
        "aws-access-key-id",
        "API_KEY",
        _rx(r"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}(?![A-Z0-9])"),
        hint=("akia", "asia", "abia", "acca"),
    ),
    Detector(
        "aws-secret-access-key",
        "SECRET",
        _rx(
            r"(?i:aws[\w\-. ]{0,24}?(?:secret|key)[\w\-. ]{0,24}?)[\"']?\s*[:=]\s*[\"']?"
            r"(?P<v>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"
        ),
        group="v",
        hint=("aws",),
    ),
    Detector(
        "jwt",
        "JWT",
        _rx(_B + r"eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}" + _E),
        hint=("eyj",),
    ),
    Detector(
        "url-password",
        "PASSWORD",
        _rx(r"\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s:/@\"'<>]+:(?P<v>[^\s@/\"'<>]+)@"),
        group="v",
        valid=lambda v: not _REFERENCE.match(v),
        hint=("://",),
    ),
    Detector(
        "connection-string-password",
        "PASSWORD",
        _rx(
            r"(?im)(?:^|[;\"'&?])\s*"
            + _PASSWORD_NAMES
            + r"\s*=\s*(?P<v>[^;\"'&\s]+)(?=[;\"'&\s]|$)"
        ),
        group="v",
        valid=_not_reference,
        hint=("pass", "pwd"),
    ),
    Detector(
        "password-assignment",
        "PASSWORD",
        _rx(
            r"(?<![\w.\-])(?P<n>[\w.\-]+)[\"']?\s*(?::=|[:=]|==|!=)\s*"
            r"(?P<q>[\"'`])(?P<v>[^\"'`\n]{4,200})(?P=q)"
        ),
        group="v",
        valid=_not_reference,
        names=_rx("(?i)" + _PASSWORD_NAMES),
        hint=("pass", "pwd"),
    ),
    Detector(
        "secret-assignment",
        "SECRET",
        _rx(
            r"(?<![\w.\-])(?P<n>[\w.\-]+)[\"']?\s*(?::=|[:=]|==)\s*"
            r"(?P<q>[\"'`]?)(?P<v>[A-Za-z0-9+/=_\-.~:]{16,512})(?P=q)(?![A-Za-z0-9+/=_\-.~])"
        ),
        group="v",
        names=_rx("(?i)" + _SECRET_NAMES),
        valid=high_entropy,
        hint=("pass", "pwd", "secret", "token", "key", "auth", "credential", "bearer"),
    ),
    Detector(
        "bearer-token",
        "SECRET",
        _rx(r"(?i)\bbearer\s+(?P<v>[A-Za-z0-9+/=_\-.~]{16,})"),
        group="v",
        valid=high_entropy,
        hint=("bearer",),
    ),
    Detector(
        "email",
        "EMAIL",
        _rx(
            r"(?<![\w.+\-])[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,24}\b"
        ),
        hint=("@",),
    ),
    Detector(
        "card-number",
        "CARD",
        _rx(r"(?<![\d\-])[2-6]\d{3}(?:[ \-]?\d{2,4}){2,4}(?:[ \-]?\d{1,4})?(?![\d\-])"),
        valid=luhn_ok,
    ),
    Detector(
        "phone",
        "PHONE",
        _rx(
            r"(?<![\w+\-.])(?:\+\d{1,3}[\s.\-]?\(?\d{1,4}\)?(?:[\s.\-]?\d{2,4}){2,4}"
            r"|\(\d{3}\)\s?\d{3}[\s.\-]\d{4}|\d{3}[\-.]\d{3}[\-.]\d{4})(?![\w\-.])"
        ),
        valid=lambda v: 9 <= sum(c.isdigit() for c in v) <= 15,
    ),
    Detector(
        "ipv4",
        "IP",
        _rx(
            r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\w.])"
        ),
        valid=_public_ipv4,
        hint=(".",),
    ),
    Detector(
        "ipv6",
        "IP",
        _rx(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])"),
        valid=_ipv6,
        hint=(":",),
    ),
)

#: what a placeholder looks like (also used to spot one split across stream chunks)
PLACEHOLDER = re.compile(r"<([A-Z]+(?:_[A-Z]+)*)_(\d+)>")
_MAX_PLACEHOLDER = 24


@dataclass(frozen=True, slots=True)
class Finding:
    start: int
    end: int
    detector: Detector


def find(text: str, detectors: Iterable[Detector] = DETECTORS) -> list[Finding]:
    """Non-overlapping findings in text order; on overlap the earlier detector in the table wins
    (a specific key format beats the generic e-mail or entropy rule)."""
    taken: list[Finding] = []
    lowered = text.lower()
    for detector in detectors:
        if detector.hint and not any(h in lowered for h in detector.hint):
            continue
        for match in detector.pattern.finditer(text):
            start, end = match.span(detector.group)
            if start < 0 or start == end:
                continue
            value = text[start:end]
            if detector.names is not None and not detector.names.search(match.group("n")):
                continue
            if detector.valid is not None and not detector.valid(value):
                continue
            if any(start < f.end and f.start < end for f in taken):
                continue
            taken.append(Finding(start, end, detector))
    taken.sort(key=lambda f: f.start)
    return taken


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
