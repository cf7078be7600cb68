// `magray: Run Doctor`: `magray-lsp doctor` with the same launch settings as the server.
import { spawn } from "node:child_process";
import * as vscode from "vscode";
import { INSTALL_HINT, isProblem, resolveLaunch, nodeHost, ServerSettings } from "./launch";

export async function runDoctor(
  channel: vscode.OutputChannel,
  settings: ServerSettings,
  folder: string | undefined,
): Promise<number | undefined> {
  const launch = resolveLaunch(settings, ["doctor"], nodeHost(folder));
  channel.clear();
  channel.show(true);
  if (isProblem(launch)) {
    channel.appendLine(`${launch.problem}\nTried: ${launch.tried.join(", ")}\n${INSTALL_HINT}`);
    return undefined;
  }
  channel.appendLine(`$ ${[launch.command, ...launch.args].join(" ")}${folder ? `   (in ${folder})` : ""}\n`);
  return new Promise((resolve) => {
    const child = spawn(launch.command, launch.args, {
      cwd: folder,
      env: { ...process.env, ...launch.env },
    });
    child.stdout.on("data", (chunk: Buffer) => channel.append(chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => channel.append(chunk.toString()));
    child.on("error", (err) => {
      channel.appendLine(`\ncould not run ${launch.command}: ${err.message}`);
      resolve(undefined);
    });
    child.on("close", (code) => {
      channel.appendLine(`\n[doctor exited with code ${code}]`);
      if (code !== 0) void vscode.window.showWarningMessage("magray doctor found problems: see the output.");
      resolve(code ?? undefined);
    });
  });
}
