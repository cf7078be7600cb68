"""Which languages we parse, how to recognise them, and what counts as a unit in each.

Grammar modules are imported on first use (`grammar()`), so importing this module is cheap and
the server answers `initialize` without loading eleven native grammars.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

if TYPE_CHECKING:
    from tree_sitter import Language


class DocStyle(Enum):
    """Where a language keeps a unit's documentation and how it is delimited."""

    PYTHON = "python"  # """docstring""" as the first statement of the body
    JSDOC = "jsdoc"  # /** ... */ above (JSDoc, TSDoc, Javadoc)
    DOXYGEN = "doxygen"  # /** ... */ above, C and C++
    RUST = "rust"  # /// lines above (before attributes)
    GO = "go"  # // lines above, no blank line between
    RUBY = "ruby"  # # lines above
    LUA = "lua"  # --- lines above (LuaCATS / LDoc)


@dataclass(frozen=True, slots=True)
class LanguageSpec:
    """Static facts about one tree-sitter grammar."""

    name: str
    grammar_module: str
    grammar_factory: str
    extensions: tuple[str, ...]
    language_ids: tuple[str, ...]
    #: node type -> unit kind (function, method, class, struct, ...)
    units: Mapping[str, str]
    #: unit node types whose function members are methods and whose name is their `class_name`
    containers: frozenset[str]
    doc_style: DocStyle
    line_comment: str
    comment_types: frozenset[str]
    import_types: frozenset[str]
    #: nodes that wrap a unit and belong to it: decorators, `export`, `template<...>`
    wrappers: frozenset[str] = frozenset()
    #: preceding siblings that belong to the next unit (Rust `#[attr]`)
    leading: frozenset[str] = frozenset()
    #: node types binding a name to a value; a binding whose value is a function is a unit
    bindings: frozenset[str] = frozenset()
    function_values: frozenset[str] = frozenset()
    #: tokens formatters add or drop freely (JS `;` under ASI); ignored by the normalized key
    optional_tokens: frozenset[str] = frozenset()
    #: identifier leaf types, for "same-file symbols the unit references"
    identifier_types: frozenset[str] = frozenset({"identifier"})
    #: statement-level nodes that only hold other definitions (namespace bodies etc.)
    transparent: frozenset[str] = field(default_factory=frozenset)

    def __repr__(self) -> str:
        return f"LanguageSpec({self.name!r})"


_C_UNITS = {
    "function_definition": "function",
    "struct_specifier": "struct",
    "union_specifier": "union",
    "enum_specifier": "enum",
    "type_definition": "type",
    "declaration": "function",  # a prototype; kept only when it declares a function
}
_JS_UNITS = {
    "function_declaration": "function",
    "generator_function_declaration": "function",
    "class_declaration": "class",
    "class": "class",
    "method_definition": "method",
}
_TS_UNITS = {
    **_JS_UNITS,
    "abstract_class_declaration": "class",
    "interface_declaration": "interface",
    "type_alias_declaration": "type",
    "enum_declaration": "enum",
    "internal_module": "namespace",
    "module": "namespace",
    "function_signature": "function",
    "method_signature": "method",
    "abstract_method_signature": "method",
}


def _js_like(
    name: str,
    factory: str,
    extensions: tuple[str, ...],
    ids: tuple[str, ...],
    units: dict[str, str],
) -> LanguageSpec:
    """JavaScript, TypeScript and TSX share everything but the grammar and unit table."""
    return LanguageSpec(
        name=name,
        grammar_module="tree_sitter_javascript"
        if name == "javascript"
        else "tree_sitter_typescript",
        grammar_factory=factory,
        extensions=extensions,
        language_ids=ids,
        units=units,
        containers=frozenset(
            {"class_declaration", "class", "abstract_class_declaration", "interface_declaration"}
        ),
        doc_style=DocStyle.JSDOC,
        line_comment="//",
        comment_types=frozenset({"comment"}),
        import_types=frozenset({"import_statement"}),
        wrappers=frozenset({"export_statement", "ambient_declaration"}),
        bindings=frozenset({"variable_declarator", "field_definition", "public_field_definition"}),
        function_values=frozenset(
            {"arrow_function", "function_expression", "function", "generator_function"}
        ),
        optional_tokens=frozenset({";"}),
        identifier_types=frozenset(
            {
                "identifier",
                "type_identifier",
                "property_identifier",
                "shorthand_property_identifier",
            }
        ),
    )


