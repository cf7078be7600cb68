"""Reading an answer by syntax: which part becomes the edit, and how it is placed."""

from __future__ import annotations

import pytest

from magray_lsp.actions import reading
from magray_lsp.actions.acceptance import Refusal
from magray_lsp.actions.reading import EditReader, edit_scope
from magray_lsp.actions.target import Target
from magray_lsp.context.assemble import build_context
from magray_lsp.context.document import Document


def reader_at(
    text: str, language: str, at: str, action: str = "refactor", instruction: str | None = None
) -> EditReader:
    doc = Document.from_text(text, language_id=language)
    offset = doc.data.index(at.encode())
    context = build_context(doc, (offset, offset), 2000)
    scope = edit_scope(action, Target(doc, offset, offset), context, instruction)  # type: ignore[arg-type]
    return EditReader(scope)


def refused(reader: EditReader, answer: str) -> str:
    with pytest.raises(Refusal) as caught:
        reader.read(answer)
    return str(caught.value)


SQL = """class Report:
    def query(self):
        return 1

    def other(self):
        return 2
"""


def test_a_dedented_method_goes_back_but_its_multiline_string_stays_as_written() -> None:
    answer = '''```python
def query(self):
    """Build the report query.

    Rows are ordered by date.
    """
    sql = """
SELECT *
  FROM sales
"""
    return sql
```'''
    new = reader_at(SQL, "python", "def query").read(answer).text
    assert new == SQL.replace(
        "    def query(self):\n        return 1\n",
        '    def query(self):\n        """Build the report query.\n\n'
        '        Rows are ordered by date.\n        """\n'
        '        sql = """\nSELECT *\n  FROM sales\n"""\n        return sql\n',
    )


def test_tabs_and_spaces_follow_the_file() -> None:
    spaces = "def f(x):\n    if x:\n        return 1\n    return 2\n"
    answer = "```python\ndef f(x):\n\tif not x:\n\t\treturn 2\n\treturn 1\n```"
    new = reader_at(spaces, "python", "def f").read(answer).text
    assert new == "def f(x):\n    if not x:\n        return 2\n    return 1\n"
    go = "package p\n\nfunc F(x int) int {\n\treturn x\n}\n"
    answer = (
        "```go\nfunc F(x int) int {\n    if x < 0 {\n        return -x\n    }\n    return x\n}\n```"
    )
    new = reader_at(go, "go", "func F").read(answer).text
    assert new.endswith("func F(x int) int {\n\tif x < 0 {\n\t\treturn -x\n\t}\n\treturn x\n}\n")


def test_crlf_is_kept() -> None:
    text = "def f(x):\r\n    return x\r\n\r\n\r\ndef g():\r\n    pass\r\n"
    new = reader_at(text, "python", "def f").read("```python\ndef f(x):\n    return +x\n```").text
    assert new == text.replace("return x", "return +x")


def test_the_files_doc_comment_stays_when_the_answer_has_none() -> None:
    js = "/**\n * Doubles x.\n */\nfunction double(x) {\n  return x + x;\n}\n"
    new = (
        reader_at(js, "javascript", "function double")
        .read("```js\nfunction double(x) {\n  return 2 * x;\n}\n```")
        .text
    )
    assert new == js.replace("x + x", "2 * x")


