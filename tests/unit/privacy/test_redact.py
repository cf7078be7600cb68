"""Redaction: every kind of secret and PII is hidden, placeholders are stable, answers restored."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from magray_lsp.privacy.detectors import find, high_entropy, luhn_ok, shannon_entropy
from magray_lsp.privacy.redact import PLACEHOLDER, Redaction

# (kind, text around the value, the value that must disappear, placeholder label)
CASES: list[tuple[str, str, str, str]] = [
    ("openai key", 'OPENAI = "{}"', "sk-proj-Abc123Def456Ghi789Jkl012Mno345", "API_KEY"),
    ("openai legacy key", "key={}", "sk-9f8e7d6c5b4a39281706f5e4d3c2b1a0", "API_KEY"),
    ("anthropic key", 'k = "{}"', "sk-ant-api03-AAAAAAAAAAbbbbbbbbbbCCCCCC123", "API_KEY"),
    ("google key", "url?key={}&x=1", "AIzaSyD-1234567890abcdefghijklmnopqrstu", "API_KEY"),
    ("huggingface token", "HF_TOKEN={}", "hf_abcdefghijklmnopqrstuvwxyzABCDEFGH", "API_KEY"),
    ("github token", "token {}", "ghp_abcdefghijklmnopqrstuvwxyz0123456789", "API_KEY"),
    (
        "github fine-grained",
        "{}",
        "github_pat_11ABCDEFG0abcdefghijkl_mnopqrstuvwxyz012345",
        "API_KEY",
    ),
    ("gitlab token", "{}", "glpat-abcdefghij1234567890", "API_KEY"),
    ("slack token", "SLACK={}", "xoxb-1234567890-abcdefghij", "API_KEY"),
    ("stripe key", "stripe.api_key = '{}'", "sk_live_4eC39HqLyjWDarjtT1zdp7dc", "API_KEY"),
    ("aws access key id", 'AWS_ACCESS_KEY_ID = "{}"', "AKIAIOSFODNN7EXAMPLE", "API_KEY"),
    (
        "aws secret key",
        'aws_secret_access_key = "{}"',
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "SECRET",
    ),
    (
        "pem private key",
        "KEY = '''{}'''",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx4\nq8Zr3Lm==\n"
        "-----END RSA PRIVATE KEY-----",
        "PRIVATE_KEY",
    ),
    (
        "jwt",
        "Authorization: Bearer {}",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "JWT",
    ),
    (
        "password in url",
        "DB = 'postgres://admin:{}@db.example.com:5432/app'",
        "s3cr3tP4ss",
        "PASSWORD",
    ),
    ("connection string", "Server=db;User Id=sa;Password={};", "hunter2xx", "PASSWORD"),
    ("password literal", 'password = "{}"', "correct horse", "PASSWORD"),
    ("json password", '{{"db_password": "{}"}}', "Tr0ub4dor&3", "PASSWORD"),
    ("high-entropy token", 'SESSION_TOKEN = "{}"', "q8Zr3LmX9vT2pW7nK4sY1bH6", "SECRET"),
    ("hex secret", "client_secret: {}", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b", "SECRET"),
    ("bearer header", "Authorization: Bearer {}", "q8Zr3LmX9vT2pW7nK4sY1bH6dN0e", "SECRET"),
    ("email", "# maintainer: {} (ask first)", "jane.doe@example.org", "EMAIL"),
    ("phone international", "call {} now", "+1 415 555 2671", "PHONE"),
    ("phone us", "tel: {}", "(415) 555-2671", "PHONE"),
    ("ipv4", "HOST = '{}'", "203.0.113.42", "IP"),
    ("ipv6", "addr = '{}'", "2001:db8:85a3::8a2e:370:7334", "IP"),
    ("visa card", "card = '{}'", "4111 1111 1111 1111", "CARD"),
    ("mastercard", "card = '{}'", "5500-0000-0000-0004", "CARD"),
    ("amex", "card={}", "378282246310005", "CARD"),
]


@pytest.mark.parametrize(("kind", "template", "value", "label"), CASES, ids=[c[0] for c in CASES])
def test_every_kind_is_hidden_and_restored(
    kind: str, template: str, value: str, label: str
) -> None:
    text = template.format(value)
    redaction = Redaction()
    out = redaction.redact(text)
    assert value not in out, f"{kind} leaked: {out!r}"
    assert f"<{label}_1>" in out
    assert redaction.restore(out) == text
    # an answer that quotes the placeholder gets the value back
    assert redaction.restore(f"It uses <{label}_1>.") == f"It uses {value}."


NOT_SECRETS = [
    "def f(x):\n    return x[::2] + 1\n",
    "items = [1, 2, 3]; when = '2024-01-15'",
    "api_key = os.environ['OPENAI_API_KEY']",
    'api_key = "${OPENAI_API_KEY}"',
    'token = "aaaaaaaaaaaaaaaaaaaa"',  # long but no entropy
    'password = ""',
    "f(password=auth[1])",
    "std::vector<int> v; a::b::c();",
    "HOST = '127.0.0.1'; BIND = '0.0.0.0'; LOOP = '::1'",
    "timestamp_ms = 1700000000000",
    "card = 4111111111111112",  # fails the Luhn check
]


@pytest.mark.parametrize("text", NOT_SECRETS)
def test_ordinary_code_is_left_alone(text: str) -> None:
    redaction = Redaction()
    assert redaction.redact(text) == text and redaction.count == 0


def test_the_repository_samples_have_no_false_positives() -> None:
    for path in sorted((Path(__file__).parents[2] / "data").glob("sample.*")):
        assert find(path.read_text()) == [], path.name


def test_placeholders_are_stable_per_value_and_numbered_per_kind() -> None:
    key, other = "sk-proj-Abc123Def456Ghi789Jkl012Mno345", "sk-proj-Zyx987Wvu654Tsr321Qpo098Nml765"
    redaction = Redaction()
    system = redaction.redact(f"never print {key}")
    user = redaction.redact(f"a = '{key}'\nb = '{other}'\nmail = 'a.b@example.com'")
    assert system == "never print <API_KEY_1>"
    assert user == "a = '<API_KEY_1>'\nb = '<API_KEY_2>'\nmail = '<EMAIL_1>'"
    assert redaction.kinds() == {"API_KEY": 2, "EMAIL": 1}


def test_a_placeholder_already_in_the_text_is_never_issued() -> None:
    redaction = Redaction()
    text = "literal <EMAIL_1> stays; real: bob@example.com"
    out = redaction.redact(text)
    assert out == "literal <EMAIL_1> stays; real: <EMAIL_2>"
    assert redaction.restore(out) == text


def test_unknown_placeholders_in_the_answer_stay_as_they_are() -> None:
    redaction = Redaction()
    redaction.redact("x = 'bob@example.com'")
    assert (
        redaction.restore("<EMAIL_1> and <EMAIL_7> and <b>")
        == "bob@example.com and <EMAIL_7> and <b>"
    )


def test_seal_replaces_only_known_values() -> None:
    redaction = Redaction()
    redaction.redact("AWS = 'AKIAIOSFODNN7EXAMPLE'")
    sealed = redaction.seal("Set AKIAIOSFODNN7EXAMPLE; mail other@example.com")
    assert sealed == "Set <API_KEY_1>; mail other@example.com"


SECRET_TEXT = (
    "KEY = 'sk-proj-Abc123Def456Ghi789Jkl012Mno345'\n"
    "OWNER = 'jane.doe@example.org'\n"
    "HOST = '203.0.113.42'\n"
)


@settings(max_examples=300, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=12))
def test_stream_restoring_survives_any_chunking(cuts: list[int]) -> None:
    redaction = Redaction()
    redacted = redaction.redact(SECRET_TEXT)
    answer = f"The code sets {redacted} and <b>bold</b> <"  # a trailing "<" is not held forever
    points = sorted({min(c, len(answer)) for c in cuts})
    chunks = [answer[a:b] for a, b in zip([0, *points], [*points, len(answer)], strict=True)]
    streamer = redaction.streamer()
    out = "".join(streamer.feed(c) for c in chunks) + streamer.flush()
    assert out == f"The code sets {SECRET_TEXT} and <b>bold</b> <"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=300))
def test_round_trip_on_arbitrary_text(text: str) -> None:
    redaction = Redaction()
    out = redaction.redact(text)
    assert redaction.restore(out) == text
    for value in redaction.by_value:
        assert value not in PLACEHOLDER.sub("", out)


def test_helpers() -> None:
    assert shannon_entropy("") == 0 and shannon_entropy("aaaa") == 0
    assert shannon_entropy("abcd") == 2
    assert high_entropy("q8Zr3LmX9vT2pW7nK4sY1bH6") and not high_entropy("${TOKEN_FROM_ENV}")
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert not luhn_ok("0000000000000000")


def test_a_found_value_is_hidden_everywhere_in_the_request() -> None:
    redaction = Redaction()
    system, user = redaction.redact_all(
        ["Never repeat hunter2hunter2.", 'password = "hunter2hunter2"\nlogin("hunter2hunter2")']
    )
    assert system == "Never repeat <PASSWORD_1>."
    assert user == 'password = "<PASSWORD_1>"\nlogin("<PASSWORD_1>")'
