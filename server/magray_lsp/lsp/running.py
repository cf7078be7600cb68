"""Running an action from the editor: snapshot, gateway call streamed to the client, status,
and the edit carried onto the newest version of the document (or refused).

Built-in actions (code actions, commands, hover) and defined ones (`custom_actions.py`, with
their own `perform`) all go through `run`, so progress, `magray/stream`, `magray/status` and
rebasing are the same for every action.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from lsprotocol import types as lsp

from magray_lsp.actions.perform import ActionResult, run_action
from magray_lsp.actions.target import Target
from magray_lsp.context.rebase import map_span
from magray_lsp.errors import MagrayError
from magray_lsp.gateway import Fallback, Gateway, GatewayEvent
from magray_lsp.lsp.rebasing import ListingOutdated, UnitIdentity, rebased_edit
from magray_lsp.lsp.status import STATUS_METHOD, STREAM_METHOD, status_payload
from magray_lsp.privacy.policy import is_private
from magray_lsp.providers.base import TextDelta
from magray_lsp.task import Action

if TYPE_CHECKING:
    from magray_lsp.context.parse_cache import Mark
    from magray_lsp.lsp.core import MagrayServer
    from magray_lsp.lsp.workspaces import WorkspaceRuntime

#: runs an action on a target (a defined action's own pipeline); default: `run_action`
Perform = Callable[[Gateway, Target, Callable[[GatewayEvent], None]], Awaitable[ActionResult]]
EDIT_ACTIONS: tuple[Action, ...] = ("document", "refactor")


@dataclass(frozen=True, slots=True)
class Ran:
    """An action's result, the snapshot it was computed on (`target.doc`) and, for edits, the
    edit carried onto the newest version of the document (stamped with that version)."""

    result: ActionResult
    target: Target
    edit: lsp.WorkspaceEdit | None = None


async def run(
    ls: MagrayServer,
    action: str,
    uri: str,
    rng: lsp.Range,
    instruction: str | None,
    work_done_token: lsp.ProgressToken | None = None,
    *,
    unit: UnitIdentity | None = None,
    perform: Perform | None = None,
) -> Ran:
    """Run `action` on `rng` of the newest version of `uri` (on `unit`, when given: the
    unit a listed action was offered for must still be there); `perform` runs a defined
    action (named `action`) instead of a built-in one."""
    doc = ls.document(uri)
    runtime, path = ls.runtime_for(uri)
    if (reason := ls.too_large(doc, runtime)) is not None:
        raise MagrayError(reason)
    private = is_private(path, runtime.root, runtime.gateway.config.privacy)
    start, end = ls.offsets(doc, rng)
    first = ls.parses.hold(uri)  # the version `rng` is in, until the tree is ready
    assert first is not None  # `doc` is the newest snapshot of an open document
    try:
        tree_doc = await ls.parses.get_document(uri)  # waits for a big file's parse
        if tree_doc is None or ls.parses.mark_of(uri, tree_doc) != ls.parses.mark_of(uri):
            raise MagrayError("the document changed; try again")
        start, end = _moved(ls, uri, first, (start, end))  # typed while it parsed
        held = ls.parses.hold(uri)  # the snapshot the edit will be computed on
        assert held is not None
    finally:
        ls.parses.release(uri, first)
    target = Target(tree_doc, start, end, path, private)
    try:
        return await _answer(
            ls, action, uri, target, held, runtime, instruction, work_done_token, unit, perform
        )
    finally:
        ls.parses.release(uri, held)


def _moved(ls: MagrayServer, uri: str, mark: Mark, span: tuple[int, int]) -> tuple[int, int]:
    """`span` of the snapshot `mark` on the newest version; typing that touched it fails."""
    history = ls.parses.changes_since(uri, mark)
    if history is None:
        raise MagrayError("the document changed; try again")
    start, end, touched = map_span(history.changes, span)
    if touched:
        raise MagrayError("the document changed; try again")
    return start, end


async def _answer(
    ls: MagrayServer,
    action: str,
    uri: str,
    target: Target,
    held: Mark,
    runtime: WorkspaceRuntime,
    instruction: str | None,
    work_done_token: lsp.ProgressToken | None,
    unit: UnitIdentity | None,
    perform: Perform | None,
) -> Ran:
    """Ask the gateway (streaming to the client), report the status, and carry an edit
    from the held snapshot `target.doc` onto the newest version."""
    if unit is not None:
        found = target.unit()
        if found is None or (found.kind, found.qualified_name) != unit:
            raise ListingOutdated(
                f"the code changed since the code actions were listed: `{unit[1]}` is no "
                "longer there; list them again"
            )
    request_id = uuid.uuid4().hex[:12]
    progress = await _progress_begin(ls, action, work_done_token)
    chunks = 0

    def on_event(event: GatewayEvent) -> None:
        nonlocal chunks
        if isinstance(event, TextDelta):
            chunks += 1
            ls.protocol.notify(
                STREAM_METHOD,
                {
                    "id": request_id,
                    "action": action,
                    "uri": uri,
                    "delta": event.text,
                    "done": False,
                },
            )
            if progress and chunks % 8 == 1:
                ls.work_done_progress.report(
                    progress, lsp.WorkDoneProgressReport(message=f"{chunks} chunks received")
                )
        elif isinstance(event, Fallback):
            ls.log(f"magray: {event.failed} failed ({event.error}); trying {event.next}")

    runtime.enter()
    try:
        if perform is not None:
            result = await perform(runtime.gateway, target, on_event)
        else:
            result = await run_action(
                runtime.gateway,
                cast("Action", action),
                target,
                instruction=instruction,
                encoding=ls.encoding,
                on_event=on_event,
            )
    finally:
        runtime.leave()
        ls.protocol.notify(
            STREAM_METHOD,
            {"id": request_id, "action": action, "uri": uri, "delta": "", "done": True},
        )
        if progress:
            ls.work_done_progress.end(progress, lsp.WorkDoneProgressEnd(message="done"))
    outcome = result.outcome
    ls.log(f"magray: {action} → {outcome.ref.label} ({outcome.route})")
    status = status_payload(outcome, action=action, local_only=target.private)
    ls.protocol.notify(STATUS_METHOD, status)
    if outcome.fallback_from:
        ls.warn(f"{outcome.fallback_from} failed; answered by {outcome.ref.label}")
    budget = runtime.gateway.budget_status()
    if budget.warn and outcome.cost_usd:
        ls.warn(f"monthly spend {status['monthUsd']} of {status['budgetUsd']} USD budget")
    if action not in EDIT_ACTIONS and not result.edits:
        return Ran(result, target)
    # Right before it is sent: the newest version, and the edit carried onto it (or refused)
    guard = result.prepared.context.byte_span  # the unit's lines; and what was replaced:
    if result.edited_span is not None:
        guard = (min(guard[0], result.edited_span[0]), max(guard[1], result.edited_span[1]))
    edit = rebased_edit(ls.parses, uri, held, target.doc, result.edits, guard, ls.encoding)
    return Ran(result, target, edit)


async def _progress_begin(
    ls: MagrayServer, action: str, token: lsp.ProgressToken | None
) -> lsp.ProgressToken | None:
    caps = ls.client_capabilities.window
    if token is None:
        if not (caps and caps.work_done_progress):
            return None
        token = f"magray-{uuid.uuid4().hex[:8]}"
        try:
            await ls.work_done_progress.create_async(token)
        except Exception:  # a client that refuses progress still gets the answer
            return None
    ls.work_done_progress.begin(
        token,
        lsp.WorkDoneProgressBegin(title=f"magray: {action}", cancellable=True, message="routing…"),
    )
    return token
