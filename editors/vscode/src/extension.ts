// Entry point: starts magray-lsp, wires its notifications to the status bar and the panel, and
// adds palette commands. Everything with logic lives in the pure modules next to this file.
import * as path from "node:path";
import * as vscode from "vscode";
import {
  DidChangeConfigurationNotification,
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  State,
} from "vscode-languageclient/node";
import { actionItems, ActionItem, touching } from "./actions";
import { runDoctor } from "./doctor";
import { INSTALL_HINT, isProblem, nodeHost, resolveLaunch, ServerSettings } from "./launch";
import { MagrayPanel } from "./panel";
import { contributedKeys, explicitSettings } from "./settings";
import { StatusPayload } from "./status";
import { CostStatusBar } from "./statusBar";
import { StreamNote } from "./stream";

type Action = "explain" | "document" | "refactor";

function config(scope?: vscode.Uri): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration("magray", scope);
}

function firstFolder(): string | undefined {
  const folder = vscode.workspace.workspaceFolders?.[0];
  return folder?.uri.scheme === "file" ? folder.uri.fsPath : undefined;
}

function serverSettings(): ServerSettings {
  const c = config();
  return {
    path: c.get<string>("server.path") || undefined,
    pythonPath: c.get<string>("server.pythonPath") || undefined,
    env: c.get<Record<string, string>>("server.env") ?? {},
  };
}

/** Files the server writes for `window/showDocument` (reports.output_dir()): shown in the panel. */
function isShownReport(uri: vscode.Uri): boolean {
  return uri.scheme === "file" && /\/magray\/shown\/[^/]+\.md$/.test(uri.path);
}

class Magray implements vscode.Disposable {
  client: LanguageClient | undefined;
  readonly output = vscode.window.createOutputChannel("magray");
  private readonly doctorOutput = vscode.window.createOutputChannel("magray doctor");
  readonly statusBar = new CostStatusBar(() => config().get<number>("budget.warn_at") ?? 0.8);
  readonly panel = new MagrayPanel(() => config().get<string[]>("panel.autoOpen") ?? ["explain"]);
  private readonly streaming = new Set<string>();

  constructor(private readonly keys: string[]) {}

  /** Explicitly set `magray.*` server settings, as the nested object the server merges. */
  serverConfig(scope?: vscode.Uri): Record<string, unknown> {
    const c = config(scope);
    return explicitSettings(this.keys, (key) => c.inspect(key));
  }

  async start(): Promise<void> {
    const folder = firstFolder();
    const launch = resolveLaunch(serverSettings(), ["serve"], nodeHost(folder));
    if (isProblem(launch)) {
      const message = `${launch.problem} ${INSTALL_HINT}`;
      this.output.appendLine(`${message}\nTried: ${launch.tried.join(", ")}`);
      this.statusBar.problem(message);
      void vscode.window.showErrorMessage(`magray: ${message}`, "Open Settings", "Show Output").then((pick) => {
        if (pick === "Open Settings") {
          void vscode.commands.executeCommand("workbench.action.openSettings", "magray.server");
        } else if (pick === "Show Output") this.output.show();
      });
      return;
    }
    this.output.appendLine(`starting ${[launch.command, ...launch.args].join(" ")} (from ${launch.origin})`);
    const serverOptions: ServerOptions = {
      command: launch.command,
      args: launch.args,
      // No `transport`: stdio is the default (`serve` also accepts the `--stdio` it would add).
      options: { cwd: folder, env: { ...process.env, ...launch.env } },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [{ scheme: "file" }, { scheme: "untitled" }],
      outputChannel: this.output,
      initializationOptions: { magray: this.serverConfig() },
      middleware: {
        workspace: {
          configuration: async (params, token, next) => {
            const answer = await next(params, token);
            if (!Array.isArray(answer)) return answer;
            return params.items.map((item, i) =>
              item.section === "magray"
                ? this.serverConfig(item.scopeUri ? vscode.Uri.parse(item.scopeUri) : undefined)
                : answer[i],
            );
          },
        },
        window: {
          showDocument: async (params, next) => {
            const uri = vscode.Uri.parse(params.uri);
            if (!isShownReport(uri)) {
              const shown = await next(params, new vscode.CancellationTokenSource().token);
              return "success" in shown ? shown : { success: false };
            }
            const markdown = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
            const action = path.basename(uri.path).startsWith("explain-") ? "explain" : "usage";
            this.panel.showFinal(action, markdown);
            return { success: true };
          },
        },
      },
    };
    const client = new LanguageClient("magray", "magray", serverOptions, clientOptions);
    this.client = client;
    client.onNotification("magray/status", (payload: StatusPayload) => this.statusBar.update(payload));
    client.onNotification("magray/stream", (note: StreamNote) => this.onStream(note));
    // An action with {input} asks for it; the answer (or null: dismissed) is the response.
    client.onRequest("magray/input", async (params: { title?: string; prompt?: string }) => {
      const answer = await vscode.window.showInputBox({
        title: params?.title ?? "magray",
        prompt: params?.prompt,
        ignoreFocusOut: true,
      });
      return answer ?? null;
    });
    try {
      await client.start();
    } catch (err) {
      const message = `the language server did not start: ${err instanceof Error ? err.message : String(err)}`;
      this.statusBar.problem(message);
      void vscode.window.showErrorMessage(`magray: ${message}`, "Show Output").then((pick) => {
        if (pick) this.output.show();
      });
    }
  }

