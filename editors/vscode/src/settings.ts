// Pure: which `magray.*` settings go to the server. No `vscode` import.
//
// The server layers editor settings over `.magray.toml` per key, so only values the user set
// explicitly may be sent: a contributed default would silently override the workspace file.

/** Settings only the extension reads; the server's schema rejects unknown keys. */
export const CLIENT_ONLY = ["server", "panel", "trace"];

/** What `WorkspaceConfiguration.inspect` returns, reduced to the scopes we honour. */
export interface Inspected {
  globalValue?: unknown;
  workspaceValue?: unknown;
  workspaceFolderValue?: unknown;
}

export type Inspect = (key: string) => Inspected | undefined;

/** Keys of `contributes.configuration` relative to `magray.` (e.g. "routing.weights.cost"). */
export function contributedKeys(packageJson: unknown): string[] {
  const contributes = (packageJson as { contributes?: { configuration?: unknown } }).contributes;
  const sections = Array.isArray(contributes?.configuration)
    ? contributes.configuration
    : [contributes?.configuration];
  const keys: string[] = [];
  for (const section of sections) {
    const props = (section as { properties?: Record<string, unknown> } | undefined)?.properties;
    for (const key of Object.keys(props ?? {})) {
      if (key.startsWith("magray.")) keys.push(key.slice("magray.".length));
    }
  }
  return keys;
}

export function isClientOnly(key: string): boolean {
  const head = key.split(".")[0];
  return CLIENT_ONLY.includes(head);
}

/** The explicitly set server settings as the nested object the server expects
 * (`{routing: {default: "openai.code"}, budget: {monthly_usd: 20}}`). */
export function explicitSettings(keys: readonly string[], inspect: Inspect): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    if (isClientOnly(key)) continue;
    const seen = inspect(key);
    if (!seen) continue;
    // Narrower scopes win; object settings (magray.llm, routing.rules) merge key by key across
    // scopes like VS Code's own getConfiguration. null means "not set" in every scope.
    let value: unknown;
    for (const scoped of [seen.globalValue, seen.workspaceValue, seen.workspaceFolderValue]) {
      if (scoped === undefined || scoped === null) continue;
      value = isPlainObject(value) && isPlainObject(scoped) ? deepMerge(value, scoped) : scoped;
    }
    if (value === undefined) continue;
    setPath(out, key.split("."), value);
  }
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    out[key] = isPlainObject(out[key]) && isPlainObject(value) ? deepMerge(out[key] as Record<string, unknown>, value) : value;
  }
  return out;
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const part of path.slice(0, -1)) {
    const next = node[part];
    if (typeof next !== "object" || next === null || Array.isArray(next)) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[path[path.length - 1]] = value;
}
