"""Content safety: score a request before it is sent; above the threshold nothing goes out.

The check is pluggable. ``[safety] checker = "builtin"`` is the rule-based scorer below; any other
name is looked up among the ``magray_lsp.safety_checkers`` entry points of installed packages
(or registered in-process with ``register_checker``) — never imported from a path named in a
workspace file, so a cloned repository's ``.magray.toml`` cannot make the server run its code.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import entry_points
from typing import Protocol

from magray_lsp.errors import ConfigError, ContentFiltered

ENTRY_POINT_GROUP = "magray_lsp.safety_checkers"


class UnsafeContent(ContentFiltered):
    """The request was judged unsafe before sending; no provider saw it."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """``score`` in [0, 1]; ``reasons`` name the rules that fired (never the matched text)."""

    score: float
    reasons: tuple[str, ...] = ()


class SafetyChecker(Protocol):
    def check(self, texts: Sequence[str]) -> Verdict: ...


@dataclass(frozen=True, slots=True)
class Rule:
    reason: str
    weight: float
    pattern: re.Pattern[str]
    #: Lowercase words the pattern cannot match without: one of each group. A text that lacks a
    #: group is not searched, which spares the regex a scan of every position (milliseconds for
    #: a prompt with a few thousand tokens of code). () searches every text.
    needs: tuple[tuple[str, ...], ...] = ()

    def matches(self, text: str, lowered: str | None, seen: dict[str, bool] | None = None) -> bool:
        """The pattern occurs in ``text``; ``lowered`` is `lowered(text)`. ``seen``: whether
        each word looked for so far is in ``lowered`` (filled here), so that rules checked
        against one text look for each word once."""
        if lowered is not None:
            seen = {} if seen is None else seen
            for group in self.needs:  # plain loops: this runs for every rule and text
                for word in group:
                    found = seen.get(word)
                    if found is None:
                        found = seen[word] = word in lowered
                    if found:
                        break
                else:
                    return False
        return self.pattern.search(text) is not None


#: The non-ASCII letters that case-blind matching takes for an ASCII letter although `str.lower`
#: does not make them one (İ and ı for i, ſ for s; the Kelvin sign lowers to k). A test checks
#: every code point.
LOOKALIKES = ("\u0130", "\u0131", "\u017f")


def lowered(text: str) -> str | None:
    """``text.lower()``, in which each pattern's literal words occur if the pattern can match
    ``text``; None when a look-alike letter makes that unsure (then every rule searches)."""
    if text.isascii() or not any(letter in text for letter in LOOKALIKES):
        return text.lower()
    return None


def _rule(reason: str, weight: float, pattern: str, *needs: str) -> Rule:
    """``needs``: each group's words joined by ``|``."""
    groups = tuple(tuple(group.split("|")) for group in needs)
    return Rule(reason, weight, re.compile(pattern, re.IGNORECASE | re.DOTALL), groups)


_MAKE = r"\b(?:write|create|build|make|generate|implement|code|develop|turn (?:this|it) into)\b"
_MALWARE = (
    r"(?:key ?logger|ransomware|(?:credential|password|info|cookie|token)[- ]?stealer|botnet|"
    r"rootkit|crypto ?jacker|remote access trojan|trojan|self[- ]replicating|computer virus|"
    r"\bworm\b|reverse shell backdoor|backdoor)"
)