  private onStream(note: StreamNote): void {
    if (!note || typeof note.id !== "string") return;
    if (!note.done && !this.streaming.has(note.id)) {
      this.streaming.add(note.id);
      this.statusBar.begin(note.action ?? "working");
    } else if (note.done && this.streaming.delete(note.id)) {
      this.statusBar.end();
    }
    this.panel.onStream(note);
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    for (const _ of this.streaming) this.statusBar.end();
    this.streaming.clear();
    if (client && client.state !== State.Stopped) await client.stop();
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  settingsChanged(): void {
    if (this.client?.state !== State.Running) return;
    void this.client.sendNotification(DidChangeConfigurationNotification.type, {
      settings: { magray: this.serverConfig() },
    });
  }

  /** The active editor and the running client, or undefined after telling the user why not. */
  private ready(): { editor: vscode.TextEditor; client: LanguageClient } | undefined {
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
      void vscode.window.showWarningMessage("magray: open a file and select some code first.");
      return undefined;
    }
    const client = this.client;
    if (!client || client.state !== State.Running) {
      void vscode.window.showErrorMessage("magray: the language server is not running.", "Show Output").then((pick) => {
        if (pick) this.output.show();
      });
      return undefined;
    }
    return { editor, client };
  }

  /** "magray: Run Action…": pick any action (built-in, fix, tests, custom) for the selection. */
  async runAction(): Promise<void> {
    const found = this.ready();
    if (!found) return;
    const { editor, client } = found;
    const c2p = client.code2ProtocolConverter;
    const uri = c2p.asUri(editor.document.uri);
    const listed = await client
      .sendRequest(ExecuteCommandRequest.type, { command: "magray.listActions", arguments: [{ uri }] })
      .catch(() => undefined);
    const pick = await vscode.window.showQuickPick<ActionItem>(actionItems(listed), {
      title: "magray: Run Action",
      placeHolder: "Run on the selection, or on the function at the cursor",
      matchOnDescription: true,
    });
    if (!pick) return;
    if (pick.builtin) {
      await this.runOnSelection(pick.name as Action);
      return;
    }
    const selection = editor.selection;
    const lines = { start: selection.start.line, end: selection.end.line };
    const diagnostics = await c2p.asDiagnostics(touching(vscode.languages.getDiagnostics(editor.document.uri), lines));
    const args = { action: pick.name, uri, range: c2p.asRange(selection), diagnostics };
    await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `magray: ${pick.name}` }, () =>
      client.sendRequest(ExecuteCommandRequest.type, { command: "magray.run", arguments: [args] }),
    );
  }

  /** Palette commands: run an action on the selection (or the unit under the cursor). */
  async runOnSelection(action: Action): Promise<void> {
    const found = this.ready();
    if (!found) return;
    const { editor, client } = found;
    let instruction: string | undefined;
    if (action === "refactor") {
      instruction = await vscode.window.showInputBox({
        title: "magray: Refactor",
        prompt: "How should the code change? Leave empty for a general clean-up.",
        placeHolder: "e.g. extract the parsing into a helper",
      });
      if (instruction === undefined) return;
    }
    const c2p = client.code2ProtocolConverter;
    const args = {
      uri: c2p.asUri(editor.document.uri),
      range: c2p.asRange(editor.selection),
      ...(instruction ? { instruction } : {}),
    };
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: `magray: ${action}` },
      () => client.sendRequest(ExecuteCommandRequest.type, { command: `magray.${action}`, arguments: [args] }),
    );
  }

  /** The usage dashboard: the server starts it on a loopback port and asks us to open it. */
  async openDashboard(): Promise<void> {
    const client = this.client;
    if (!client || client.state !== State.Running) {
      void vscode.window.showErrorMessage("magray: the language server is not running.");
      return;
    }
    await client.sendRequest(ExecuteCommandRequest.type, {
      command: "magray.showUsage",
      arguments: [{ dashboard: true }],
    });
  }

  async doctor(): Promise<void> {
    await runDoctor(this.doctorOutput, serverSettings(), firstFolder());
  }

  dispose(): void {
    this.statusBar.dispose();
    this.panel.dispose();
    this.output.dispose();
    this.doctorOutput.dispose();
  }
}

let magray: Magray | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const app = new Magray(contributedKeys(context.extension.packageJSON));
  magray = app;
  context.subscriptions.push(
    app,
    vscode.commands.registerCommand("magray.explainSelection", () => app.runOnSelection("explain")),
    vscode.commands.registerCommand("magray.documentSelection", () => app.runOnSelection("document")),
    vscode.commands.registerCommand("magray.refactorSelection", () => app.runOnSelection("refactor")),
    vscode.commands.registerCommand("magray.runAction", () => app.runAction()),
    vscode.commands.registerCommand("magray.doctor", () => app.doctor()),
    vscode.commands.registerCommand("magray.openDashboard", () => app.openDashboard()),
    vscode.commands.registerCommand("magray.showPanel", () => app.panel.reveal()),
    vscode.commands.registerCommand("magray.showOutput", () => app.output.show()),
    vscode.commands.registerCommand("magray.restartServer", () => app.restart()),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration("magray.server")) void app.restart();
      else if (event.affectsConfiguration("magray")) app.settingsChanged();
    }),
  );
  await app.start();
}

export async function deactivate(): Promise<void> {
  await magray?.stop();
}
