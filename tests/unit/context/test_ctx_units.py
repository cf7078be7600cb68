from __future__ import annotations

import pytest
from tests.unit.context.context_samples import offset_of, sample_doc

from magray_lsp.context import Document, find_unit

# (language, text the cursor is placed on, expected kind, name, class name)
CASES = [
    ("python", "item.quantity += quantity", "method", "add", "Inventory"),
    ("python", "default_location", "class", "Inventory", None),
    ("python", "@property", "method", "total", "Inventory"),
    ("python", "return sum(item.quantity", "method", "total", "Inventory"),
    ("python", "sku: str\n", "class", "Item", None),
    ("python", "inventory = Inventory(path)", "function", "load", None),
    ("python", "fresh = load(", "function", "refresh", None),
    ("javascript", "const entry = this.entries", "method", "get", "TtlCache"),
    ("javascript", "static fromObject", "method", "fromObject", "TtlCache"),
    ("javascript", "JSON.parse(text)", "function", "loadConfig", None),
    ("javascript", "new Promise", "function", "sleep", None),
    ("javascript", "lastError = err", "function", "withRetry", None),
    ("typescript", "Math.hypot", "function", "distance", None),
    ("typescript", "distance(this.center, p)", "method", "contains", "Circle"),
    ("typescript", "readonly name = ", "class", "Circle", None),
    ("typescript", "area(): number;", "method", "area", "Shape"),
    ("typescript", "abstract describe", "method", "describe", "Registry"),
    ("typescript", 'Red = "', "enum", "Color", None),
    ("typescript", "shapes.reduce", "function", "largest", None),
    ("tsx", "<li className", "function", "TodoRow", None),
    ("tsx", "this.todos.push(todo)", "method", "add", "TodoStore"),
    ("tsx", "setTodos((ts)", "function", "toggle", None),
    ("tsx", "useState<Todo[]>", "function", "App", None),
    ("rust", "self.balance += amount", "method", "deposit", "Account"),
    ("rust", "owner: String", "struct", "Account", None),
    ("rust", "#[derive(Debug, Clone", "struct", "Account", None),
    ("rust", "write!(f,", "method", "fmt", "Account"),
    ("rust", "fn total(&self)", "method", "total", "Ledger"),
    ("rust", "map.insert(", "function", "index_by_owner", None),
    ("rust", "Frozen,", "enum", "TxError", None),
    ("go", "return r.W * r.H", "method", "Area", "Rect"),
    ("go", "r.W *= f", "method", "Scale", "Rect"),
    ("go", "total += s.Area()", "function", "TotalArea", None),
    ("go", "Name() string\n}", "interface", "Shape", None),
    ("go", "W, H float64", "struct", "Rect", None),
    ("java", "books.add(book)", "method", "addBook", "Library"),
    ("java", "@Override", "method", "toString", "Library"),
    ("java", "public Library() {", "constructor", "Library", "Library"),
    ("java", "int loans();", "method", "loans", "Member"),
    ("java", "FICTION", "enum", "Genre", "Library"),
    ("java", "private static final int MAX_LOANS", "class", "Library", None),
    ("c", "v->data = calloc", "function", "vec_new", None),
    ("c", "size_t len;", "struct", "vec", None),
    ("c", "s += v->data[i]", "function", "vec_sum", None),
    ("cpp", "return kPi * r_ * r_", "method", "area", "Circle"),
    ("cpp", 'return "circle', "method", "name", "Circle"),
    ("cpp", "value < lo ? lo", "function", "clamp", None),
    ("cpp", "++count;", "method", "add", "Stats"),
    ("cpp", "stats.add(s->area())", "function", "total_area", None),
    ("cpp", "virtual double area() const = 0", "method", "area", "Shape"),
    ("ruby", "@items << {", "method", "add", "Cart"),
    ("ruby", "attr_reader", "class", "Cart", None),
    ("ruby", "JSON.parse(json)", "method", "from_json", "Cart"),
    ("ruby", "total * 0.2", "method", "tax", "Pricing"),
    ("ruby", 'puts "', "function", "greet", None),
    ("lua", "self.size = self.size + 1", "method", "push", "Stack"),
    ("lua", "setmetatable", "function", "new", "Stack"),
    ("lua", "depth <= MAX_DEPTH", "function", "depth_ok", None),
    ("lua", "return x * 2", "function", "helper", None),
    ("lua", "json.encode(stack.items)", "function", "encode", "M"),
]


@pytest.mark.parametrize(("language", "needle", "kind", "name", "class_name"), CASES)
def test_unit_at_position(
    language: str, needle: str, kind: str, name: str, class_name: str | None
) -> None:
    doc = sample_doc(language)
    unit = find_unit(doc, offset_of(doc, needle, delta=1))
    assert unit is not None
    assert (unit.kind, unit.name, unit.class_name) == (kind, name, class_name)
    start, end = unit.byte_span
    assert start <= offset_of(doc, needle) < end
    assert doc.data[start:end].decode().splitlines()[0].strip() != ""
    # Lines are 0-based and agree with the bytes.
    assert unit.line_span[0] == doc.data.count(b"\n", 0, start)
    assert unit.line_span[1] == doc.data.count(b"\n", 0, end)


