import { strict as assert } from "node:assert";
import { test } from "node:test";
import { actionItems, touching } from "../src/actions";

test("the quick pick lists the built-ins, then the server's actions with where they come from", () => {
  const items = actionItems([
    { name: "fix", title: "", output: "replace", requires: "diagnostics", kind: "quickfix.magray.fix", origin: "built in", builtin: true, input: false },
    { name: "simplify", title: "Simplify {unit}", output: "replace", requires: "unit", kind: "refactor.rewrite.magray.simplify", origin: "/w/.magray/actions/simplify.md:1", builtin: false, input: true },
    { bogus: true },
  ]);
  assert.deepEqual(items.map((i) => i.name), ["explain", "document", "refactor", "fix", "simplify"]);
  assert.equal(items[3].description, "replaces the code · needs a diagnostics");
  assert.equal(items[4].description, "replaces the code · asks for input");
  assert.equal(items[4].detail, "/w/.magray/actions/simplify.md:1");
  assert.ok(items.slice(0, 3).every((i) => i.builtin) && !items[4].builtin);
  assert.equal(actionItems(undefined).length, 3); // an old server without magray.listActions
});

test("Fix gets the diagnostics that touch the selected lines", () => {
  const at = (a: number, b: number) => ({ range: { start: { line: a }, end: { line: b } } });
  const diagnostics = [at(1, 1), at(3, 5), at(9, 9)];
  assert.deepEqual(touching(diagnostics, { start: 4, end: 4 }), [at(3, 5)]);
  assert.deepEqual(touching(diagnostics, { start: 0, end: 9 }), diagnostics);
  assert.deepEqual(touching(diagnostics, { start: 6, end: 8 }), []);
});
