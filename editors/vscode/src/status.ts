// Pure: turns a `magray/status` notification into what the status bar shows. No `vscode` import,
// so the unit tests run on plain node.

/** The `magray/status` payload (server/magray_lsp/lsp/status.py); every field may be absent. */
export interface StatusPayload {
  text?: string;
  action?: string;
  provider?: string;
  model?: string;
  costUsd?: number | null;
  monthUsd?: number | null;
  budgetUsd?: number | null;
  latencyMs?: number | null;
  cached?: boolean;
  fallbackFrom?: string | null;
  inputTokens?: number | null;
  outputTokens?: number | null;
  route?: string | null;
  localOnly?: boolean;
  requestId?: string;
}

export type BudgetLevel = "ok" | "warn" | "over";

export interface StatusView {
  /** Status bar text, with codicons: "$(sparkle) $0.0004 · gpt-4o-mini · month $3.10/$20". */
  text: string;
  /** Markdown tooltip. */
  tooltip: string;
  level: BudgetLevel;
}

/** Same rules as the server's `format_usd`, so the bar and the server's messages agree. */
export function formatUsd(amount: number | null | undefined): string {
  if (amount === null || amount === undefined || Number.isNaN(amount)) return "$?";
  if (amount === 0) return "$0";
  if (amount < 0.0001) return "<$0.0001";
  if (amount < 0.01) return `$${amount.toFixed(4)}`;
  return `$${amount.toFixed(2)}`;
}

/** Budgets are usually round numbers: "$20" reads better than "$20.00". */
export function formatBudget(amount: number): string {
  return Number.isInteger(amount) ? `$${amount}` : formatUsd(amount);
}

export function budgetLevel(
  monthUsd: number | null | undefined,
  budgetUsd: number | null | undefined,
  warnAt = 0.8,
): BudgetLevel {
  if (monthUsd == null || budgetUsd == null) return "ok";
  if (budgetUsd <= 0) return monthUsd > 0 ? "over" : "ok";
  const used = monthUsd / budgetUsd;
  if (used >= 1) return "over";
  return used >= warnAt ? "warn" : "ok";
}

function escapeMarkdown(value: string): string {
  return value.replace(/([\\`*_[\]|<>~])/g, "\\$1");
}

function formatLatency(ms: number | null | undefined): string {
  if (ms == null) return "–";
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function exactUsd(amount: number | null | undefined): string {
  // The bar rounds; the tooltip shows what the ledger recorded.
  if (amount == null) return "unknown (no price for this model)";
  if (amount === 0) return "$0";
  return `$${amount.toFixed(6).replace(/0+$/, "").replace(/\.$/, "")}`;
}

export function statusView(payload: StatusPayload, warnAt = 0.8): StatusView {
  const level = budgetLevel(payload.monthUsd, payload.budgetUsd, warnAt);
  const head = payload.cached ? "cached" : formatUsd(payload.costUsd);
  const parts = [head];
  if (payload.model) parts.push(payload.model);
  if (payload.monthUsd != null) {
    let month = `month ${formatUsd(payload.monthUsd)}`;
    if (payload.budgetUsd != null) month += `/${formatBudget(payload.budgetUsd)}`;
    parts.push(month);
  }
  const icon = level === "ok" ? "$(sparkle)" : "$(warning)";
  let text = `${icon} ${parts.join(" · ")}`;
  if (payload.fallbackFrom) text += " $(debug-step-over)";
  if (payload.localOnly) text += " $(lock)";

  const rows: Array<[string, string]> = [
    ["Model", payload.model ?? "–"],
    ["Provider", payload.provider ?? "–"],
    ["Cost", payload.cached ? "$0 (answered from the cache)" : exactUsd(payload.costUsd)],
  ];
  if (payload.inputTokens != null || payload.outputTokens != null) {
    rows.push(["Tokens", `${payload.inputTokens ?? "?"} in / ${payload.outputTokens ?? "?"} out`]);
  }
  rows.push(["Latency", formatLatency(payload.latencyMs)]);
  rows.push(["Cached", payload.cached ? "yes" : "no"]);
  rows.push(["Fallback from", payload.fallbackFrom ?? "–"]);
  if (payload.budgetUsd != null) {
    const month = payload.monthUsd ?? 0;
    const pct = payload.budgetUsd > 0 ? ` (${Math.round((100 * month) / payload.budgetUsd)}%)` : "";
    rows.push(["Budget", `${formatUsd(month)} of ${formatBudget(payload.budgetUsd)} this month${pct}`]);
  } else if (payload.monthUsd != null) {
    rows.push(["Budget", `${formatUsd(payload.monthUsd)} this month (no budget set)`]);
  }
  if (payload.route) rows.push(["Route", payload.route]);
  if (payload.localOnly) rows.push(["Privacy", "local only: this code never leaves the machine"]);

  const title = payload.action ? `**magray** · last ${escapeMarkdown(payload.action)}` : "**magray**";
  const table = rows.map(([k, v]) => `| ${k} | ${escapeMarkdown(v)} |`).join("\n");
  const warning =
    level === "over"
      ? "\n\n$(error) The monthly budget is spent."
      : level === "warn"
        ? "\n\n$(warning) Close to the monthly budget."
        : "";
  const tooltip = `${title}\n\n| | |\n|---|---|\n${table}${warning}\n\nClick for usage and budget details.`;
  return { text, tooltip, level };
}
