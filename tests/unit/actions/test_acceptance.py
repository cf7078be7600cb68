"""Each named acceptance check refuses what it is for, and only that check catches it: with
the check taken out of `CHECKS`, the same edit is accepted (so none of them is decorative)."""

from __future__ import annotations

import pytest

from magray_lsp.actions import acceptance
from magray_lsp.actions.acceptance import Candidate, Refusal, Rules, Scope, accept_edit
from magray_lsp.actions.reading import edit_scope
from magray_lsp.actions.target import Target
from magray_lsp.context.assemble import build_context
from magray_lsp.context.document import Document

PY = """import math


class Circle:
    def __init__(self, r):
        self.r = r

    def area(self):
        return math.pi * self.r ** 2

    def perimeter(self):
        return 2 * math.pi * self.r


def describe(shape):
    return f"{shape!r}"
"""


def scope_at(
    text: str, language: str, at: str, action: str = "refactor", instruction: str | None = None
) -> Scope:
    doc = Document.from_text(text, language_id=language)
    offset = doc.data.index(at.encode())
    target = Target(doc, offset, offset)
    context = build_context(doc, (offset, offset), 2000)
    return edit_scope(action, target, context, instruction)  # type: ignore[arg-type]


def replacing(scope: Scope, old: str, new: str) -> Candidate:
    start = scope.doc.data.index(old.encode())
    return Candidate(start, start + len(old.encode()), new)


def refusal(scope: Scope, candidate: Candidate) -> Refusal:
    with pytest.raises(Refusal) as caught:
        accept_edit(scope, candidate)
    return caught.value