#: The built-in rules: requests for malware or credential theft, and prompt-injection phrasing.
#: Weights combine as independent evidence: 1 - Π(1 - w). After each pattern, its ``needs``: the
#: literal words of its alternations, rarest group first (a test checks them against the pattern).
BUILTIN_RULES: tuple[Rule, ...] = (
    _rule(
        "malware request",
        0.9,
        _MAKE + r".{0,60}?" + _MALWARE,
        "keylogger|key logger|ransomware|stealer|botnet|rootkit|jacker|trojan|replicating|virus|"
        "worm|backdoor",
    ),
    _rule(
        "credential theft",
        0.9,
        r"\b(?:steal|exfiltrate|harvest|siphon)\w*\b.{0,50}?\b(?:credentials?|passwords?|"
        r"cookies|session tokens?|api keys?|private keys?|wallets?|seed phrases?)",
        "steal|exfiltrate|harvest|siphon",
        "credential|password|cookies|session token|api key|private key|wallet|seed phrase",
    ),
    _rule(
        "covert exfiltration",
        0.6,
        r"\b(?:send|upload|post|forward)\b.{0,40}?\b(?:passwords?|credentials?|keystrokes|"
        r"private keys?)\b.{0,40}?\b(?:my|a remote|attacker'?s?|external) (?:server|host|webhook)",
        "password|credential|keystrokes|private key",
        "server|host|webhook",
        "send|upload|post|forward",
    ),
    _rule(
        "security evasion",
        0.8,
        r"\b(?:evade|bypass|disable|avoid)\b.{0,30}?\b(?:antivirus|anti-virus|edr|"
        r"windows defender|amsi|av detection|malware detection)",
        "antivirus|anti-virus|edr|windows defender|amsi|av detection|malware detection",
        "evade|bypass|disable|avoid",
    ),
    _rule(
        "prompt injection",
        0.9,
        r"\b(?:ignore|disregard|forget)\b (?:all |any |the )?(?:previous|prior|above|earlier|"
        r"preceding|system) (?:instructions|prompts?|rules|messages)",
        "ignore|disregard|forget",
        "previous|prior|above|earlier|preceding|system",
        "instructions|prompt|rules|messages",
    ),
    _rule(
        "system prompt extraction",
        0.6,
        r"\b(?:reveal|print|show|repeat|output|leak)\b (?:me )?(?:your|the) (?:system prompt|"
        r"hidden instructions|initial instructions)",
        "system prompt|hidden instructions|initial instructions",
        "reveal|print|show|repeat|output|leak",
    ),
    _rule(
        "jailbreak persona",
        0.7,
        r"\byou are now (?:dan|in developer mode|jailbroken)\b",
        "you are now",
    ),
)


#: how many texts a checker remembers the matching rules of (the oldest scanned goes first)
MATCHES_MEMO_SIZE = 64


class RuleBasedChecker:
    """Scores text by the rules that match anywhere in it.

    Which rules match a text is remembered for the last texts it scanned (the prompts stay in
    memory anyway, as the redaction's memo holds them too): every request sends the same system
    prompt, and a retry, a fallback or a repeated action the same prompt. A new text gets one
    pass in which each word the rules need is looked for at most once."""

    def __init__(self, rules: Sequence[Rule] = BUILTIN_RULES) -> None:
        self.rules = tuple(rules)
        self._matching: dict[str, tuple[int, ...]] = {}  # text → indices of the rules it matches

    def check(self, texts: Sequence[str]) -> Verdict:
        fired: set[int] = set()
        for text in texts:
            found = self._matching.get(text)
            if found is None:
                found = self._matching[text] = self._rules_matching(text)
                if len(self._matching) > MATCHES_MEMO_SIZE:
                    self._matching.pop(next(iter(self._matching)), None)
            fired.update(found)
        if not fired:
            return Verdict(0.0)
        rules = [self.rules[index] for index in sorted(fired)]  # in the rules' order
        remaining = 1.0
        for rule in rules:
            remaining *= 1.0 - rule.weight
        return Verdict(round(1.0 - remaining, 6), tuple(rule.reason for rule in rules))

    def _rules_matching(self, text: str) -> tuple[int, ...]:
        low = lowered(text)
        seen: dict[str, bool] = {}  # the rules' words, each looked for once
        return tuple(i for i, rule in enumerate(self.rules) if rule.matches(text, low, seen))


class _AllowAll:
    def check(self, texts: Sequence[str]) -> Verdict:
        return Verdict(0.0)


CheckerFactory = Callable[[], SafetyChecker]
_REGISTERED: dict[str, CheckerFactory] = {
    "builtin": RuleBasedChecker,
    "none": _AllowAll,
}


def register_checker(name: str, factory: CheckerFactory) -> None:
    """Make ``[safety] checker = name`` use ``factory()`` (plugins, tests)."""
    _REGISTERED[name] = factory
    load_checker.cache_clear()


@lru_cache(maxsize=16)
def load_checker(name: str) -> SafetyChecker:
    factory = _REGISTERED.get(name)
    if factory is None:
        found = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
        if not found:
            known = ", ".join(sorted(_REGISTERED))
            raise ConfigError(
                f"safety.checker: unknown checker {name!r}; use one of {known} or install a "
                f"package with a {ENTRY_POINT_GROUP!r} entry point of that name"
            )
        factory = found[0].load()
    return factory()


def check_request(texts: Sequence[str], *, checker: str, threshold: float) -> Verdict:
    """Raise ``UnsafeContent`` when the score reaches ``threshold``; else return the verdict."""
    verdict = load_checker(checker).check(texts)
    if verdict.score >= threshold:
        why = ", ".join(verdict.reasons) or "flagged by the checker"
        raise UnsafeContent(
            f"the request was not sent: it looks unsafe ({why}; score {verdict.score:.2f} ≥ "
            f"threshold {threshold:.2f}). Rephrase it, or adjust [safety] in .magray.toml.",
            provider="safety",
        )
    return verdict
