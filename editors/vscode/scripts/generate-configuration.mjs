// Generates package.json's `contributes.configuration` from schemas/magray.schema.json, the
// server's JSON Schema (`magray-lsp schema`), so VS Code settings mirror `.magray.toml` key by key.
//
//   node scripts/generate-configuration.mjs            rewrite package.json
//   node scripts/generate-configuration.mjs --check    exit 1 if package.json is out of date
//
// Refresh the schema first when the server's config changes:
//   magray-lsp schema > schemas/magray.schema.json
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const schema = JSON.parse(readFileSync(join(root, "schemas/magray.schema.json"), "utf8"));
const packagePath = join(root, "package.json");
const pkg = JSON.parse(readFileSync(packagePath, "utf8"));

// Settings only the extension reads (src/settings.ts CLIENT_ONLY keeps them from the server).
const CLIENT_SETTINGS = {
  title: "magray: Language server",
  properties: {
    "magray.server.path": {
      type: "string",
      default: "",
      markdownDescription:
        "Path to the `magray-lsp` executable. Empty: use `magray.server.pythonPath`, else `magray-lsp` on `PATH`, else the workspace's `.venv`. `~` and `${workspaceFolder}` are expanded.",
      scope: "machine-overridable",
    },
    "magray.server.pythonPath": {
      type: "string",
      default: "",
      markdownDescription:
        "A Python interpreter with magray-lsp installed; the server runs as `python -m magray_lsp serve`. Used when `magray.server.path` is empty.",
      scope: "machine-overridable",
    },
    "magray.server.env": {
      type: "object",
      default: {},
      additionalProperties: { type: "string" },
      markdownDescription:
        "Extra environment variables for the server, e.g. `OPENAI_API_KEY` (prefer your shell's environment for secrets) or `XDG_CACHE_HOME`.",
      scope: "machine-overridable",
    },
    "magray.panel.autoOpen": {
      type: "array",
      items: { type: "string", enum: ["explain", "document", "refactor"] },
      uniqueItems: true,
      default: ["explain"],
      markdownDescription:
        "Actions whose streamed output opens the magray panel beside the editor. Others stream into the panel only while it is open.",
    },
    "magray.trace.server": {
      type: "string",
      enum: ["off", "messages", "verbose"],
      default: "off",
      description: "Log the LSP traffic between VS Code and magray-lsp to the output channel.",
      scope: "window",
    },
  },
};

// The server's titles are generated from field names; these explain the ones without a description.
const DESCRIPTIONS = {
  "cache.enabled": "Cache answers (memory, optional Redis, disk) keyed by a hash of the request.",
  "cache.ttl_seconds": "How long a cached answer stays valid, in seconds.",
  "cache.memory_entries": "Answers kept in the in-memory cache tier.",
  "cache.redis_url": "Optional Redis tier shared between machines, e.g. `redis://localhost:6379/0`.",
  "routing.weights.capability": "Weight of the model's capability for the task in the routing score.",
  "routing.weights.cost": "Weight of the (estimated) cost in the routing score.",
  "routing.weights.performance": "Weight of the measured latency in the routing score.",
  "routing.weights.availability": "Weight of the provider's recent success rate in the routing score.",
  "retry.base_delay_seconds": "First retry delay; doubles per attempt, with jitter.",
  "retry.max_delay_seconds": "Upper bound for one retry delay.",
  "retry.retry_after_cap_seconds": "Longest `Retry-After` a provider may ask for before falling back instead.",
};

const SECTION_TITLES = {
  llm: "magray: Providers",
  actions: "magray: Actions",
  routing: "magray: Routing",
  retry: "magray: Retry",
  cache: "magray: Cache",
  budget: "magray: Budget",
  privacy: "magray: Privacy",
  safety: "magray: Safety",
  limits: "magray: Limits",
  hover: "magray: Hover",
};

const defs = schema.$defs ?? {};