def without(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    kept = tuple(c for c in acceptance.CHECKS if c[0] != name)
    assert len(kept) == len(acceptance.CHECKS) - 1
    monkeypatch.setattr(acceptance, "CHECKS", kept)


def only(
    monkeypatch: pytest.MonkeyPatch, check: str, scope: Scope, candidate: Candidate
) -> Refusal:
    """The refusal, after checking that without `check` the same candidate would pass."""
    refused = refusal(scope, candidate)
    with monkeypatch.context() as patch:
        without(patch, check)
        accept_edit(scope, candidate)
    return refused


# --- inside-span ----------------------------------------------------------------------------


def test_inside_span_refuses_an_edit_of_another_unit(monkeypatch: pytest.MonkeyPatch) -> None:
    scope = scope_at(PY, "python", "def area")
    edit = replacing(scope, 'return f"{shape!r}"', "return repr(shape)")
    refused = only(monkeypatch, "inside-span", scope, edit)
    assert str(refused) == "refactor: inside-span: the edit reaches line 16, outside `area`"


def test_a_document_edit_may_put_its_comment_right_above_the_unit() -> None:
    js = "function a() {}\n\nfunction b() {\n  return 1;\n}\n"
    scope = scope_at(js, "javascript", "function b", "document")
    at = js.index("function b")
    accept_edit(scope, Candidate(at, at, "/** B. */\n"))
    above = js.index("function a")
    assert refusal(scope, Candidate(above, above, "/** B. */\n")).check == "inside-span"


# --- parses ---------------------------------------------------------------------------------


def test_parses_refuses_an_edit_with_a_new_syntax_error(monkeypatch: pytest.MonkeyPatch) -> None:
    scope = scope_at(PY, "python", "def area")
    edit = replacing(scope, "math.pi * self.r ** 2", "math.pi * (self.r ** 2")
    refused = only(monkeypatch, "parses", scope, edit)
    assert refused.check == "parses" and "line 9" in refused.detail


def test_an_error_the_document_already_had_may_stay() -> None:
    broken = PY.replace("return 2 * math.pi * self.r", "return 2 * (math.pi")
    scope = scope_at(broken, "python", "def area")
    accept_edit(scope, replacing(scope, "self.r ** 2", "self.r * self.r"))


# --- no-fence, no-prose, no-placeholder -----------------------------------------------------

JS = "function total(items) {\n  return items.length;\n}\n"


def test_no_fence_refuses_fence_lines_even_where_they_parse(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # JavaScript reads ``` lines as template strings: the edit parses, and is still wrong
    scope = scope_at(JS, "javascript", "function total")
    edit = replacing(scope, "  return items.length;\n", "  ```js\n  return items.length;\n  ```\n")
    refused = only(monkeypatch, "no-fence", scope, edit)
    assert str(refused) == (
        "refactor: no-fence: line 2 is a Markdown fence left in the code: ````js`"
    )


def test_fences_inside_comments_and_strings_are_fine() -> None:
    rust = "/// Doc.\npub fn f() -> u32 {\n    1\n}\n"
    scope = scope_at(rust, "rust", "pub fn f", "document")
    accept_edit(
        scope, replacing(scope, "/// Doc.\n", "/// Doc.\n///\n/// ```\n/// f();\n/// ```\n")
    )


RB = "class Ledger\n  def total\n    @entries.sum\n  end\nend\n"


def test_no_prose_refuses_a_sentence_that_parses_as_code(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Ruby reads "Sum the amounts of all entries" as nested method calls
    scope = scope_at(RB, "ruby", "def total")
    edit = replacing(
        scope, "    @entries.sum\n", "    Sum the amounts of all entries\n    @entries.sum\n"
    )
    refused = only(monkeypatch, "no-prose", scope, edit)
    assert refused.detail == "line 3 is prose, not code: `Sum the amounts of all entries`"


def test_no_placeholder_refuses_a_placeholder_the_document_does_not_have(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scope = scope_at(PY, "python", "def describe")
    edit = replacing(scope, 'return f"{shape!r}"', 'return f"{shape!r} by <EMAIL_2>"')
    refused = only(monkeypatch, "no-placeholder", scope, edit)
    assert "`<EMAIL_2>` is a redaction placeholder" in str(refused)
    # one the document itself contains (a template, say) is not a leftover
    literal = PY.replace('return f"{shape!r}"', 'return "<EMAIL_2>"')
    scope = scope_at(literal, "python", "def describe")
    accept_edit(scope, replacing(scope, 'return "<EMAIL_2>"', 'return str("<EMAIL_2>")'))


# --- comments-only --------------------------------------------------------------------------


def test_comments_only_refuses_a_document_edit_that_changes_code(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scope = scope_at(PY, "python", "def area", "document")
    old = "        return math.pi * self.r ** 2"
    edit = replacing(scope, old, '        """Area."""\n        return math.pi * self.r ** 3')
    refused = only(monkeypatch, "comments-only", scope, edit)
    assert refused.detail == "the edit changes code, not only documentation: `2` → `3`"


def test_comments_only_accepts_docstrings_and_comments() -> None:
    scope = scope_at(PY, "python", "def area", "document")
    old = "        return math.pi * self.r ** 2"
    accept_edit(scope, replacing(scope, old, '        """Area."""\n' + old))
    js = "const a = 1;\n\nfunction f(x) {\n  return x;\n}\n"
    scope = scope_at(js, "javascript", "function f", "document")
    at = js.index("function f")
    accept_edit(scope, Candidate(at, at, "/**\n * F.\n * @param x a value\n */\n"))


def test_comments_only_sees_a_change_inside_a_token() -> None:
    scope = scope_at(PY, "python", "def area", "document")
    edit = replacing(scope, "self.r ** 2", "self.rr ** 2")
    assert refusal(scope, edit).check == "comments-only"


# --- keeps-name, keeps-kind, keeps-neighbours -----------------------------------------------

AREA = "    def area(self):\n        return math.pi * self.r ** 2\n"


def test_keeps_name_refuses_a_renamed_unit_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    scope = scope_at(PY, "python", "def area")
    edit = replacing(scope, AREA, AREA.replace("def area", "def surface"))
    refused = only(monkeypatch, "keeps-definitions", scope, edit)
    assert str(refused) == "refactor: keeps-name: the answer defines `surface` instead of `area`"
    asked = scope_at(PY, "python", "def area", instruction="Rename it to surface.")
    accept_edit(asked, edit)


def test_keeps_kind_refuses_a_function_turned_class(monkeypatch: pytest.MonkeyPatch) -> None:
    scope = scope_at(PY, "python", "def describe")
    old = 'def describe(shape):\n    return f"{shape!r}"\n'
    edit = replacing(scope, old, "class describe:\n    pass\n")
    refused = only(monkeypatch, "keeps-definitions", scope, edit)
    assert refused.check == "keeps-kind"


def test_keeps_kind_refuses_a_function_that_loses_its_body(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    c = "int f(int x)\n{\n\treturn x + 1;\n}\n"
    scope = scope_at(c, "c", "int f")
    refused = only(monkeypatch, "keeps-definitions", scope, replacing(scope, c, "int f(int x);\n"))
    assert str(refused) == "refactor: keeps-kind: `f` would lose its body"


def test_keeps_neighbours_refuses_a_duplicate(monkeypatch: pytest.MonkeyPatch) -> None:
    scope = scope_at(PY, "python", "def area")
    copy = "\n    def perimeter(self):\n        return 0\n"
    refused = only(monkeypatch, "keeps-definitions", scope, replacing(scope, AREA, AREA + copy))
    assert str(refused) == "refactor: keeps-neighbours: the edit duplicates `perimeter`"


def test_keeps_neighbours_refuses_a_method_moved_out_of_its_class(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the last method returned without its indentation parses fine: as a top-level function
    scope = scope_at(PY, "python", "def perimeter")
    old = "    def perimeter(self):\n        return 2 * math.pi * self.r\n"
    edit = replacing(scope, old, "def perimeter(self):\n    return 2 * math.pi * self.r\n")
    refused = only(monkeypatch, "keeps-definitions", scope, edit)
    assert refused.detail == "`perimeter` would move to the top level, out of `Circle`"


def test_keeps_neighbours_adds_helpers_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    old = 'def describe(shape):\n    return f"{shape!r}"\n'
    helper = "def _name(shape):\n    return repr(shape)\n\n\n"
    new = helper + "def describe(shape):\n    return _name(shape)\n"
    scope = scope_at(PY, "python", "def describe")
    refused = only(monkeypatch, "keeps-definitions", scope, replacing(scope, old, new))
    assert refused.check == "keeps-neighbours" and "adds `_name`" in refused.detail
    asked = scope_at(PY, "python", "def describe", instruction="Extract a helper for the name.")
    accept_edit(asked, replacing(asked, old, new))


def test_keeps_neighbours_refuses_a_region_that_loses_a_definition(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = "def a():\n    return 1\n\n\ndef b():\n    return 2\n\n\nx = a() + b()\n"
    doc = Document.from_text(text, language_id="python")
    context = build_context(doc, (0, len(doc.data)), 2000)
    scope = edit_scope("refactor", Target(doc, 0, len(doc.data)), context, None)
    assert scope.unit is not None and scope.unit.kind == "region"
    edit = Candidate(0, len(doc.data), "def a():\n    return 1\n\n\nx = a() + 2\n")
    refused = only(monkeypatch, "keeps-definitions", scope, edit)
    assert str(refused) == "refactor: keeps-neighbours: the edit loses `b`"


def test_rules_read_from_the_instruction() -> None:
    assert Rules.from_instruction(None) == Rules(mentioned=frozenset())
    rename = Rules.from_instruction("Rename it to parse_header")
    assert rename.rename and not rename.helpers and "parse_header" in rename.mentioned
    for text in (
        "Extract the loop",
        "split this into two functions",
        "add a helper",
        "Break it up",
    ):
        assert Rules.from_instruction(text).helpers, text
    assert not Rules.from_instruction("Make it clearer and simpler.").helpers
