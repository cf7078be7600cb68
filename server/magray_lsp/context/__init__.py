"""Code context from tree-sitter: documents and their parse trees, the unit at a position,
the context sent with a request and its token size, and checks on the edits that come back.

Nothing here imports a grammar until a document in that language is parsed.
"""

from .assemble import CodeContext, build_context, build_context_at
from .docstrings import DocEdit, docstring_edit
from .document import MAX_PARSE_BYTES, Document
from .edits import TextEditSpec, apply_edits, diff_edits
from .languages import DocStyle, LanguageSpec, all_languages, get_spec, language_for
from .normalize import normalized_code_key, normalized_unit_key
from .parse_cache import INLINE_PARSE_MAX_BYTES, ParseCache
from .positions import LineIndex, Position, PositionEncoding, Range, TextIndex
from .syntax_check import (
    SyntaxIssue,
    error_count,
    is_acceptable,
    is_acceptable_edit,
    syntax_errors,
)
from .tokens import estimate_tokens
from .units import Unit, find_unit

__all__ = [
    "INLINE_PARSE_MAX_BYTES",
    "MAX_PARSE_BYTES",
    "CodeContext",
    "DocEdit",
    "DocStyle",
    "Document",
    "LanguageSpec",
    "LineIndex",
    "ParseCache",
    "Position",
    "PositionEncoding",
    "Range",
    "SyntaxIssue",
    "TextEditSpec",
    "TextIndex",
    "Unit",
    "all_languages",
    "apply_edits",
    "build_context",
    "build_context_at",
    "diff_edits",
    "docstring_edit",
    "error_count",
    "estimate_tokens",
    "find_unit",
    "get_spec",
    "is_acceptable",
    "is_acceptable_edit",
    "language_for",
    "normalized_code_key",
    "normalized_unit_key",
    "syntax_errors",
]