function deref(node) {
  if (node && typeof node.$ref === "string") {
    const name = node.$ref.replace("#/$defs/", "");
    if (!defs[name]) throw new Error(`unknown $ref ${node.$ref}`);
    return defs[name];
  }
  return node;
}

// VS Code's settings UI understands `type: [..]` better than `anyOf` of plain types.
function simplifyAnyOf(node) {
  const options = node.anyOf;
  if (!Array.isArray(options) || !options.every((o) => typeof o.type === "string")) return node;
  const { anyOf, ...rest } = node;
  const merged = { ...rest, type: [...new Set(options.map((o) => o.type))] };
  for (const option of options) {
    for (const [key, value] of Object.entries(option)) {
      if (key !== "type" && key !== "format" && key !== "writeOnly") merged[key] = value;
    }
  }
  if (Array.isArray(merged.enum) && merged.type.includes("null") && !merged.enum.includes(null)) {
    merged.enum = [...merged.enum, null];
  }
  if (merged.type.length === 1) merged.type = merged.type[0];
  return merged;
}

function inline(node) {
  if (Array.isArray(node)) return node.map(inline);
  if (!node || typeof node !== "object") return node;
  const out = {};
  for (const [key, value] of Object.entries(deref(node))) {
    if (key === "title" && typeof value === "string") continue; // an annotation, not a property named title
    out[key] = inline(value);
  }
  return simplifyAnyOf(out);
}

function setting(key, node) {
  const s = inline(node);
  const description = s.description ?? DESCRIPTIONS[key] ?? deref(node).title ?? key;
  delete s.description;
  if (!("default" in s)) {
    if (s.type === "array") s.default = [];
    else if (s.type === "object") s.default = {};
  }
  return { ...s, markdownDescription: description };
}

function isFixedObject(node) {
  return node && node.type === "object" && node.properties && node.additionalProperties !== true;
}

function flatten(prefix, node, into) {
  for (const [name, child] of Object.entries(node.properties)) {
    const key = `${prefix}.${name}`;
    const target = deref(child);
    if (isFixedObject(target) && !target.additionalProperties) flatten(key, target, into);
    else into[`magray.${key}`] = setting(key, child);
  }
}

function generate() {
  const sections = [CLIENT_SETTINGS];
  for (const [name, node] of Object.entries(schema.properties)) {
    const target = deref(node);
    const properties = {};
    if (isFixedObject(target) && target.additionalProperties === false) flatten(name, target, properties);
    else {
      properties[`magray.${name}`] = {
        ...setting(name, node),
        markdownDescription:
          name === "llm"
            ? "Providers, one entry per `[llm.<name>]` section of `.magray.toml` (same keys), e.g. `{\"openai\": {\"models\": {\"default\": \"gpt-4o-mini\"}}}`. Merged key by key over the TOML files."
            : name === "actions"
              ? "Custom code actions by name, the same fields as `[actions.<name>]` in `.magray.toml` or a `.magray/actions/<name>.md` prompt file, e.g. `{\"simplify\": {\"prompt\": \"Simplify this {language} {kind}:\\n{code}\", \"output\": \"replace\"}}`. Run them from the light bulb or with **magray: Run Action…**."
              : setting(name, node).markdownDescription,
      };
    }
    let order = 0;
    for (const value of Object.values(properties)) value.order = order++;
    sections.push({ title: SECTION_TITLES[name] ?? `magray: ${name}`, properties });
  }
  return sections;
}

const generated = generate();
if (process.argv.includes("--check")) {
  if (JSON.stringify(pkg.contributes.configuration) !== JSON.stringify(generated)) {
    console.error(
      "package.json contributes.configuration is out of date with schemas/magray.schema.json: run `npm run generate`",
    );
    process.exit(1);
  }
  console.log("contributes.configuration matches schemas/magray.schema.json");
} else {
  pkg.contributes.configuration = generated;
  writeFileSync(packagePath, JSON.stringify(pkg, null, 2) + "\n");
  console.log(`wrote ${Object.values(generated).reduce((n, s) => n + Object.keys(s.properties).length, 0)} settings to package.json`);
}
