from __future__ import annotations

import pytest
from tests.unit.context.context_samples import offset_of, sample_doc

from magray_lsp.context import find_unit, normalized_code_key, normalized_unit_key

# language -> (code, the same code reformatted with comments changed, a real code change)
CASES = {
    "python": (
        "def area(w, h):\n    # width times height\n    return w * h\n",
        "def area(w,h):\n  return w*h  # area\n",
        "def area(w, h):\n    return w + h\n",
    ),
    "javascript": (
        "function f(a, b) {\n  return [a, b];\n}\n",
        "function f(a,b){ /* pair */ return [a,b,] }",
        "function f(a, b) {\n  return [b, a];\n}\n",
    ),
    "typescript": (
        "const n: number = 'x'.length;\n",
        'const n: number = "x".length // length\n',
        "const n: number = 'y'.length;\n",
    ),
    "tsx": (
        "const A = () => <div className='a'>{x}</div>;\n",
        'const A = () =>\n  <div className="a">{x}</div>\n',
        "const A = () => <div className='b'>{x}</div>;\n",
    ),
    "rust": (
        "fn f(x: i32) -> i32 {\n    x + 1\n}\n",
        "/// doc\nfn f( x : i32 )->i32{ x+1 } // trailing\n",
        "fn f(x: i32) -> i32 {\n    x + 1;\n}\n",
    ),
    "go": (
        "func f(a int) int {\n\treturn a * 2\n}\n",
        "// f doubles\nfunc f(a int) int { return a*2 }\n",
        "func f(a int) int {\n\treturn a * 3\n}\n",
    ),
    "java": (
        "class A { int f(int a) { return a; } }",
        "class A {\n    /** doc */\n    int f(int a) {\n        return a;\n    }\n}\n",
        "class A { int f(int b) { return b; } }",
    ),
    "c": (
        "int f(int a) { return a << 1; }",
        "int f(int a)\n{\n    /* shift */\n    return a<<1;\n}\n",
        "int f(int a) { return a >> 1; }",
    ),
    "cpp": (
        "int f(std::vector<int> v) { return v.size(); }",
        "int f( std::vector<int> v ) {\n  return v.size();  // n\n}\n",
        "int f(std::vector<int> v) { return v.empty(); }",
    ),
    "ruby": (
        "def f(a)\n  a + 1\nend\n",
        "# adds\ndef f(a)\n    a+1   # one\nend",
        "def f(a)\n  a - 1\nend\n",
    ),
    "lua": (
        "local function f(a)\n  return a .. 'x'\nend\n",
        '-- concat\nlocal function f(a) return a.."x"; end',
        "local function f(a)\n  return a .. 'y'\nend\n",
    ),
}


def test_reformatting_keeps_the_key_code_changes_do_not(language: str) -> None:
    code, reformatted, changed = CASES[language]
    key = normalized_code_key(language, code)
    assert len(key) == 64
    assert normalized_code_key(language, reformatted) == key
    assert normalized_code_key(language, changed) != key


def test_python_structure_matters_even_with_the_same_tokens() -> None:
    # Same token sequence, different block structure: different programs.
    a = "if a:\n    b()\nc()\n"
    b = "if a:\n    b()\n    c()\n"
    assert normalized_code_key("python", a) != normalized_code_key("python", b)


def test_string_contents_are_not_normalized() -> None:
    assert normalized_code_key("javascript", 'x = "\'"') != normalized_code_key(
        "javascript", "x = '\"'"
    )


def test_languages_do_not_collide() -> None:
    assert normalized_code_key("javascript", "f(x)") != normalized_code_key("typescript", "f(x)")


def test_plain_text_collapses_whitespace() -> None:
    assert normalized_code_key(None, "a  b\n\tc ") == normalized_code_key("plaintext", "a b c")
    assert normalized_code_key(None, "a b c") != normalized_code_key(None, "a b d")


def test_unit_key_matches_key_of_its_code(language: str) -> None:
    doc = sample_doc(language)
    needle = {
        "python": "def load",
        "javascript": "async function withRetry",
        "typescript": "export function distance",
        "tsx": "export function TodoList",
        "rust": "pub fn index_by_owner",
        "go": "func TotalArea",
        "java": "public boolean canBorrow",
        "c": "void vec_free",
        "cpp": "double total_area",
        "ruby": "def greet",
        "lua": "local function depth_ok",
    }[language]
    unit = find_unit(doc, offset_of(doc, needle, delta=2))
    assert unit is not None
    start, end = unit.byte_span
    code = doc.data[start:end].decode()
    assert normalized_unit_key(doc, unit) == normalized_code_key(language, code)


def test_a_method_cut_out_of_its_class_keeps_its_key() -> None:
    doc = sample_doc("python")
    unit = find_unit(doc, offset_of(doc, "item.quantity += quantity"))
    assert unit is not None
    indented = doc.data[doc.data.rfind(b"\n", 0, unit.byte_span[0]) + 1 : unit.byte_span[1]]
    dedented = "\n".join(line[4:] for line in indented.decode().split("\n"))
    assert normalized_code_key("python", indented.decode()) == normalized_code_key(
        "python", dedented
    )
    assert normalized_unit_key(doc, unit) == normalized_code_key("python", dedented)


