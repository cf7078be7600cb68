// Pure (node only, no `vscode`): how to start `magray-lsp`, and a useful message when we can't.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export interface ServerSettings {
  /** `magray.server.path`: the `magray-lsp` executable. */
  path?: string;
  /** `magray.server.pythonPath`: a Python with magray-lsp installed (`python -m magray_lsp`). */
  pythonPath?: string;
  /** `magray.server.env`: extra environment variables for the server. */
  env?: Record<string, string>;
}

export interface Launch {
  command: string;
  args: string[];
  env: Record<string, string>;
  /** For messages: where the command came from. */
  origin: string;
}

export interface LaunchProblem {
  problem: string;
  /** Paths that were tried, for the message. */
  tried: string[];
}

export interface Host {
  workspaceFolder?: string;
  home: string;
  pathEnv: string;
  isExecutable(file: string): boolean;
}

export const INSTALL_HINT =
  "Install it with `pipx install magray-lsp` (or `pip install magray-lsp` in a virtualenv), " +
  "then set `magray.server.path` to the `magray-lsp` executable or `magray.server.pythonPath` " +
  "to that Python.";

export function nodeHost(workspaceFolder?: string): Host {
  return {
    workspaceFolder,
    home: os.homedir(),
    pathEnv: process.env.PATH ?? "",
    isExecutable(file: string): boolean {
      try {
        fs.accessSync(file, fs.constants.X_OK);
        return fs.statSync(file).isFile();
      } catch {
        return false;
      }
    },
  };
}

/** `~`, `${userHome}` and `${workspaceFolder}` in a configured path. */
export function expandPath(value: string, host: Host): string {
  let out = value.trim();
  if (out === "~" || out.startsWith("~/")) out = host.home + out.slice(1);
  out = out.replace(/\$\{userHome\}/g, host.home);
  if (host.workspaceFolder) out = out.replace(/\$\{workspaceFolder\}/g, host.workspaceFolder);
  if (!path.isAbsolute(out) && out.includes("/") && host.workspaceFolder) {
    out = path.resolve(host.workspaceFolder, out);
  }
  return out;
}

function onPath(name: string, host: Host): string | undefined {
  for (const dir of host.pathEnv.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (host.isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function resolveCommand(value: string, host: Host): string | undefined {
  const expanded = expandPath(value, host);
  if (expanded.includes("/")) return host.isExecutable(expanded) ? expanded : undefined;
  return onPath(expanded, host);
}

/** The command for `magray-lsp <subcommand>`: explicit settings first, then PATH, then the
 * workspace's own virtualenv. */
export function resolveLaunch(
  settings: ServerSettings,
  subcommand: string[],
  host: Host,
): Launch | LaunchProblem {
  const env = { ...(settings.env ?? {}) };
  if (settings.path && settings.path.trim()) {
    const command = resolveCommand(settings.path, host);
    if (!command) {
      return {
        problem: `magray.server.path is set to "${settings.path}", which is not an executable file.`,
        tried: [expandPath(settings.path, host)],
      };
    }
    return { command, args: subcommand, env, origin: "magray.server.path" };
  }
  if (settings.pythonPath && settings.pythonPath.trim()) {
    const command = resolveCommand(settings.pythonPath, host);
    if (!command) {
      return {
        problem: `magray.server.pythonPath is set to "${settings.pythonPath}", which is not an executable file.`,
        tried: [expandPath(settings.pythonPath, host)],
      };
    }
    return { command, args: ["-m", "magray_lsp", ...subcommand], env, origin: "magray.server.pythonPath" };
  }
  const tried = ["magray-lsp on PATH"];
  const fromPath = onPath("magray-lsp", host);
  if (fromPath) return { command: fromPath, args: subcommand, env, origin: "PATH" };
  if (host.workspaceFolder) {
    for (const venv of [".venv", "venv"]) {
      const candidate = path.join(host.workspaceFolder, venv, "bin", "magray-lsp");
      tried.push(candidate);
      if (host.isExecutable(candidate)) {
        return { command: candidate, args: subcommand, env, origin: `the workspace's ${venv}` };
      }
    }
  }
  return { problem: "The magray-lsp language server was not found.", tried };
}

export function isProblem(value: Launch | LaunchProblem): value is LaunchProblem {
  return (value as LaunchProblem).problem !== undefined;
}
