"""Property, over stdio against the real server: random typing (above, inside, below the unit;
LF or CRLF; emoji and CJK) interleaved with a slow answer of a random shape, through resolve or
a command, for document or refactor. The client's final document is exactly the expected text
(the typing plus the model's edit on the unit) — or the typed text, unchanged, with a message
saying the code changed. The oracle keeps the text above the unit, the unit and the text below
as separate strings and never maps an offset."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient

from tests.fakes.base import Reply
from tests.fakes.openai import FakeOpenAI
from tests.helpers import wait_for
from tests.lsp.conftest import Notes
from tests.lsp.editor_text import EditorBuffer
from tests.lsp.test_actions import actions
from tests.lsp.test_stale_edits import STALE, workspace  # noqa: F401 - the slow-answer config

Client = tuple[LanguageClient, Notes]
COUNTER = itertools.count()
#: top-level statements only: an indented line right after the unit would be part of it
LINES = ["import os", "x = '中文'", "# 😀 note", "", "LIMIT = 3", "def helper(): pass"]
TYPED = st.text(
    st.sampled_from(["a", " ", "1", "é", "中", "😀", "\n", "#"]), min_size=1, max_size=6
)


@dataclass
class Parts:
    above: str
    unit: str
    below: str
    eol: str
    touched: bool = False
    log: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.above + self.unit + self.below

    def offset(self, region: str) -> int:
        return {"above": 0, "unit": len(self.above), "below": len(self.above + self.unit)}[region]


def unit_code(n: int, eol: str) -> str:
    return eol.join(
        [f"def f{n}(x: int) -> int:", f"    y = x + {n}  # 😀 中", "    return y * 2", ""]
    )


def refactored(n: int) -> str:
    return f"def f{n}(x: int) -> int:\n    return (x + {n}) * 2  # 😀 中\n"


DOCUMENT_SHAPES = [
    "```text\n{doc}\n```",
    "{doc}",
    '```python\n"""{doc}"""\n```',
    "Here is a docstring for the function:\n\n```\n{doc}\n```\n",
]
REFACTOR_SHAPES = [
    "```python\n{code}```",
    "Sure! Here's a simpler version:\n\n```python\n{code}```\n\nIt computes the same value.",
    "{code}",
]


@st.composite
def typing_ops(draw: st.DrawFn) -> list[tuple[str, float, int, str]]:
    return draw(
        st.lists(
            st.tuples(
                st.sampled_from(["above", "above", "below", "below", "unit"]),
                st.floats(0, 1),
                st.integers(0, 3),
                TYPED,
            ),
            min_size=1,
            max_size=4,
        )
    )


def type_into(buffer: EditorBuffer, parts: Parts, op: tuple[str, float, int, str]) -> None:
    region, where, length, new = op
    new = new.replace("\n", parts.eol)
    text = getattr(parts, region)
    if region == "unit":  # strictly inside: its first and last positions belong above/below
        start = 1 + int(where * (len(text) - 2))
        end = min(start + length, len(text) - 1)
    else:
        start = int(where * len(text))
        end = min(start + length, len(text))
    start, end = _whole(text, start), _whole(text, end)
    parts.touched |= region == "unit"
    base = parts.offset(region)
    setattr(parts, region, text[:start] + new + text[end:])
    buffer.replace(base + start, base + end, new)
    parts.log.append(f"{region}[{start}:{end}]={new!r}")


@settings(
    max_examples=16,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],  # ~3 s per example
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    eol=st.sampled_from(["\n", "\r\n"]),
    above=st.lists(st.sampled_from(LINES), max_size=4),
    below=st.lists(st.sampled_from(LINES), max_size=4),
    action=st.sampled_from(["document", "refactor"]),
    shape=st.integers(0, 3),
    via=st.sampled_from(["resolve", "command"]),
    ops=typing_ops(),
)
async def test_random_typing_during_slow_answers(
    client: Client,
    workspace: Path,  # noqa: F811
    openai_fake: FakeOpenAI,
    eol: str,
    above: list[str],
    below: list[str],
    action: str,
    shape: int,
    via: str,
    ops: list[tuple[str, float, int, str]],
) -> None:
    lsp_client, notes = client
    n = next(COUNTER)  # a unit of its own each time: never a cache hit
    parts = Parts(
        "".join(line + eol for line in above) + eol,
        unit_code(n, eol),
        "".join(eol + line for line in below) + (eol if below else ""),
        eol,
    )
    buffer = EditorBuffer(lsp_client, (workspace / f"prop_{n}.py").as_uri(), parts.text)
    doc = f"Return twice x plus {n} — 二倍 😀."
    if action == "document":
        answer = DOCUMENT_SHAPES[shape % len(DOCUMENT_SHAPES)].format(doc=doc)
        doc_line = f'    """{doc}"""{eol}'
        first_line = parts.unit.index(eol) + len(eol)
        expected_unit = parts.unit[:first_line] + doc_line + parts.unit[first_line:]
    else:
        answer = REFACTOR_SHAPES[shape % len(REFACTOR_SHAPES)].format(code=refactored(n))
        expected_unit = refactored(n).replace("\n", eol)
    words = answer.split(" ")
    chunks = [w if i == 0 else " " + w for i, w in enumerate(words)]
    openai_fake.default = Reply(text=answer, chunks=chunks, chunk_delay=2.0 / len(chunks))

    listed = await actions(lsp_client, buffer.uri, _cursor(parts, eol))
    chosen = next(a for a in listed if a.kind and a.kind.endswith(action))
    applied: list[bool] = []

    def apply(edit: lsp.WorkspaceEdit) -> bool:
        applied.append(buffer.apply(edit))
        return applied[-1]

    _on_apply(lsp_client, apply)

    seen, shown = len(notes.stream), len(lsp_client.messages)
    request: Any
    if via == "resolve":
        request = lsp_client.code_action_resolve_async(chosen)
    else:
        assert chosen.data is not None
        request = lsp_client.workspace_execute_command_async(
            lsp.ExecuteCommandParams(f"magray.{action}", [chosen.data])
        )
    task = asyncio.ensure_future(request)
    await wait_for(lambda: len(notes.stream) > seen or task.done(), within=60)
    for op in ops:  # typed while the answer streams in
        type_into(buffer, parts, op)
        await asyncio.sleep(0.05)
    result = await asyncio.wait_for(task, 120)
    typed = parts.text

    if via == "resolve":
        assert buffer.text == typed
        done = buffer.apply(result.edit) if result.edit is not None else False
        error = "" if done else " ".join(m.message for m in lsp_client.messages[shown:])
    else:
        done = bool(result["ok"])
        error = "" if done else result["error"]
        assert applied == ([True] if done else []), result

    glued = (parts.above and not parts.above.endswith(("\n", "\r"))) or (
        parts.unit.endswith("\r") and parts.below.startswith("\n")
    )
    context = f"{action} via {via}, typed {parts.log}, answer {answer!r}"
    if parts.touched or glued:
        event("refused")
        assert not done, context
        await wait_for(lambda: STALE in error or _shown(lsp_client, shown), within=10)
        assert buffer.text == typed, context
    else:
        event("rebased")
        assert done, f"{context}: {error}"
        assert buffer.text == parts.above + expected_unit + parts.below, context
    lsp_client.text_document_did_close(
        lsp.DidCloseTextDocumentParams(lsp.TextDocumentIdentifier(buffer.uri))
    )


def _whole(text: str, index: int) -> int:
    """`index`, moved off the middle of a CRLF (LSP has no position there)."""
    if 0 < index < len(text) and text[index - 1] == "\r" and text[index] == "\n":
        return index - 1
    return index


def _on_apply(client: LanguageClient, apply: Callable[[lsp.WorkspaceEdit], bool]) -> None:
    """Route workspace/applyEdit to this example's buffer (one handler per client)."""
    route: list[Callable[[lsp.WorkspaceEdit], bool]] | None = getattr(client, "prop_route", None)
    if route is None:
        route = []
        client.prop_route = route  # type: ignore[attr-defined]

        @client.feature(lsp.WORKSPACE_APPLY_EDIT)
        def on_apply(params: lsp.ApplyWorkspaceEditParams) -> lsp.ApplyWorkspaceEditResult:
            return lsp.ApplyWorkspaceEditResult(applied=route[-1](params.edit))

    route.append(apply)


def _shown(client: LanguageClient, since: int) -> bool:
    return any(STALE in m.message for m in client.messages[since:])


def _cursor(parts: Parts, eol: str) -> lsp.Range:
    line = parts.above.count(eol) + 1  # the unit's body line
    return lsp.Range(lsp.Position(line, 6), lsp.Position(line, 6))
