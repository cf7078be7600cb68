import { strict as assert } from "node:assert";
import { test } from "node:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { contributedKeys, explicitSettings, Inspected } from "../src/settings";

const packageJson = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "package.json"), "utf8"));

test("every server table of the schema is contributed as settings", () => {
  const keys = contributedKeys(packageJson);
  for (const key of ["llm", "routing.default", "routing.weights.cost", "budget.monthly_usd", "privacy.mode", "hover.auto", "server.path"]) {
    assert.ok(keys.includes(key), `magray.${key} is not contributed`);
  }
});

test("only explicitly set server settings are sent, nested like the TOML", () => {
  const values: Record<string, Inspected> = {
    "routing.default": { globalValue: "openai.default", workspaceValue: "anthropic.default" },
    "routing.weights.cost": { workspaceFolderValue: 0.9 },
    "budget.monthly_usd": { globalValue: 20 },
    "budget.warn_at": {}, // only a default: must not override .magray.toml
    llm: { workspaceValue: { openai: { base_url: "http://127.0.0.1:1/v1" } } },
    "server.path": { globalValue: "/usr/bin/magray-lsp" }, // client-only
    "trace.server": { globalValue: "verbose" }, // client-only
  };
  const keys = [...Object.keys(values), "privacy.mode"];
  const sent = explicitSettings(keys, (key) => values[key]);
  assert.deepEqual(sent, {
    routing: { default: "anthropic.default", weights: { cost: 0.9 } },
    budget: { monthly_usd: 20 },
    llm: { openai: { base_url: "http://127.0.0.1:1/v1" } },
  });
});

test("a null setting counts as unset: the TOML value (or a wider scope's) stands", () => {
  assert.deepEqual(explicitSettings(["routing.default"], () => ({ workspaceValue: null })), {});
  const sent = explicitSettings(["routing.default"], () => ({ globalValue: "openai.fast", workspaceValue: null }));
  assert.deepEqual(sent, { routing: { default: "openai.fast" } });
});

test("provider settings merge across scopes key by key", () => {
  const sent = explicitSettings(["llm"], () => ({
    globalValue: { openai: { api_key: "${OPENAI_API_KEY}", models: { default: "gpt-4o-mini" } } },
    workspaceValue: { openai: { models: { code: "gpt-4o" } }, ollama: { enabled: false } },
  }));
  assert.deepEqual(sent, {
    llm: {
      openai: { api_key: "${OPENAI_API_KEY}", models: { default: "gpt-4o-mini", code: "gpt-4o" } },
      ollama: { enabled: false },
    },
  });
});