def test_the_answer_is_read_once_for_accept_and_result(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0
    real = reading.read_candidate

    def counting(*args: object) -> object:
        nonlocal calls
        calls += 1
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(reading, "read_candidate", counting)
    reader = reader_at(SQL, "python", "def query")
    answer = "```python\ndef query(self):\n    return 3\n```"
    assert reader.refusal(answer) is None
    assert reader.read(answer) is reader.read(answer)
    assert calls == 1
    assert reader.refusal("```python\ndef nothing():\n    pass\n```") is not None
    assert calls == 2


def test_a_rename_takes_the_definition_the_instruction_names() -> None:
    text = "def parse(row):\n    return row\n"
    answer = (
        "```python\ndef helper(row):\n    return row\n\n\n"
        "def parse_header(row):\n    return helper(row)\n```"
    )
    plain = reader_at(text, "python", "def parse")
    assert "keeps-name" in refused(plain, answer)
    asked = reader_at(text, "python", "def parse", instruction="rename to parse_header")
    assert "keeps-neighbours" in refused(asked, answer)  # it calls a helper nobody asked for
    both = reader_at(
        text, "python", "def parse", instruction="Rename it to parse_header and extract helper"
    )
    assert both.read(answer).text == answer.split("\n", 1)[1].rsplit("\n", 1)[0] + "\n"


def test_a_region_takes_the_block_most_like_it() -> None:
    text = "LIMIT = 10\nNAMES = ['a', 'b']\n\n\ndef f():\n    return LIMIT\n"
    doc = Document.from_text(text, language_id="python")
    end = doc.data.index(b"\n\n")
    context = build_context(doc, (0, end), 2000)
    reader = EditReader(edit_scope("refactor", Target(doc, 0, end), context, None))
    answer = (
        "```python\nprint(f())\n```\n\nThe constants:\n\n"
        "```python\nLIMIT = 10\nNAMES = ('a', 'b')\n```"
    )
    assert reader.read(answer).text == text.replace("['a', 'b']", "('a', 'b')")


def test_plain_text_is_a_window_edited_by_the_code_block() -> None:
    doc = Document.from_text("first line\nsecond line\n", path="notes.txt")
    end = len(doc.data)
    context = build_context(doc, (0, end), 2000)
    reader = EditReader(edit_scope("refactor", Target(doc, 0, end), context, None))
    assert reader.scope.unit is None
    assert reader.read("```\nFirst line.\nSecond line.\n```").text == "First line.\nSecond line.\n"


DOC = "def area(r):\n    return 3.14 * r * r\n"


def test_document_prefers_the_units_own_doc_over_other_blocks() -> None:
    answer = (
        "```python\nprint(area(2))\n```\n\n"
        '```python\ndef area(r):\n    """Area of a circle of radius r."""\n    return 0\n```'
    )
    new = reader_at(DOC, "python", "def area", "document").read(answer).text
    assert new == 'def area(r):\n    """Area of a circle of radius r."""\n    return 3.14 * r * r\n'


def test_document_takes_a_doc_in_another_languages_comment_syntax() -> None:
    answer = "```\n/**\n * Area of a circle.\n * @param r the radius\n */\n```"
    new = reader_at(DOC, "python", "def area", "document").read(answer).text
    assert '    """Area of a circle.\n    @param r the radius\n    """\n' in new


def test_document_refusals_say_what_is_missing() -> None:
    reader = reader_at(DOC, "python", "def area", "document")
    undocumented = "```python\ndef area(r):\n    return 3.14 * r ** 2\n```"
    assert refused(reader, undocumented) == (
        "document: has-doc: the answer's `area` carries no documentation"
    )
    assert refused(reader, "```python\nprint(area(2))\n```") == (
        "document: has-doc: the answer holds no documentation for `area`"
    )


def test_a_truncated_answer_whose_doc_is_complete_still_documents() -> None:
    answer = '```python\ndef area(r):\n    """Area of a circle."""\n    return 3.14 * r *'
    new = reader_at(DOC, "python", "def area", "document").read(answer).text
    assert new == 'def area(r):\n    """Area of a circle."""\n    return 3.14 * r * r\n'


def test_the_kept_doc_comment_stays_above_the_unit_when_a_helper_comes_first() -> None:
    js = "/**\n * Doubles x.\n */\nfunction double(x) {\n  return x + x;\n}\n"
    answer = (
        "```js\nfunction twice(x) {\n  return x * 2;\n}\n\n"
        "function double(x) {\n  return twice(x);\n}\n```"
    )
    reader = reader_at(js, "javascript", "function double", instruction="extract a helper")
    assert reader.read(answer).text == (
        "function twice(x) {\n  return x * 2;\n}\n\n"
        "/**\n * Doubles x.\n */\nfunction double(x) {\n  return twice(x);\n}\n"
    )


ANONYMOUS = "export default class {\n  size() {\n    return 0;\n  }\n}\n"


def test_an_anonymous_unit_takes_the_single_definition_of_its_kind() -> None:
    answer = (
        "Here's the documented class:\n\n```js\n/**\n * An empty collection.\n */\n"
        "export default class {\n  size() {\n    return 0;\n  }\n}\n```"
    )
    reader = reader_at(ANONYMOUS, "javascript", "export default class", "document")
    assert reader.scope.label == "the anonymous class"
    assert reader.read(answer).text == "/** An empty collection. */\n" + ANONYMOUS
    refactor = reader_at(ANONYMOUS, "javascript", "export default class")
    better = ANONYMOUS.replace("return 0;", "return this.items?.length ?? 0;")
    assert refactor.read(f"```js\n{better}```").text == better