_SPECS: tuple[LanguageSpec, ...] = (
    LanguageSpec(
        name="python",
        grammar_module="tree_sitter_python",
        grammar_factory="language",
        extensions=(".py", ".pyi", ".pyw"),
        language_ids=("python",),
        units={"function_definition": "function", "class_definition": "class"},
        containers=frozenset({"class_definition"}),
        doc_style=DocStyle.PYTHON,
        line_comment="#",
        comment_types=frozenset({"comment"}),
        import_types=frozenset(
            {"import_statement", "import_from_statement", "future_import_statement"}
        ),
        wrappers=frozenset({"decorated_definition"}),
    ),
    _js_like(
        "javascript",
        "language",
        (".js", ".mjs", ".cjs", ".jsx"),
        ("javascript", "javascriptreact", "jsx"),
        _JS_UNITS,
    ),
    _js_like(
        "typescript", "language_typescript", (".ts", ".mts", ".cts"), ("typescript",), _TS_UNITS
    ),
    _js_like("tsx", "language_tsx", (".tsx",), ("typescriptreact", "tsx"), _TS_UNITS),
    LanguageSpec(
        name="rust",
        grammar_module="tree_sitter_rust",
        grammar_factory="language",
        extensions=(".rs",),
        language_ids=("rust",),
        units={
            "function_item": "function",
            "function_signature_item": "function",
            "struct_item": "struct",
            "enum_item": "enum",
            "union_item": "union",
            "trait_item": "trait",
            "impl_item": "impl",
            "mod_item": "module",
            "macro_definition": "macro",
        },
        containers=frozenset({"impl_item", "trait_item"}),
        doc_style=DocStyle.RUST,
        line_comment="//",
        comment_types=frozenset({"line_comment", "block_comment"}),
        import_types=frozenset({"use_declaration", "extern_crate_declaration"}),
        leading=frozenset({"attribute_item"}),
        identifier_types=frozenset({"identifier", "type_identifier", "field_identifier"}),
    ),
    LanguageSpec(
        name="go",
        grammar_module="tree_sitter_go",
        grammar_factory="language",
        extensions=(".go",),
        language_ids=("go",),
        units={
            "function_declaration": "function",
            "method_declaration": "method",
            "type_declaration": "type",
        },
        containers=frozenset(),
        doc_style=DocStyle.GO,
        line_comment="//",
        comment_types=frozenset({"comment"}),
        import_types=frozenset({"import_declaration", "package_clause"}),
        identifier_types=frozenset({"identifier", "type_identifier", "field_identifier"}),
    ),
    LanguageSpec(
        name="java",
        grammar_module="tree_sitter_java",
        grammar_factory="language",
        extensions=(".java",),
        language_ids=("java",),
        units={
            "class_declaration": "class",
            "interface_declaration": "interface",
            "enum_declaration": "enum",
            "record_declaration": "record",
            "annotation_type_declaration": "interface",
            "method_declaration": "method",
            "constructor_declaration": "constructor",
            "compact_constructor_declaration": "constructor",
        },
        containers=frozenset(
            {
                "class_declaration",
                "interface_declaration",
                "enum_declaration",
                "record_declaration",
                "annotation_type_declaration",
            }
        ),
        doc_style=DocStyle.JSDOC,
        line_comment="//",
        comment_types=frozenset({"line_comment", "block_comment"}),
        import_types=frozenset({"import_declaration", "package_declaration"}),
        identifier_types=frozenset({"identifier", "type_identifier"}),
    ),
    LanguageSpec(
        name="c",
        grammar_module="tree_sitter_c",
        grammar_factory="language",
        extensions=(".c", ".h"),
        language_ids=("c",),
        units=_C_UNITS,
        containers=frozenset(),
        doc_style=DocStyle.DOXYGEN,
        line_comment="//",
        comment_types=frozenset({"comment"}),
        import_types=frozenset({"preproc_include"}),
        identifier_types=frozenset({"identifier", "type_identifier", "field_identifier"}),
        transparent=frozenset({"linkage_specification", "preproc_ifdef", "preproc_if"}),
    ),
    LanguageSpec(
        name="cpp",
        grammar_module="tree_sitter_cpp",
        grammar_factory="language",
        extensions=(".cpp", ".cc", ".cxx", ".c++", ".hpp", ".hh", ".hxx", ".h++", ".ipp"),
        language_ids=("cpp", "c++", "cuda-cpp"),
        units={
            **_C_UNITS,
            "class_specifier": "class",
            "namespace_definition": "namespace",
            "field_declaration": "method",  # a member function declaration
        },
        containers=frozenset({"class_specifier", "struct_specifier", "union_specifier"}),
        doc_style=DocStyle.DOXYGEN,
        line_comment="//",
        comment_types=frozenset({"comment"}),
        import_types=frozenset({"preproc_include", "using_declaration", "alias_declaration"}),
        wrappers=frozenset({"template_declaration"}),
        identifier_types=frozenset(
            {"identifier", "type_identifier", "field_identifier", "namespace_identifier"}
        ),
        transparent=frozenset({"linkage_specification", "preproc_ifdef", "preproc_if"}),
    ),
    LanguageSpec(
        name="ruby",
        grammar_module="tree_sitter_ruby",
        grammar_factory="language",
        extensions=(".rb", ".rake", ".gemspec", ".ru"),
        language_ids=("ruby",),
        units={
            "method": "method",
            "singleton_method": "method",
            "class": "class",
            "module": "module",
        },
        containers=frozenset({"class", "module", "singleton_class"}),
        doc_style=DocStyle.RUBY,
        line_comment="#",
        comment_types=frozenset({"comment"}),
        import_types=frozenset({"call"}),  # narrowed to require/require_relative in imports
        identifier_types=frozenset({"identifier", "constant"}),
    ),
    LanguageSpec(
        name="lua",
        grammar_module="tree_sitter_lua",
        grammar_factory="language",
        extensions=(".lua",),
        language_ids=("lua",),
        units={"function_declaration": "function"},
        containers=frozenset(),
        doc_style=DocStyle.LUA,
        line_comment="--",
        comment_types=frozenset({"comment"}),
        import_types=frozenset({"variable_declaration"}),  # narrowed to `local x = require(...)`
        bindings=frozenset({"assignment_statement"}),
        function_values=frozenset({"function_definition"}),
        optional_tokens=frozenset({";"}),
    ),
)

