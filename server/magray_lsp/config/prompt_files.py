"""`.magray/actions/NAME.md`: a custom action committed to the repository.

The file holds the fields of an `[actions.NAME]` table as TOML front matter between `+++`
lines, and the prompt as its body:

    +++
    title = "Simplify {unit}"
    output = "replace"
    +++
    Simplify this {language} {kind} without changing behaviour:
    {code}

Each file is one config layer (`{"actions": {NAME: {...}}}`) whose `Source` places every key
on its line of the file, so errors read `.magray/actions/simplify.md:3: actions.simplify...`.
A file that cannot be read at all is a problem of that action only.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from magray_lsp.config.locate import Source, locate_key, multiline_offset

ACTIONS_DIR = Path(".magray") / "actions"
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*\Z")
_FENCE = "+++"
MAX_PROMPT_FILE_BYTES = 256 * 1024


@dataclass(frozen=True)
class PromptFileSource(Source):
    """Where the keys of one prompt file are: the front matter's keys on their lines, the
    prompt's lines in the body."""

    #: 0-based lines [start, end) of the front matter between the `+++` lines; (0, 0): none
    front: tuple[int, int] = (0, 0)
    #: 1-based line of the prompt's first line in the body (0: the body is empty)
    body_line: int = 0

    def where(self, path: tuple[str, ...]) -> str:
        return f"{self.label}:{self.line_of(path)}"

    def line_of(self, path: tuple[str, ...], line_in_value: int = 0) -> int:
        """1-based line of key `path` (`("actions", NAME, key...)`), or of a line inside its
        value (a prompt's `{variable}` on its third line)."""
        key = path[2:]
        if key[:1] == ("prompt",) and self.body_line:
            return self.body_line + line_in_value
        start, end = self.front
        if end > start and key:
            front = "\n".join(self.text.splitlines()[start:end])
            line = locate_key(front, key)
            if line is not None:
                return start + line + multiline_offset(front, line, line_in_value)
        return max(start, 1)


@dataclass(frozen=True, slots=True)
class PromptFile:
    name: str
    data: dict[str, Any]  # the layer: {"actions": {name: fields}}
    source: PromptFileSource


def prompt_files(workspace: Path) -> tuple[list[PromptFile], list[str]]:
    """The workspace's prompt files in name order, and a located problem for each file that
    cannot be read (the other files still count)."""
    folder = workspace / ACTIONS_DIR
    if not folder.is_dir():
        return [], []
    found: list[PromptFile] = []
    problems: list[str] = []
    for path in sorted(folder.glob("*.md")):
        try:
            found.append(read_prompt_file(path))
        except PromptFileError as exc:
            problems.append(str(exc))
    return found, problems


class PromptFileError(Exception):
    """A prompt file that cannot become an action; the message is `file:line: what`."""


def read_prompt_file(path: Path) -> PromptFile:
    name = path.stem
    if not _NAME.match(name):
        raise PromptFileError(
            f"{path}:1: actions.{name}: an action name is letters, digits, - and _, "
            "starting with a letter"
        )
    try:
        if path.stat().st_size > MAX_PROMPT_FILE_BYTES:
            raise PromptFileError(f"{path}:1: actions.{name}: the file is over 256 KB")
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PromptFileError(f"{path}:1: actions.{name}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise PromptFileError(f"{path}:1: actions.{name}: not UTF-8 text") from None
    lines = text.replace("\r\n", "\n").split("\n")
    fields: dict[str, Any] = {}
    front, body_start = (0, 0), 0
    if lines and lines[0].strip() == _FENCE:
        close = next((i for i in range(1, len(lines)) if lines[i].strip() == _FENCE), None)
        if close is None:
            raise PromptFileError(
                f"{path}:1: actions.{name}: the front matter opened here is never closed "
                "with a `+++` line"
            )
        try:
            fields = tomllib.loads("\n".join(lines[1:close]))
        except tomllib.TOMLDecodeError as exc:
            at = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
            line = 1 + (int(at.group(1)) if at else 1)
            reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
            raise PromptFileError(
                f"{path}:{line}: actions.{name}: TOML syntax error: {reason}"
            ) from None
        front, body_start = (1, close), close + 1
    while body_start < len(lines) and not lines[body_start].strip():
        body_start += 1
    body = "\n".join(lines[body_start:]).rstrip()
    source = PromptFileSource(str(path), text, front, body_start + 1 if body else 0)
    if body:
        if "prompt" in fields:
            raise PromptFileError(
                f"{source.where(('actions', name, 'prompt'))}: actions.{name}.prompt: given "
                "twice (front matter and body); keep one"
            )
        fields["prompt"] = body
    return PromptFile(name, {"actions": {name: fields}}, source)
