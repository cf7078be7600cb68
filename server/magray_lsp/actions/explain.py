"""Explain: build the Task for "explain the code at this location"."""

from __future__ import annotations

from magray_lsp.actions.prompts import render
from magray_lsp.actions.source import Location, SourceError, read_source
from magray_lsp.task import Task

WINDOW_LINES = 30  # lines of context on each side, until tree-sitter units replace it
CHARS_PER_TOKEN = 3.5


def estimate_tokens(text: str) -> int:
    return max(1, round(len(text) / CHARS_PER_TOKEN)) if text else 0


def explain_task(location: Location, *, model_pin: str | None = None) -> Task:
    text = read_source(location.path)
    lines = text.splitlines()
    if location.line > max(1, len(lines)):
        raise SourceError(
            f"{location.path}: line {location.line} is past the end ({len(lines)} lines)"
        )
    index = location.line - 1
    start, end = max(0, index - WINDOW_LINES), min(len(lines), index + WINDOW_LINES + 1)
    context = "\n".join(lines[start:end])
    target = lines[index] if lines else ""
    language = location.path.suffix.lstrip(".") or "text"
    prompt = render(
        "explain",
        language=language,
        path=location.path.name,
        target_label=f"line {location.line}",
        context=context,
        target=target,
    )
    return Task(
        action="explain",
        system=prompt.system,
        prompt=prompt.user,
        language=language,
        context_tokens=estimate_tokens(prompt.system + prompt.user),
        file_tokens=estimate_tokens(text),
        model_pin=model_pin,
        source_path=str(location.path),
    )
