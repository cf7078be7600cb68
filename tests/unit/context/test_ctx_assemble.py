from __future__ import annotations

from tests.unit.context.context_samples import offset_of, sample_doc

from magray_lsp.context import (
    Document,
    Position,
    Range,
    build_context,
    build_context_at,
    estimate_tokens,
    find_unit,
)


def test_method_context_sections_in_priority_order() -> None:
    doc = sample_doc("python")
    at = offset_of(doc, "item.quantity += quantity")
    ctx = build_context(doc, (at, at), 4000)
    assert (ctx.unit, ctx.kind, ctx.class_name, ctx.language) == (
        "add",
        "method",
        "Inventory",
        "python",
    )
    assert ctx.target.startswith("    def add(self, sku: str, quantity: int = 1) -> Item:\n")
    assert ctx.target.rstrip().endswith("return item")
    assert ctx.text.startswith(ctx.target)
    assert ctx.sections == (
        "target",
        "imports",
        "enclosing class Inventory",
        "nearby definitions",
        "referenced definitions",
    )
    text = ctx.text
    order = [
        text.index("# --- imports ---"),
        text.index("import json"),
        text.index("# --- enclosing class Inventory ---"),
        text.index("    def add(self, sku: str, quantity: int = 1) -> Item: ...  # <- target"),
        text.index("# --- nearby definitions ---"),
        text.index("def load(path: Path) -> Inventory: ..."),
        text.index("# --- referenced definitions ---"),
        text.index("MAX_ITEMS = 1000"),
    ]
    assert order == sorted(order)
    assert "    @property\n    def total(self) -> int: ..." in text
    assert "sum(item.quantity" not in text  # other bodies are elided
    assert ctx.context_tokens == estimate_tokens(ctx.text, "python")
    assert ctx.file_tokens == doc.file_tokens
    assert ctx.omitted == 0
    assert ctx.line_span == (28, 33)


def test_budget_trims_whole_units_and_keeps_the_target() -> None:
    doc = sample_doc("python")
    at = offset_of(doc, "item.quantity += quantity")
    full = build_context(doc, (at, at), 4000)
    for budget in (0, 40, 80, 120, 160, 200):
        ctx = build_context(doc, (at, at), budget)
        assert ctx.target == full.target
        assert ctx.text.startswith(full.target)
        if budget >= ctx.target_tokens + 20:
            assert ctx.context_tokens <= budget + 5
        # Every line added is a whole line of the full context: nothing is cut mid-unit.
        full_lines = set(full.text.splitlines())
        assert all(line in full_lines for line in ctx.text.splitlines())
        assert ctx.omitted > 0 or ctx.text == full.text
    tiny = build_context(doc, (at, at), 1)
    assert tiny.text == tiny.target
    assert tiny.sections == ("target",)
    assert tiny.context_tokens > 1  # the target is never dropped, even over budget


def test_go_method_gets_its_type_and_sibling_methods() -> None:
    doc = sample_doc("go")
    ctx = build_context(doc, (offset_of(doc, "r.W *= f"),) * 2, 4000)
    assert (ctx.unit, ctx.class_name) == ("Scale", "Rect")
    section = ctx.text.split("// --- Rect (type and methods) ---\n", 1)[1]
    assert section.startswith(
        "type Rect struct {\n\tW, H float64\n}\nfunc (r Rect) Area() float64 { ... }"
    )
    assert "var ErrNegative = errors.New" in ctx.text  # referenced
    assert ctx.text.count("func (r Rect) Area() float64") == 1  # shown once only


def test_rust_method_gets_the_struct_and_the_impl_outline() -> None:
    doc = sample_doc("rust")
    at = offset_of(doc, "self.balance -= amount")
    ctx = build_context(doc, (at, at), 4000)
    assert ctx.target.startswith("    /// Withdraws `amount`")  # the doc comment belongs to it
    assert "pub struct Account {\n    owner: String,\n    balance: i64,\n}" in ctx.text
    assert "impl Account {\n    pub fn new(owner: &str) -> Self { ... }" in ctx.text
    assert "pub enum TxError {" in ctx.text


def test_cpp_out_of_class_definition_gets_the_class_outline() -> None:
    doc = sample_doc("cpp")
    at = offset_of(doc, 'return "circle')
    ctx = build_context(doc, (at, at), 4000)
    assert ctx.unit == "name"
    assert "class Circle : public Shape {\npublic:\n    explicit Circle(double r)" in ctx.text


def test_every_language_produces_a_unit_context(language: str) -> None:
    doc = sample_doc(language)
    unit = find_unit(doc, len(doc.data) // 2)
    if unit is None:  # between units: the next line that is inside one
        unit = find_unit(doc, doc.data.index(b"\n", len(doc.data) // 2) + 6)
    assert unit is not None
    ctx = build_context(doc, unit, 3000)
    assert ctx.unit == unit.name
    assert ctx.kind == unit.kind
    assert ctx.text.startswith(ctx.target)
    assert "imports" in ctx.sections
    assert len(ctx.sections) >= 3
    assert ctx.context_tokens <= 3000


def test_lsp_range_entry_point_uses_utf16() -> None:
    doc = sample_doc("python")
    line = doc.text.split("\n").index("    def remove(self, sku: str) -> None:") + 1
    # "        # 删除 an item" - the character offsets are UTF-16 units
    ctx = build_context_at(doc, Range(Position(line, 12), Position(line, 12)), 1000)
    assert ctx.unit == "remove"


def test_plain_text_gets_a_window_of_lines() -> None:
    lines = [f"line {i} of the notes" for i in range(500)]
    doc = Document.from_text("\n".join(lines) + "\n", path="notes.txt")
    at = doc.line_index.line_start(250) + 3
    ctx = build_context(doc, (at, at), 200)
    assert (ctx.kind, ctx.language, ctx.unit) == ("window", "text", "")
    assert ctx.target == "line 250 of the notes\n"
    assert ctx.line_span == (250, 250)
    assert "line 249 of the notes\nline 250 of the notes\nline 251" in ctx.text
    assert ctx.context_tokens <= 200
    assert ctx.omitted > 0
    window = ctx.text.splitlines()
    assert window == lines[int(window[0].split()[1]) : int(window[-1].split()[1]) + 1]


def test_selection_in_plain_text_is_the_target() -> None:
    doc = Document.from_text("a\nb\nc\nd\ne\n", path="x.txt")
    ctx = build_context(doc, (2, 6), 1000)  # "b\nc\n" ends at column 0 of line 3
    assert ctx.target == "b\nc\n"
    assert ctx.text == "a\nb\nc\nd\ne\n"


def test_code_outside_any_unit_falls_back_to_a_window() -> None:
    doc = sample_doc("python")
    at = offset_of(doc, "import json")
    ctx = build_context(doc, (at, at), 50)
    assert ctx.kind == "window"
    assert ctx.target == "import json\n"
    assert ctx.language == "python"


def test_binary_content_gives_an_empty_context() -> None:
    doc = Document.from_text("PK\x03\x04\x00\x00binary", path="a.zip")
    ctx = build_context(doc, (0, 0), 1000)
    assert (ctx.kind, ctx.language, ctx.text, ctx.context_tokens) == ("binary", "binary", "", 0)


def test_positions_past_the_end_are_clamped() -> None:
    doc = Document.from_text("x = 1\ny = 2\n", path="a.py")
    ctx = build_context(doc, (10**9, 10**9 + 5), 100)
    assert ctx.kind == "window"
    assert ctx.line_span == (2, 2)
    assert ctx.text == "x = 1\ny = 2\n"
