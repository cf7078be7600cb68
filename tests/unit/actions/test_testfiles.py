"""Write tests: where the tests go per language, and how an answer (shaped the way models
reply: prose around a fence, a package clause left out, a whole module or bare functions)
joins a test file that exists — always by insertion, always leaving a file that parses."""

from __future__ import annotations

from pathlib import Path

import pytest

from magray_lsp.actions.acceptance import Refusal
from magray_lsp.actions.defined import Inputs, prepare_defined
from magray_lsp.actions.definitions import TESTS
from magray_lsp.actions.source import Location
from magray_lsp.actions.target import target_from_location
from magray_lsp.context.document import Document


def errors(text: str, language: str) -> bool:
    tree = Document.from_text(text, language_id=language).tree
    assert tree is not None
    return tree.root_node.has_error


def run(
    root: Path, rel: str, line: int, answer: str, existing: dict[str, str] | None = None
) -> tuple[Path, str]:
    """Write tests for `rel:line` with `answer`; the destination and its text afterwards."""
    for name, text in (existing or {}).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    target = target_from_location(Location(root / rel, line))
    prepared = prepare_defined(TESTS, target, Inputs(root=root), context_budget=2000)
    assert prepared.reader is not None and prepared.destination is not None
    edited = prepared.reader.read(answer)
    return prepared.destination.path, edited.text


PY_SOURCE = """import json


def parse_header(line: str) -> tuple[str, str]:
    name, _, value = line.partition(":")
    return name.strip().lower(), value.strip()
"""
PY_TESTS = """import pytest

from pkg.headers import parse_header


def test_lower_cases_the_name():
    assert parse_header("Host: a") == ("host", "a")
"""


def test_python_tests_go_under_tests_and_import_the_module_path(tmp_path: Path) -> None:
    (tmp_path / "src" / "pkg").mkdir(parents=True)
    (tmp_path / "src" / "pkg" / "headers.py").write_text(PY_SOURCE)
    answer = f"Here are tests:\n\n```python\n{PY_TESTS}```\n\nRun them with `pytest -q`."
    path, text = run(tmp_path, "src/pkg/headers.py", 5, answer)
    assert path == tmp_path / "tests" / "test_headers.py"
    assert text == PY_TESTS
    target = target_from_location(Location(tmp_path / "src" / "pkg" / "headers.py", 5))
    prepared = prepare_defined(TESTS, target, Inputs(root=tmp_path), context_budget=2000)
    assert "`from pkg.headers import parse_header`" in prepared.prepared.task.system


def test_python_appends_without_imports_the_file_has(tmp_path: Path) -> None:
    (tmp_path / "headers.py").write_text(PY_SOURCE)
    before = (
        "import pytest\n\nfrom pkg.headers import parse_header\n\n\ndef test_old():\n    pass\n"
    )
    answer = f"```python\n{PY_TESTS.replace('test_lower', 'test_new_lower')}```"
    _, text = run(tmp_path, "headers.py", 5, answer, {"tests/test_headers.py": before})
    assert text.startswith(before)
    added = text[len(before) :]
    assert "import" not in added and added.startswith("\n\ndef test_new_lower")
    assert not errors(text, "python")


def test_python_refuses_a_test_the_file_already_has(tmp_path: Path) -> None:
    (tmp_path / "headers.py").write_text(PY_SOURCE)
    before = "def test_lower_cases_the_name():\n    assert True\n"
    with pytest.raises(Refusal, match="tests: keeps-neighbours: `test_lower_cases_the_name`"):
        run(
            tmp_path,
            "headers.py",
            5,
            f"```python\n{PY_TESTS}```",
            {"tests/test_headers.py": before},
        )


GO_SOURCE = """package headers

import "strings"

func ParseHeader(line string) (string, string) {
\tname, value, _ := strings.Cut(line, ":")
\treturn strings.ToLower(name), value
}
"""
GO_TESTS = """package headers

import (
\t"strings"
\t"testing"
)

func TestParseHeaderCase(t *testing.T) {
\tif name, _ := ParseHeader("HOST: a"); name != strings.ToLower("HOST") {
\t\tt.Fatal(name)
\t}
}
"""


def test_go_new_file_gets_the_package_clause_the_model_left_out(tmp_path: Path) -> None:
    (tmp_path / "headers.go").write_text(GO_SOURCE)
    answer = "```go\n" + GO_TESTS.split("\n", 2)[2] + "```"
    path, text = run(tmp_path, "headers.go", 6, answer)
    assert path == tmp_path / "headers_test.go"
    assert text.startswith("package headers\n\nimport (")
    assert not errors(text, "go")


def test_go_joins_an_existing_test_file_with_only_the_missing_imports(tmp_path: Path) -> None:
    (tmp_path / "headers.go").write_text(GO_SOURCE)
    before = 'package headers\n\nimport "testing"\n\nfunc TestOld(t *testing.T) {}\n'
    _, text = run(tmp_path, "headers.go", 6, f"```go\n{GO_TESTS}```", {"headers_test.go": before})
    assert text.count("package headers") == 1
    assert text.count('"testing"') == 1 and '\t"strings"' in text
    assert text.index('"strings"') < text.index("func TestOld")  # imports before declarations
    assert "func TestOld(t *testing.T) {}" in text and "func TestParseHeaderCase" in text
    assert not errors(text, "go")


RUST_SOURCE = """pub fn parse_header(line: &str) -> (String, String) {
    let (name, value) = line.split_once(':').unwrap_or((line, ""));
    (name.trim().to_lowercase(), value.trim().to_string())
}
"""
RUST_MODULE = """#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_cases_the_name() {
        assert_eq!(parse_header("Host: a").0, "host");
    }
}
"""


