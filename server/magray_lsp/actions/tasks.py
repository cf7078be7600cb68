"""Turn a Target into a Task: context under a token budget, the rendered prompt, a cache key."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from magray_lsp.actions.prompts import render
from magray_lsp.actions.target import Target
from magray_lsp.context.assemble import CodeContext, build_context
from magray_lsp.context.languages import DocStyle
from magray_lsp.context.normalize import normalized_code_key
from magray_lsp.context.tokens import estimate_tokens
from magray_lsp.task import Action, Task

MAX_OUTPUT_TOKENS = {"explain": 700, "document": 400, "refactor": 2000, "hover": 120}
DEFAULT_INSTRUCTION = "Make it clearer and simpler without changing what it does."
#: Actions whose answer is prose about the code. Every other action's answer becomes an edit of
#: the target, so its cache key keeps the target's comments: a cached refactor would otherwise
#: drop a comment added since (or bring back a deleted one), a cached doc comment replace one
#: the user wrote.
PROSE_ACTIONS: frozenset[str] = frozenset({"explain", "hover"})


@dataclass(frozen=True, slots=True)
class PreparedTask:
    task: Task
    context: CodeContext


def output_budget(action: Action, target_tokens: int) -> int:
    """A refactor's answer is about as long as its input; the rest have fixed budgets."""
    if action == "refactor":
        return max(MAX_OUTPUT_TOKENS["refactor"], int(target_tokens * 1.3) + 64)
    return MAX_OUTPUT_TOKENS[action]


def prepare(
    action: Action,
    target: Target,
    *,
    instruction: str | None = None,
    model_pin: str | None = None,
    context_budget: int,
) -> PreparedTask:
    ctx = build_context(target.doc, (target.start, target.end), context_budget)
    language = ctx.language
    kind = ctx.kind if ctx.kind not in ("window", "binary") else "code"
    name = ctx.unit or (f"lines {ctx.line_span[0] + 1}-{ctx.line_span[1] + 1}")
    spec = target.doc.language
    surrounding = _around_target(ctx, spec.line_comment if spec is not None else None)
    path = target.path.name if target.path else (target.doc.uri.rsplit("/", 1)[-1] or "untitled")
    prompt = render(
        action,
        language=language,
        path=path,
        kind=kind,
        name=name,
        target=ctx.target,
        context=surrounding,
        instruction=(instruction or DEFAULT_INSTRUCTION).strip(),
        doc_style=_doc_style(target),
        target_label=f"{kind} `{name}`" if ctx.unit else name,
    )
    # The context ignores comments for every action (an edit replaces only the target): a
    # reformat or a new comment elsewhere costs nothing.
    context_hash = normalized_code_key(language, ctx.text)[:32]
    task = Task(
        action=action,
        system=prompt.system,
        prompt=prompt.user,
        language=language,
        unit=ctx.unit,
        context_tokens=estimate_tokens(prompt.system + prompt.user, language),
        file_tokens=ctx.file_tokens,
        max_output_tokens=output_budget(action, ctx.target_tokens),
        private=target.private,
        cache_key=content_key(
            language, ctx.target, instruction, comments=action not in PROSE_ACTIONS
        ),
        model_pin=model_pin,
        source_path=str(target.path) if target.path else target.doc.uri,
        extra={"template": prompt.version, "context_hash": context_hash},
        prompt_prefix=prompt.prefix,
    )
    return PreparedTask(task, ctx)


def content_key(language: str, target: str, instruction: str | None, *, comments: bool) -> str:
    """The task's own part of the cache key: the target code, with whitespace (and, unless
    ``comments``, comments) ignored — real edits change it — and the instruction."""
    target_key = normalized_code_key(language, target, comments=comments)
    return hashlib.sha256(f"{target_key}|{instruction or ''}".encode()).hexdigest()


def _around_target(ctx: CodeContext, line_comment: str | None) -> str:
    """The context as a cacheable prompt prefix: the same text for every request it serves.
    The target is not at its head (the request shows it, so the context survives edits of the
    target) and not marked in its class outline (the request names it, so the methods of one
    class share the outline). A plain-text window keeps the target in place."""
    head = ctx.target.rstrip("\n")
    if ctx.kind == "window" or not ctx.text.startswith(head):
        rest = ctx.text if ctx.text != ctx.target else ""
    else:
        rest = ctx.text[len(head) :].strip("\n")
    if line_comment:
        rest = re.sub(rf"  {re.escape(line_comment)} <- target$", "", rest, flags=re.MULTILINE)
    return rest or "(no other code in the file)"


_STYLE_NAMES = {
    DocStyle.PYTHON: "docstring (Google style: Args, Returns, Raises)",
    DocStyle.JSDOC: "JSDoc/TSDoc/Javadoc (@param, @returns, @throws)",
    DocStyle.DOXYGEN: "Doxygen (@brief, @param, @return)",
    DocStyle.RUST: "rustdoc (# Errors, # Panics sections where relevant)",
    DocStyle.GO: "Go doc comment (starts with the name)",
    DocStyle.RUBY: "YARD (@param, @return)",
    DocStyle.LUA: "LuaCATS (@param, @return)",
}


def _doc_style(target: Target) -> str:
    spec = target.doc.language
    return _STYLE_NAMES[spec.doc_style] if spec is not None else "comment"
