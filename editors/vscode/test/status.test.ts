import { strict as assert } from "node:assert";
import { test } from "node:test";
import { budgetLevel, formatBudget, formatUsd, statusView } from "../src/status";

test("formatUsd follows the server's rounding", () => {
  assert.equal(formatUsd(0), "$0");
  assert.equal(formatUsd(0.00004), "<$0.0001");
  assert.equal(formatUsd(0.000412), "$0.0004");
  assert.equal(formatUsd(3.1), "$3.10");
  assert.equal(formatUsd(null), "$?");
  assert.equal(formatBudget(20), "$20");
  assert.equal(formatBudget(12.5), "$12.50");
});

test("the bar shows cost, model and month against budget", () => {
  const view = statusView({
    text: "$0.0004 · gpt-4o-mini · 1.2 s · month $3.10/$20.00",
    provider: "openai",
    model: "gpt-4o-mini",
    costUsd: 0.000412,
    monthUsd: 3.1,
    budgetUsd: 20,
    latencyMs: 1234.5,
    cached: false,
    fallbackFrom: null,
  });
  assert.equal(view.text, "$(sparkle) $0.0004 · gpt-4o-mini · month $3.10/$20");
  assert.equal(view.level, "ok");
  assert.match(view.tooltip, /\| Model \| gpt-4o-mini \|/);
  assert.match(view.tooltip, /\| Provider \| openai \|/);
  assert.match(view.tooltip, /\| Cost \| \$0\.000412 \|/);
  assert.match(view.tooltip, /\| Latency \| 1\.2 s \|/);
  assert.match(view.tooltip, /\| Cached \| no \|/);
  assert.match(view.tooltip, /\$3\.10 of \$20 this month \(16%\)/);
});

test("cached answers and fallbacks are visible", () => {
  const view = statusView({ model: "claude-3-5-haiku", costUsd: 0, cached: true, fallbackFrom: "openai/gpt-4o" });
  assert.equal(view.text, "$(sparkle) cached · claude-3-5-haiku $(debug-step-over)");
  assert.match(view.tooltip, /\| Cached \| yes \|/);
  assert.match(view.tooltip, /\| Fallback from \| openai\/gpt-4o \|/);
});

test("near and over the budget the bar warns", () => {
  assert.equal(budgetLevel(15, 20), "ok");
  assert.equal(budgetLevel(16, 20), "warn");
  assert.equal(budgetLevel(16, 20, 0.9), "ok");
  assert.equal(budgetLevel(20, 20), "over");
  assert.equal(budgetLevel(5, null), "ok");
  const view = statusView({ model: "gpt-4o", costUsd: 0.02, monthUsd: 19, budgetUsd: 20 });
  assert.equal(view.level, "warn");
  assert.ok(view.text.startsWith("$(warning) "));
  assert.match(view.tooltip, /Close to the monthly budget/);
  assert.equal(statusView({ monthUsd: 21, budgetUsd: 20 }).level, "over");
});

test("unknown prices and missing fields do not break the bar", () => {
  const view = statusView({ model: "my-finetune", costUsd: null, monthUsd: 1.5 });
  assert.equal(view.text, "$(sparkle) $? · my-finetune · month $1.50");
  assert.match(view.tooltip, /unknown \(no price for this model\)/);
  assert.match(view.tooltip, /no budget set/);
  assert.equal(statusView({}).text, "$(sparkle) $?");
});

test("model names cannot break the tooltip's markdown table", () => {
  const view = statusView({ model: "evil|model*", provider: "p" });
  assert.match(view.tooltip, /\| Model \| evil\\\|model\\\* \|/);
});
