import { strict as assert } from "node:assert";
import { test } from "node:test";
import { expandPath, Host, isProblem, Launch, LaunchProblem, resolveLaunch } from "../src/launch";

function host(executables: string[], workspaceFolder = "/work/project"): Host {
  return {
    workspaceFolder,
    home: "/home/ada",
    pathEnv: "/usr/local/bin:/usr/bin",
    isExecutable: (file) => executables.includes(file),
  };
}

test("magray.server.path wins and is expanded", () => {
  const launch = resolveLaunch({ path: "~/venvs/m/bin/magray-lsp", pythonPath: "/usr/bin/python3" }, ["serve"], host(["/home/ada/venvs/m/bin/magray-lsp"])) as Launch;
  assert.equal(launch.command, "/home/ada/venvs/m/bin/magray-lsp");
  assert.deepEqual(launch.args, ["serve"]);
  assert.equal(launch.origin, "magray.server.path");
  assert.equal(expandPath("${workspaceFolder}/.venv/bin/magray-lsp", host([])), "/work/project/.venv/bin/magray-lsp");
  assert.equal(expandPath(".venv/bin/magray-lsp", host([])), "/work/project/.venv/bin/magray-lsp");
});

test("magray.server.pythonPath runs the module", () => {
  const launch = resolveLaunch({ pythonPath: "python3", env: { A: "1" } }, ["doctor"], host(["/usr/bin/python3"])) as Launch;
  assert.equal(launch.command, "/usr/bin/python3");
  assert.deepEqual(launch.args, ["-m", "magray_lsp", "doctor"]);
  assert.deepEqual(launch.env, { A: "1" });
});

test("without settings: PATH, then the workspace virtualenv", () => {
  assert.equal((resolveLaunch({}, ["serve"], host(["/usr/bin/magray-lsp"])) as Launch).command, "/usr/bin/magray-lsp");
  const venv = resolveLaunch({}, ["serve"], host(["/work/project/.venv/bin/magray-lsp"])) as Launch;
  assert.equal(venv.command, "/work/project/.venv/bin/magray-lsp");
  assert.equal(venv.origin, "the workspace's .venv");
});

test("a wrong path is reported, not silently replaced", () => {
  const result = resolveLaunch({ path: "/nope/magray-lsp" }, ["serve"], host(["/usr/bin/magray-lsp"]));
  assert.ok(isProblem(result));
  assert.match((result as LaunchProblem).problem, /magray\.server\.path is set to "\/nope\/magray-lsp"/);
});

test("nothing found: the message says what was tried", () => {
  const result = resolveLaunch({}, ["serve"], host([])) as LaunchProblem;
  assert.ok(isProblem(result));
  assert.deepEqual(result.tried, ["magray-lsp on PATH", "/work/project/.venv/bin/magray-lsp", "/work/project/venv/bin/magray-lsp"]);
});
