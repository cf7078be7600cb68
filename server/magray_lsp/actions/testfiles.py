"""Write tests: where tests go in each language, what the prompt says about them, and how an
answer's tests join a test file that already exists.

| language | file | joining an existing file |
|---|---|---|
| Python | `tests/test_<module>.py` (pytest) | appended, without imports it has |
| Go | `<file>_test.go`, same package | appended; new imports after `package` |
| TS / JS | `<name>.test.ts` (`.tsx`, `.js`...) | appended, without imports it has |
| Rust | the source: `#[cfg(test)] mod tests` | inside an existing `mod tests` |
| Java | `src/test/java/<pkg>/<Class>Test.java` | methods in the class, new imports |

Every join only inserts: the file's own text stays as it is. The result must parse (the
`parses` check of the `insert` acceptance set), like every other edit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from magray_lsp.actions.acceptance import Candidate, Scope
from magray_lsp.actions.placing import Place, append, eol_of, top_level_imports
from magray_lsp.context.document import Document
from magray_lsp.context.positions import decode
from magray_lsp.context.rebase import line_end, line_start
from magray_lsp.errors import MagrayError

if TYPE_CHECKING:
    from tree_sitter import Node

    from magray_lsp.actions.target import Target


class NoTestConvention(MagrayError):
    """Write tests does not know where tests go for this file."""


@dataclass(frozen=True, slots=True)
class TestsPlan:
    path: Path  # where the tests go (the source file itself for Rust)
    convention: str  # what the prompt says: framework, file, imports
    place: Place


def tests_plan(target: Target, root: Path | None) -> TestsPlan:
    """Where the tests of `target`'s unit go and how they are written, by the language's
    convention; `root` is the workspace root (Python tests go under its `tests/`)."""
    source = target.path
    language = target.language
    if source is None:
        raise NoTestConvention("Write tests needs a file on disk (save the document first)")
    unit = target.unit()
    name = unit.qualified_name if unit is not None and unit.name else "the code"
    if language == "python":
        return _python(source, root or source.parent, name)
    if language == "go":
        package = _go_package(target.doc) or source.parent.name
        return TestsPlan(
            source.with_name(f"{source.stem}_test.go"),
            "Use the standard `testing` package: `func TestXxx(t *testing.T)` functions, "
            f"table-driven where it helps, in `package {package}` (the same package, so "
            "unexported names are reachable). Start with the package clause and imports.",
            go_join(package),
        )
    if language in ("typescript", "tsx", "javascript"):
        framework = _js_framework(source.parent, root)
        return TestsPlan(
            source.with_name(f"{source.stem}.test{source.suffix}"),
            f"{framework} Import what you test from `./{source.stem}`.",
            append,
        )
    if language == "rust":
        return TestsPlan(
            source,
            "Reply with a `#[cfg(test)] mod tests` module for the same file: `use super::*;` "
            "then one `#[test]` function per case.",
            rust_join,
        )
    if language == "java":
        return _java(target, source, root, name)
    raise NoTestConvention(
        f"Write tests knows Python, Go, TypeScript/JavaScript, Rust and Java, not {language}"
    )


# --- Python --------------------------------------------------------------------------------


def _python(source: Path, root: Path, name: str) -> TestsPlan:
    try:
        relative = PurePosixPath(source.resolve().relative_to(root.resolve()).as_posix())
    except ValueError:
        relative = PurePosixPath(source.name)
    parts = list(relative.with_suffix("").parts)
    if parts and parts[0] == "src":  # the src layout: the package is below src/
        parts = parts[1:]
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    module = ".".join(parts) or source.stem
    top = name.split(".", 1)[0]
    return TestsPlan(
        root / "tests" / f"test_{source.stem}.py",
        "Use pytest: plain `test_` functions with `assert` (`pytest.raises` for errors), "
        f"parametrized where it helps. The file is tests/test_{source.stem}.py; import what "
        f"you test with `from {module} import {top}`.",
        append,
    )


# --- JavaScript / TypeScript -----------------------------------------------------------------


def _js_framework(folder: Path, root: Path | None) -> str:
    """Vitest when the nearest package.json (up to the workspace root) depends on it, else
    the Jest style (describe / it / expect as globals)."""
    for parent in (folder, *folder.parents):
        manifest = parent / "package.json"
        if manifest.is_file():
            try:
                data = json.loads(manifest.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                break
            deps = {**data.get("dependencies", {}), **data.get("devDependencies", {})}
            if "vitest" in deps:
                return 'Use Vitest: `import { describe, it, expect } from "vitest";`.'
            break
        if root is not None and parent == root:
            break
    return "Use Jest-style `describe` / `it` / `expect` (globals, no import for them)."


# --- Go ------------------------------------------------------------------------------------


def _go_package(doc: Document) -> str:
    tree = doc.tree
    if tree is None:
        return ""
    for child in tree.root_node.named_children:
        if child.type == "package_clause" and child.named_child_count:
            name = child.named_children[0]
            return decode(doc.data[name.start_byte : name.end_byte])
    return ""


def go_join(package: str) -> Place:
    """A new `_test.go` file gets the answer as it is (with the package clause if the model
    left it out); an existing one gets the answer's declarations at its end and the imports
    it lacks right after its package clause."""

    def place(scope: Scope, code: str) -> Candidate:
        doc = scope.doc
        data, eol = doc.data, eol_of(doc.data)
        snippet = Document.from_text(code, language_id="go")
        if not data.strip():
            if not _go_package(snippet):
                code = f"package {package}{eol}{eol}{code.strip()}"
            return Candidate(0, len(data), code.strip("\r\n") + eol)
        clause = _first(doc, "package_clause")
        if clause is None:  # no package clause: not a Go file we can join safely
            return append(scope, code)
        have = {_squeeze(s) for s in _go_import_specs(doc)}
        missing = [s for s in _go_import_specs(snippet) if _squeeze(s) not in have]
        rest = _without(snippet, ("package_clause", "import_declaration"))
        tail = append(scope, rest)
        if not missing:
            return tail
        at = line_end(data, clause.end_byte)
        imports = eol + "import (" + eol + "".join(f"\t{s}{eol}" for s in missing) + ")" + eol
        return _joined(data, [(at, imports), (tail.start, tail.text)])

    return place


def _go_import_specs(doc: Document) -> list[str]:
    specs: list[str] = []
    for declaration in top_level_imports(doc):
        stack = [declaration]
        while stack:
            node = stack.pop()
            if node.type == "import_spec":
                specs.append(decode(doc.data[node.start_byte : node.end_byte]))
            else:
                stack.extend(reversed(node.named_children))
    return specs


# --- Rust ----------------------------------------------------------------------------------


def rust_join(scope: Scope, code: str) -> Candidate:
    """The answer's tests inside the source file's `mod tests` when it has one (without a
    second `use super::*;`), else the answer's `mod tests` (or its functions wrapped in one)
    at the end of the file."""
    doc = scope.doc
    data, eol = doc.data, eol_of(doc.data)
    snippet = Document.from_text(code, language_id="rust")
    theirs = _tests_module(snippet)
    mine = _tests_module(doc)
    if theirs is not None:
        body = theirs.child_by_field_name("body")
        items = _inner(snippet, body) if body is not None else ""
    else:
        items = code.strip("\r\n")
    if mine is None:
        if theirs is None:
            items = "use super::*;\n\n" + items if "use super::*" not in items else items
            module = "#[cfg(test)]\nmod tests {\n" + _indented(items, "    ") + "\n}"
        else:
            start = theirs.prev_named_sibling
            first = start if start is not None and start.type == "attribute_item" else theirs
            module = decode(snippet.data[first.start_byte : theirs.end_byte])
        return append(scope, module)
    body = mine.child_by_field_name("body")
    assert body is not None  # _tests_module only returns modules with a body
    if _has_use_super(doc, body):
        items = "\n".join(line for line in items.split("\n") if line.strip() != "use super::*;")
    close = body.end_byte - 1  # the closing brace
    indent = _indent_of(data, mine.start_byte) + "    "
    at = line_start(data, close)
    if data[at:close].strip():  # `mod tests { ... }` closing on a line with code
        at = close
    text = eol + _indented(items.strip("\n"), indent).replace("\n", eol) + eol
    return Candidate(at, at, text)


def _tests_module(doc: Document) -> Node | None:
    tree = doc.tree
    if tree is None:
        return None
    for child in tree.root_node.named_children:
        if child.type != "mod_item" or child.child_by_field_name("body") is None:
            continue
        name = child.child_by_field_name("name")
        if name is not None and doc.data[name.start_byte : name.end_byte] == b"tests":
            return child
    return None


def _has_use_super(doc: Document, body: Node) -> bool:
    return any(
        c.type == "use_declaration" and b"super::*" in doc.data[c.start_byte : c.end_byte]
        for c in body.named_children
    )


# --- Java ----------------------------------------------------------------------------------


def _java(target: Target, source: Path, root: Path | None, name: str) -> TestsPlan:
    doc = target.doc
    package = ""
    declaration = _first(doc, "package_declaration")
    if declaration is not None and declaration.named_child_count:
        inner = declaration.named_children[0]
        package = decode(doc.data[inner.start_byte : inner.end_byte])
    cls = name.split(".", 1)[0] if name != "the code" else source.stem
    parts = source.resolve().parts
    base = root or source.parent
    for i in range(len(parts) - 2):
        if parts[i : i + 3] == ("src", "main", "java"):
            base = Path(*parts[:i])
            break
    folder = base / "src" / "test" / "java" / Path(*package.split(".")) if package else None
    path = (folder or base / "src" / "test" / "java") / f"{cls}Test.java"
    return TestsPlan(
        path,
        "Use JUnit 5 (`org.junit.jupiter.api.Test`, `static org.junit.jupiter.api.Assertions.*`):"
        f" a class `{cls}Test`"
        + (f" in `package {package};`" if package else "")
        + " with one `@Test` method per case. Start with the package and the imports.",
        java_join(package),
    )


def java_join(package: str) -> Place:
    """A new test class as the answer wrote it (with the package if it was left out); an
    existing one gets the answer's methods before its closing brace and the imports it lacks
    after its last import."""

    def place(scope: Scope, code: str) -> Candidate:
        doc = scope.doc
        data, eol = doc.data, eol_of(doc.data)
        snippet = Document.from_text(code, language_id="java")
        if not data.strip():
            if package and _first(snippet, "package_declaration") is None:
                code = f"package {package};{eol}{eol}{code.strip()}"
            return Candidate(0, len(data), code.strip("\r\n") + eol)
        mine = _first(doc, "class_declaration")
        body = mine.child_by_field_name("body") if mine is not None else None
        if mine is None or body is None:
            return append(scope, code)
        theirs = _first(snippet, "class_declaration")
        their_body = theirs.child_by_field_name("body") if theirs is not None else None
        members = (
            _inner(snippet, their_body)
            if their_body is not None
            else _without(snippet, ("package_declaration", "import_declaration"))
        )
        indent = _indent_of(data, mine.start_byte) + "    "
        close = body.end_byte - 1
        at = line_start(data, close) if not data[line_start(data, close) : close].strip() else close
        methods = eol + _indented(members.strip("\n"), indent).replace("\n", eol) + eol
        have = {_squeeze(decode(data[n.start_byte : n.end_byte])) for n in top_level_imports(doc)}
        missing = [
            decode(snippet.data[n.start_byte : n.end_byte])
            for n in top_level_imports(snippet)
            if _squeeze(decode(snippet.data[n.start_byte : n.end_byte])) not in have
        ]
        if not missing:
            return Candidate(at, at, methods)
        anchors = top_level_imports(doc) or [
            n for n in (_first(doc, "package_declaration"),) if n is not None
        ]
        anchor = anchors[-1] if anchors else None
        if anchor is None:
            imports_at, imports = 0, "".join(m + eol for m in missing) + eol
        else:
            imports_at = line_end(data, anchor.end_byte)
            imports = "".join(m + eol for m in missing)
        return _joined(data, [(imports_at, imports), (at, methods)])

    return place


# --- helpers -------------------------------------------------------------------------------


def _first(doc: Document, node_type: str) -> Node | None:
    tree = doc.tree
    if tree is None:
        return None
    return next((c for c in tree.root_node.named_children if c.type == node_type), None)


def _without(doc: Document, node_types: tuple[str, ...]) -> str:
    """The snippet's text without its top-level nodes of `node_types` (whole lines)."""
    data = doc.data
    tree = doc.tree
    if tree is None:
        return decode(data)
    spans = [
        (line_start(data, c.start_byte), line_end(data, c.end_byte))
        for c in tree.root_node.named_children
        if c.type in node_types
    ]
    for start, end in reversed(spans):
        data = data[:start] + data[end:]
    return decode(data).strip("\r\n")