def test_rust_tests_go_into_the_same_file_as_a_cfg_test_module(tmp_path: Path) -> None:
    (tmp_path / "lib.rs").write_text(RUST_SOURCE)
    path, text = run(tmp_path, "lib.rs", 2, f"```rust\n{RUST_MODULE}```")
    assert path == tmp_path / "lib.rs"
    assert text == RUST_SOURCE + "\n" + RUST_MODULE
    assert not errors(text, "rust")


def test_rust_bare_test_functions_are_wrapped_in_a_module(tmp_path: Path) -> None:
    (tmp_path / "lib.rs").write_text(RUST_SOURCE)
    bare = '#[test]\nfn splits() {\n    assert_eq!(parse_header("a:b").1, "b");\n}\n'
    _, text = run(tmp_path, "lib.rs", 2, f"```rust\n{bare}```")
    assert "#[cfg(test)]\nmod tests {\n    use super::*;\n\n    #[test]\n    fn splits()" in text
    assert not errors(text, "rust")


def test_rust_joins_an_existing_tests_module(tmp_path: Path) -> None:
    existing = RUST_SOURCE + "\n#[cfg(test)]\nmod tests {\n    use super::*;\n\n    #[test]\n"
    existing += "    fn old() {}\n}\n"
    (tmp_path / "lib.rs").write_text(existing)
    _, text = run(tmp_path, "lib.rs", 2, f"```rust\n{RUST_MODULE}```")
    assert text.count("mod tests") == 1 and text.count("use super::*;") == 1
    assert text.index("fn old()") < text.index("fn lower_cases_the_name()") < text.rindex("}")
    assert "        assert_eq!(parse_header" in text  # indented as a member of the module
    assert not errors(text, "rust")


JAVA_SOURCE = """package com.example.http;

public class Headers {
    public static String name(String line) {
        return line.split(":", 2)[0].trim().toLowerCase();
    }
}
"""
JAVA_TESTS = """package com.example.http;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class HeadersTest {
    @Test
    void lowerCasesTheName() {
        assertEquals("host", Headers.name("Host: a"));
    }
}
"""


def test_java_tests_mirror_the_package_under_src_test_java(tmp_path: Path) -> None:
    source = "src/main/java/com/example/http/Headers.java"
    (tmp_path / source).parent.mkdir(parents=True)
    (tmp_path / source).write_text(JAVA_SOURCE)
    path, text = run(tmp_path, source, 5, f"```java\n{JAVA_TESTS}```")
    assert path == tmp_path / "src/test/java/com/example/http/HeadersTest.java"
    assert text == JAVA_TESTS and not errors(text, "java")


def test_java_joins_an_existing_test_class(tmp_path: Path) -> None:
    source = "src/main/java/com/example/http/Headers.java"
    (tmp_path / source).parent.mkdir(parents=True)
    (tmp_path / source).write_text(JAVA_SOURCE)
    before = (
        "package com.example.http;\n\nimport org.junit.jupiter.api.Test;\n\n"
        "class HeadersTest {\n    @Test\n    void old() {}\n}\n"
    )
    existing = {"src/test/java/com/example/http/HeadersTest.java": before}
    _, text = run(tmp_path, source, 5, f"```java\n{JAVA_TESTS}```", existing)
    assert text.count("class HeadersTest") == 1 and text.count("import org.junit") == 1
    assert "import static org.junit.jupiter.api.Assertions.assertEquals;" in text
    assert text.index("void old()") < text.index("void lowerCasesTheName()")
    assert not errors(text, "java")


TS_SOURCE = (
    "export function parseHeader(line: string): [string, string] {\n  return [line, ''];\n}\n"
)


def test_typescript_tests_sit_beside_the_source_in_the_framework_it_uses(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text('{"devDependencies": {"vitest": "^1.6.0"}}')
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "headers.ts").write_text(TS_SOURCE)
    tests = (
        'import { describe, it, expect } from "vitest";\nimport { parseHeader } from "./headers";\n'
        '\ndescribe("parseHeader", () => {\n  it("keeps the line", () => {\n'
        '    expect(parseHeader("a")[0]).toBe("a");\n  });\n});\n'
    )
    path, text = run(tmp_path, "src/headers.ts", 2, f"```ts\n{tests}```")
    assert path == tmp_path / "src" / "headers.test.ts" and text == tests
    target = target_from_location(Location(tmp_path / "src" / "headers.ts", 2))
    prepared = prepare_defined(TESTS, target, Inputs(root=tmp_path), context_budget=2000)
    assert "Use Vitest" in prepared.prepared.task.system


def test_a_broken_test_answer_is_refused_by_the_parses_check(tmp_path: Path) -> None:
    (tmp_path / "headers.py").write_text(PY_SOURCE)
    broken = "def test_x(:\n    assert parse_header('a') == ('a', '')\n"
    with pytest.raises(Refusal, match="tests: parses"):
        run(tmp_path, "headers.py", 5, f"```python\n{broken}```")


def test_languages_without_a_convention_are_not_guessed(tmp_path: Path) -> None:
    from magray_lsp.actions.perform import ActionError

    (tmp_path / "x.rb").write_text("def parse(line)\n  line\nend\n")
    target = target_from_location(Location(tmp_path / "x.rb", 2))
    with pytest.raises(ActionError, match="`tests` is for python, go"):
        prepare_defined(TESTS, target, Inputs(root=tmp_path), context_budget=2000)
