"""`magray-lsp run NAME FILE:LINE[:COL]` and `magray-lsp actions`: defined actions (custom,
Fix, Write tests) without an editor, on the same pipeline as in the editor."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from magray_lsp.actions.defined import Diagnostic, Inputs, prepare_defined, run_defined
from magray_lsp.actions.definitions import ActionDef, ActionSet, action_set
from magray_lsp.actions.perform import ActionError, ActionResult
from magray_lsp.actions.source import parse_location
from magray_lsp.actions.target import Target, target_from_location
from magray_lsp.actions.tasks import output_budget
from magray_lsp.catalog import Catalog
from magray_lsp.cli_common import ACTIONS, dump, find_workspace
from magray_lsp.config.loader import load_config
from magray_lsp.context.syntax_check import tree_issues
from magray_lsp.cost.ledger import Ledger, default_ledger_path
from magray_lsp.gateway import Gateway
from magray_lsp.headless import (
    event_printer,
    outcome_json,
    plan_json,
    summary_line,
    unified_diff,
)
from magray_lsp.privacy.policy import is_private


def _actions_of(args: argparse.Namespace, start: Path) -> tuple[Path, Catalog, ActionSet]:
    workspace = args.workspace or find_workspace(start)
    loaded = load_config(workspace=workspace, extra_files=args.config)
    catalog = Catalog(loaded)
    return workspace, catalog, action_set(catalog)


def list_actions(args: argparse.Namespace) -> int:
    """Every action defined for the workspace, where it was defined, and the broken ones."""
    workspace, catalog, found = _actions_of(args, Path.cwd())
    problems = [*catalog.loaded.problems, *found.problems]
    rows = [_row(a) for a in found.actions.values()]
    if args.json:
        print(dump({"workspace": str(workspace), "actions": rows, "problems": problems}))
        return 1 if problems else 0
    width = max(len(r["name"]) for r in rows)
    for row in rows:
        extras = [f"requires {row['requires']}", f"routed as {row['task']}"]
        if row["model"]:
            extras.append(f"model {row['model']}")
        if row["languages"]:
            extras.append(", ".join(row["languages"]))
        print(f"{row['name']:<{width}}  {row['output']:<12} {' · '.join(extras)}")
        print(f"{'':<{width}}  {row['origin']}")
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0


def _row(action: ActionDef) -> dict[str, Any]:
    config = action.config
    return {
        "name": action.name,
        "title": config.title or "",
        "output": config.output,
        "requires": config.requires,
        "task": action.task,
        "model": config.model,
        "languages": list(config.languages),
        "input": action.needs_input,
        "origin": action.origin,
    }


async def run_named(args: argparse.Namespace) -> int:
    """`run NAME`: a built-in name runs the built-in (`run refactor` = `refactor`)."""
    if args.name in ACTIONS:
        from magray_lsp.headless import run_headless

        args.command = args.name
        args.instruction = args.input
        return await run_headless(args)
    location = parse_location(args.location)
    workspace, catalog, found = _actions_of(args, location.path)
    action = found.get(args.name)
    if action is None:
        problem = next((p for p in found.problems if f"actions.{args.name}." in p), None)
        problem = problem or next(
            (p for p in catalog.loaded.problems if f"actions.{args.name}" in p), None
        )
        known = ", ".join([*ACTIONS, *found.actions])
        raise ActionError(problem or f"no action named `{args.name}` (defined: {known})")
    private = is_private(location.path.resolve(), workspace, catalog.loaded.config.privacy)
    target = target_from_location(location, private=private)
    inputs = Inputs(_diagnostics(args, action, target), args.input, workspace, model_pin=args.model)
    if args.dry_run:
        gateway = Gateway(catalog, ledger=Ledger(default_ledger_path()), workspace=str(workspace))
        try:
            tokens = action.config.max_tokens or output_budget(action.task, 0)
            budget = gateway.context_budget(private, tokens)
            if action.needs_input and inputs.input is None:
                inputs = Inputs(inputs.diagnostics, "", workspace, args.model)
            run = prepare_defined(action, target, inputs, context_budget=budget)
            plan = gateway.plan(run.prepared.task)
            if args.json:
                print(dump(plan_json(plan, run.prepared.task)))
            else:
                print(plan.describe())
        finally:
            await gateway.aclose()
        return 0
    if action.needs_input and inputs.input is None:
        raise ActionError(f"`{action.name}` asks for input: pass it with -i TEXT")
    gateway = Gateway.open(
        catalog,
        workspace=str(workspace),
        on_warning=lambda msg: print(f"magray-lsp: {msg}", file=sys.stderr),
    )
    on_event = event_printer(streaming=action.output == "show" and not args.json)
    try:
        result = await run_defined(gateway, action, target, inputs, on_event=on_event)
    finally:
        await gateway.aclose()
    return _report(args, result, target)


def _diagnostics(
    args: argparse.Namespace, action: ActionDef, target: Target
) -> tuple[Diagnostic, ...]:
    """`--diagnostic TEXT` at the given line; for an action that needs diagnostics and got
    none, the syntax errors tree-sitter sees in the unit."""
    line = target.doc.line_index.point_at(target.start)[0]
    given = tuple(Diagnostic(text, line, "error", source="cli") for text in args.diagnostic)
    if given or action.config.requires != "diagnostics":
        return given
    unit = target.unit()
    lo, hi = unit.line_span if unit is not None else (line, line)
    tree = target.doc.tree
    issues = tree_issues(tree, limit=20) if tree is not None else []
    return tuple(
        Diagnostic(
            f"`{i.text}` is missing" if i.kind == "missing" else f"syntax error at `{i.text}`",
            i.line,
            "error",
            source="tree-sitter",
        )
        for i in issues
        if lo <= i.line <= hi
    )


def _report(args: argparse.Namespace, result: ActionResult, target: Target) -> int:
    outcome = result.outcome
    file_edit = result.file_edit
    source = target.path or Path(target.doc.uri)
    diff = ""
    if file_edit is not None:
        old = file_edit.snapshot.text if file_edit.exists else ""
        diff = unified_diff(old, file_edit.new_text, str(file_edit.path))
    elif result.edits:
        diff = unified_diff(target.doc.text, result.new_text, str(source))
    if args.json:
        data = outcome_json(outcome)
        data.update(
            action=result.label,
            unit=result.prepared.context.unit,
            contextTokens=result.prepared.task.context_tokens,
            diff=diff or None,
            file=str(file_edit.path) if file_edit else None,
        )
        print(dump(data))
    elif result.markdown:
        print("\n\n" + summary_line(outcome))
    else:
        print(diff or "(no change)")
        print(summary_line(outcome))
    if args.apply:
        if file_edit is not None:
            file_edit.path.parent.mkdir(parents=True, exist_ok=True)
            file_edit.path.write_bytes(file_edit.new_text.encode())
            print(f"applied to {file_edit.path}", file=sys.stderr)
        elif result.edits and target.path is not None:
            target.path.write_bytes(result.new_text.encode())
            print(f"applied to {target.path}", file=sys.stderr)
    return 0
