from __future__ import annotations

import subprocess
import sys

import pytest
from tests.unit.context.context_samples import SAMPLES
from tree_sitter import Language

from magray_lsp.context import all_languages, get_spec, language_for
from magray_lsp.context.languages import grammar


def test_eleven_languages_registered() -> None:
    names = {spec.name for spec in all_languages()}
    assert names == set(SAMPLES)


@pytest.mark.parametrize("spec", all_languages(), ids=lambda s: s.name)
def test_every_grammar_loads_and_parses(spec: object) -> None:
    from magray_lsp.context.languages import LanguageSpec
    from magray_lsp.context.parsing import parse

    assert isinstance(spec, LanguageSpec)
    lang = grammar(spec)
    assert isinstance(lang, Language)
    assert grammar(spec) is lang  # loaded once
    assert not parse(spec, b"").root_node.has_error


@pytest.mark.parametrize(
    ("language_id", "path", "expected"),
    [
        ("python", None, "python"),
        (None, "/x/y/app.py", "python"),
        (None, "file:///home/u/My%20Project/main.rs", "rust"),
        ("typescriptreact", "a.tsx", "tsx"),
        (None, "C:\\src\\view.TSX", "tsx"),
        ("javascriptreact", None, "javascript"),
        (None, "lib.mjs", "javascript"),
        ("c", "x.h", "c"),
        (None, "vector.hpp", "cpp"),
        ("cpp", None, "cpp"),
        (None, "Rakefile.rake", "ruby"),
        ("lua", None, "lua"),
        ("go", None, "go"),
        ("java", None, "java"),
        # An unhelpful languageId falls back to the extension.
        ("plaintext", "script.py", "python"),
    ],
)
def test_language_detection(language_id: str | None, path: str | None, expected: str) -> None:
    spec = language_for(language_id, path)
    assert spec is not None
    assert spec.name == expected


@pytest.mark.parametrize(
    ("language_id", "path"),
    [("plaintext", "notes.txt"), (None, "README"), ("markdown", "x.md"), (None, None), ("", "")],
)
def test_unknown_languages_are_plain_text(language_id: str | None, path: str | None) -> None:
    assert language_for(language_id, path) is None


def test_get_spec_accepts_names_and_language_ids() -> None:
    assert get_spec("typescriptreact") is get_spec("tsx")
    assert get_spec("cobol") is None


def test_importing_the_package_loads_no_grammar() -> None:
    code = (
        "import sys; import magray_lsp.context as c; "
        "print(sorted(m for m in sys.modules if m.startswith('tree_sitter')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "[]"
