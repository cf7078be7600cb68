// Pure: the "magray: Run Action…" quick pick and the diagnostics Fix sends. No `vscode` import.

/** An action the server defines (`magray.listActions`). */
export interface ListedAction {
  name: string;
  title: string;
  output: string;
  requires: string;
  kind: string;
  origin: string;
  builtin: boolean;
  input: boolean;
}

export interface ActionItem {
  label: string;
  description: string;
  detail?: string;
  /** the action's name: a built-in ("explain") or one `magray.run` runs */
  name: string;
  builtin: boolean;
}

const BUILTINS: ActionItem[] = [
  { label: "explain", description: "explain the code (streams into the panel)", name: "explain", builtin: true },
  { label: "document", description: "add a docstring / doc comment", name: "document", builtin: true },
  { label: "refactor", description: "refactor, with an instruction", name: "refactor", builtin: true },
];

const OUTPUTS: Record<string, string> = {
  show: "shows the answer",
  replace: "replaces the code",
  insert_above: "inserts code above",
  insert_below: "inserts code below",
  new_file: "writes a file",
};

/** Quick-pick entries: the built-ins first, then what the server defines, where it came from. */
export function actionItems(listed: unknown): ActionItem[] {
  const items = [...BUILTINS];
  if (!Array.isArray(listed)) return items;
  for (const entry of listed) {
    if (!entry || typeof entry !== "object" || typeof (entry as ListedAction).name !== "string") continue;
    const action = entry as ListedAction;
    const needs = action.requires === "unit" ? "" : ` · needs a ${action.requires}`;
    items.push({
      label: action.name,
      description: `${OUTPUTS[action.output] ?? action.output}${needs}${action.input ? " · asks for input" : ""}`,
      detail: action.builtin ? "built in" : action.origin,
      name: action.name,
      builtin: false,
    });
  }
  return items;
}

/** A 0-based line span. */
export interface Lines {
  start: number;
  end: number;
}

/** Diagnostics (with 0-based line spans) that touch `lines`: what Fix is about. */
export function touching<T extends { range: { start: { line: number }; end: { line: number } } }>(
  diagnostics: readonly T[],
  lines: Lines,
): T[] {
  return diagnostics.filter((d) => d.range.start.line <= lines.end && d.range.end.line >= lines.start);
}
