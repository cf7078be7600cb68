"""The detectors redaction uses: what counts as a secret or personal data in a prompt.

A table of regular expressions (provider key formats, PEM private keys, JWTs, passwords in URLs
and connection strings, high-entropy values assigned to secret-ish names, and PII: e-mail
addresses, phone numbers, IP addresses, Luhn-valid card numbers), in the spirit of Yelp's
detect-secrets, each with an optional check of the value it matched (entropy, Luhn, a public
address). `find` returns the non-overlapping findings of a text. Over-redaction is the safe
direction: a false positive only hides a value from the model (`redact.py` restores it).
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass


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