# (language, needle on the unit, expected docstring start)
DOCUMENTED = [
    ("python", "class Inventory", "A collection of items keyed by SKU."),
    ("python", "async def refresh", "Reload the inventory from disk"),
    ("javascript", "export class TtlCache", "A tiny in-memory cache with expiry."),
    ("typescript", "export function distance", "Distance between two points.\n@param a"),
    ("tsx", "function TodoRow", "Renders one row of the list."),
    ("rust", "pub struct Account", "A bank account with a running balance."),
    ("rust", "pub fn withdraw", "Withdraws `amount`, failing when the balance is too low."),
    ("go", "func (r Rect) Area", "Area returns the rectangle's area."),
    ("go", "type Shape interface", "Shape is anything with an area."),
    ("java", "findByTitle(String", "Finds a book by its title.\n\n@param title the exact title"),
    ("c", "vec_t *vec_new", "Create an empty vector with room for `cap` elements."),
    ("cpp", "class Shape {", "Base class for all shapes."),
    ("ruby", "def total", "Total price of everything in the cart."),
    ("lua", "function Stack:peek", "Returns the top value without removing it.\n@return"),
]


@pytest.mark.parametrize(("language", "needle", "expected"), DOCUMENTED)
def test_existing_doc_comment_is_read(language: str, needle: str, expected: str) -> None:
    doc = sample_doc(language)
    unit = find_unit(doc, offset_of(doc, needle, delta=2))
    assert unit is not None
    assert unit.docstring is not None
    assert unit.docstring.startswith(expected)
    assert unit.doc_span is not None
    doc_start, doc_end = unit.doc_span
    assert doc_start < doc_end


def test_undocumented_units_have_no_docstring(language: str) -> None:
    doc = sample_doc(language)
    needle = {
        "python": "def save",
        "javascript": "async function withRetry",
        "typescript": "scale(factor",
        "tsx": "export function TodoList",
        "rust": "pub fn deposit",
        "go": "func (r *Rect) Scale",
        "java": "public void addBook",
        "c": "int vec_push",
        "cpp": "double total_area",
        "ruby": "def to_s",
        "lua": "function Stack:pop",
    }[language]
    unit = find_unit(doc, offset_of(doc, needle, delta=2))
    assert unit is not None
    assert unit.docstring is None
    assert unit.doc_span is None


def test_cursor_on_doc_comment_belongs_to_the_documented_unit() -> None:
    doc = sample_doc("rust")
    unit = find_unit(doc, offset_of(doc, "Withdraws", delta=3))
    assert unit is not None
    assert unit.name == "withdraw"
    java = sample_doc("java")
    unit = find_unit(java, offset_of(java, "Finds a book"))
    assert unit is not None
    assert unit.name == "findByTitle"


def test_cursor_in_indentation_and_at_end_of_line() -> None:
    doc = sample_doc("python")
    line_start = offset_of(doc, "    def save")
    unit = find_unit(doc, line_start)  # column 0 of an indented `def`
    assert unit is not None
    assert unit.name == "save"
    end_of_def = offset_of(doc, "def save(self) -> None:") + len("def save(self) -> None:")
    unit = find_unit(doc, end_of_def)
    assert unit is not None
    assert unit.name == "save"


def test_range_over_two_methods_is_their_class() -> None:
    doc = sample_doc("python")
    unit = find_unit(doc, offset_of(doc, "self.path = path"), offset_of(doc, "raise OverflowError"))
    assert unit is not None
    assert (unit.kind, unit.name) == ("class", "Inventory")


def test_range_over_two_top_level_functions_is_a_region() -> None:
    doc = sample_doc("python")
    start = offset_of(doc, "inventory = Inventory(path)")
    end = offset_of(doc, "lines = [f")
    unit = find_unit(doc, start, end)
    assert unit is not None
    assert unit.kind == "region"
    region = doc.data[unit.byte_span[0] : unit.byte_span[1]].decode()
    assert region.startswith("def load(")
    assert region.rstrip().endswith('return "\\n".join([GREETING, *lines])')


def test_signatures() -> None:
    doc = sample_doc("python")
    unit = find_unit(doc, offset_of(doc, "self.items.pop"))
    assert unit is not None
    assert unit.signature == "def remove(self, sku: str) -> None:"  # the comment is not part
    rust = sample_doc("rust")
    unit = find_unit(rust, offset_of(rust, "owner: String"))
    assert unit is not None
    assert unit.signature == "#[derive(Debug, Clone, PartialEq)]\npub struct Account"
    go = sample_doc("go")
    unit = find_unit(go, offset_of(go, "Area() float64\n\tName"))
    assert unit is not None
    assert unit.signature == "type Shape interface"


def test_positions_outside_any_unit() -> None:
    doc = sample_doc("python")
    assert find_unit(doc, offset_of(doc, "import json")) is None
    assert find_unit(doc, -50) is None  # clamped to 0: the module docstring, no unit
    # Past the end clamps to the end: the empty line after the final newline, no unit...
    assert find_unit(doc, 10**9) is None
    # ...while the last character of code still belongs to the last function.
    last = find_unit(doc, len(doc.data) - 2)
    assert last is not None
    assert last.name == "refresh"


def test_past_the_end_position_clamps() -> None:
    doc = Document.from_text("def f():\n    return 1", path="x.py")
    unit = find_unit(doc, 10**6)
    assert unit is not None
    assert unit.name == "f"


def test_plain_text_and_unparsed_documents_have_no_units() -> None:
    text = Document.from_text("def f():\n    pass\n", path="notes.txt")
    assert find_unit(text, 3) is None
    binary = Document.from_text("\x00\x01def f(): pass", path="x.py")
    assert binary.language is None
    assert find_unit(binary, 5) is None


def test_syntax_errors_still_find_the_unit() -> None:
    doc = Document.from_text("def ok():\n    return (1 +\n\ndef g():\n    pass\n", path="x.py")
    assert doc.tree is not None and doc.tree.root_node.has_error
    unit = find_unit(doc, doc.data.index(b"pass"))
    assert unit is not None
    assert (unit.kind, unit.name) == ("function", "g")
    broken = find_unit(doc, doc.data.index(b"(1"))
    assert broken is not None
    assert broken.name == "ok"