@pytest.mark.parametrize("code", ["", "   \n", "def (((", "\x00\x01"])
def test_odd_input_still_hashes(code: str) -> None:
    assert len(normalized_code_key("python", code)) == 64


# language -> (code with comments, the same reformatted, a comment added, a comment changed)
COMMENTED = {
    "python": (
        "def area(w, h):\n    # width times height\n    return w * h\n",
        "def area(w,h):\n  #   width  times height\n  return w*h\n",
        "def area(w, h):\n    # width times height\n    return w * h  # cm2\n",
        "def area(w, h):\n    # height times width\n    return w * h\n",
    ),
    "javascript": (
        "function f(a, b) {\n  /* pair\n   * of two */\n  return [a, b];\n}\n",
        "function f(a,b){\n      /* pair\n       * of two */ return [a,b,] }",
        "// pairs\nfunction f(a, b) {\n  /* pair\n   * of two */\n  return [a, b];\n}\n",
        "function f(a, b) {\n  /* pair\n   * of three */\n  return [a, b];\n}\n",
    ),
    "typescript": (
        "const n: number = 'x'.length; // length\n",
        'const n: number = "x".length  //  length\n',
        "// n\nconst n: number = 'x'.length; // length\n",
        "const n: number = 'x'.length; // size\n",
    ),
    "tsx": (
        "const A = () => <div className='a'>{/* x */ x}</div>;\n",
        'const A = () =>\n  <div className="a">{/*  x */ x}</div>\n',
        "const A = () => <div className='a'>{/* x */ x /* y */}</div>;\n",
        "const A = () => <div className='a'>{/* z */ x}</div>;\n",
    ),
    "rust": (
        "/// Adds one.\nfn f(x: i32) -> i32 {\n    x + 1\n}\n",
        "///   Adds one.\nfn f( x : i32 )->i32{ x+1 }\n",
        "/// Adds one.\nfn f(x: i32) -> i32 {\n    x + 1 // never overflows\n}\n",
        "/// Adds two.\nfn f(x: i32) -> i32 {\n    x + 1\n}\n",
    ),
    "go": (
        "// f doubles\nfunc f(a int) int {\n\treturn a * 2\n}\n",
        "// f  doubles\nfunc f(a int) int { return a*2 }\n",
        "// f doubles\nfunc f(a int) int {\n\treturn a * 2 // twice\n}\n",
        "// f triples\nfunc f(a int) int {\n\treturn a * 2\n}\n",
    ),
    "java": (
        "class A {\n    /** doc */\n    int f(int a) {\n        return a;\n    }\n}\n",
        "class A { /**  doc */ int f(int a) { return a; } }",
        "class A {\n    /** doc */\n    int f(int a) {\n        return a; // same\n    }\n}\n",
        "class A {\n    /** docs */\n    int f(int a) {\n        return a;\n    }\n}\n",
    ),
    "c": (
        "int f(int a)\n{\n    /* shift */\n    return a<<1;\n}\n",
        "int f(int a) { /* shift */ return a << 1; }",
        "int f(int a)\n{\n    /* shift */\n    return a<<1; // twice\n}\n",
        "int f(int a)\n{\n    /* double */\n    return a<<1;\n}\n",
    ),
    "cpp": (
        "int f(std::vector<int> v) {\n  return v.size();  // n\n}\n",
        "int f( std::vector<int> v ) { return v.size(); // n\n}",
        "// count\nint f(std::vector<int> v) {\n  return v.size();  // n\n}\n",
        "int f(std::vector<int> v) {\n  return v.size();  // count\n}\n",
    ),
    "ruby": (
        "# adds\ndef f(a)\n  a + 1\nend\n",
        "#  adds\ndef f(a)\n    a+1\nend",
        "# adds\ndef f(a)\n  a + 1 # one\nend\n",
        "# adds one\ndef f(a)\n  a + 1\nend\n",
    ),
    "lua": (
        "-- concat\nlocal function f(a)\n  return a .. 'x'\nend\n",
        '--  concat\nlocal function f(a) return a.."x"; end',
        "-- concat\nlocal function f(a)\n  return a .. 'x' -- suffix\nend\n",
        "-- join\nlocal function f(a)\n  return a .. 'x'\nend\n",
    ),
}


def test_an_edit_key_keeps_comments_but_not_formatting(language: str) -> None:
    code, reformatted, added, changed = COMMENTED[language]
    key = normalized_code_key(language, code, comments=True)
    assert normalized_code_key(language, reformatted, comments=True) == key
    assert normalized_code_key(language, added, comments=True) != key
    assert normalized_code_key(language, changed, comments=True) != key
    # the comment-blind key (explain, hover) does not see any of it
    blind = normalized_code_key(language, code)
    assert {normalized_code_key(language, c) for c in (reformatted, added, changed)} == {blind}


def test_an_edit_key_sees_a_comment_removed() -> None:
    code, *_ = COMMENTED["python"]
    removed = "def area(w, h):\n    return w * h\n"
    assert normalized_code_key("python", removed, comments=True) != normalized_code_key(
        "python", code, comments=True
    )
    # a comment that only moved to another line is a formatting change of the code around it
    moved = "def area(w, h):\n    return w * h\n    # width times height\n"
    assert normalized_code_key("python", moved, comments=True) != normalized_code_key(
        "python", code, comments=True
    )