_BY_NAME: dict[str, LanguageSpec] = {spec.name: spec for spec in _SPECS}
_BY_EXTENSION: dict[str, LanguageSpec] = {ext: s for s in _SPECS for ext in s.extensions}
_BY_LANGUAGE_ID: dict[str, LanguageSpec] = {lid: s for s in _SPECS for lid in s.language_ids}

_grammar_lock = threading.Lock()
_grammars: dict[str, Language] = {}


def all_languages() -> tuple[LanguageSpec, ...]:
    return _SPECS


def get_spec(name: str) -> LanguageSpec | None:
    """Spec by our name ("python", "tsx", ...) or by an LSP languageId."""
    return _BY_NAME.get(name) or _BY_LANGUAGE_ID.get(name.lower())


def language_for(language_id: str | None = None, path: str | None = None) -> LanguageSpec | None:
    """The language of a document; None means plain text (never an error).

    The client's languageId wins; the file extension (of a path or a `file://` URI) decides
    when the id is missing or one we do not know (e.g. "plaintext" for a `.py` file)."""
    if language_id:
        spec = _BY_LANGUAGE_ID.get(language_id.lower()) or _BY_NAME.get(language_id.lower())
        if spec is not None:
            return spec
    if path:
        if "://" in path:
            path = unquote(urlparse(path).path)
        suffix = PurePosixPath(path.replace("\\", "/")).suffix.lower()
        return _BY_EXTENSION.get(suffix)
    return None


def grammar(spec: LanguageSpec) -> Language:
    """The tree-sitter Language, importing its grammar module on first use."""
    found = _grammars.get(spec.name)
    if found is not None:
        return found
    with _grammar_lock:
        found = _grammars.get(spec.name)
        if found is None:
            from tree_sitter import Language

            module = importlib.import_module(spec.grammar_module)
            found = Language(getattr(module, spec.grammar_factory)())
            _grammars[spec.name] = found
        return found