def _inner(doc: Document, body: Node) -> str:
    """The text between a block's braces, dedented."""
    text = decode(doc.data[body.start_byte + 1 : body.end_byte - 1]).replace("\r\n", "\n")
    return _dedent(text.strip("\n"))


def _dedent(text: str) -> str:
    lines = text.split("\n")
    widths = [len(line) - len(line.lstrip(" \t")) for line in lines if line.strip()]
    cut = min(widths, default=0)
    return "\n".join(line[cut:] if line.strip() else "" for line in lines)


def _indented(text: str, prefix: str) -> str:
    return "\n".join(prefix + line if line.strip() else "" for line in _dedent(text).split("\n"))


def _indent_of(data: bytes, offset: int) -> str:
    start = line_start(data, offset)
    line = decode(data[start:offset])
    return line[: len(line) - len(line.lstrip(" \t"))]


def _squeeze(text: str) -> str:
    return " ".join(text.split()).rstrip(";")


def _joined(data: bytes, inserts: list[tuple[int, str]]) -> Candidate:
    """Several insertions as one candidate: from the first to the last insertion point, the
    file's own bytes in between are kept as they are."""
    inserts = sorted(inserts)
    start, end = inserts[0][0], inserts[-1][0]
    parts, at = [], start
    for offset, text in inserts:
        parts.append(decode(data[at:offset]))
        parts.append(text)
        at = offset
    return Candidate(start, end, "".join(parts))
