// The "magray" webview panel: streamed output rendered live, then the server's final answer.
import { randomBytes } from "node:crypto";
import * as vscode from "vscode";
import { entryMarkdown, StreamBook, StreamEntry, StreamNote } from "./stream";
import { PanelUpdate, panelPage, renderMarkdown } from "./render";

export class MagrayPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private readonly book = new StreamBook();
  private shown: StreamEntry | undefined;
  private pending: NodeJS.Timeout | undefined;

  /** `autoOpen`: which actions open the panel when their stream starts. */
  constructor(private readonly autoOpen: () => string[]) {}

  onStream(note: StreamNote): void {
    if (typeof note?.id !== "string") return;
    const entry = this.book.apply(note);
    const isNew = this.shown?.id !== entry.id;
    if (isNew && !this.panel && !this.autoOpen().includes(entry.action)) return;
    this.shown = entry;
    if (isNew || entry.done) this.renderNow();
    else this.renderSoon();
  }

  /** The server's finished markdown (an explanation or the usage report). */
  showFinal(action: string, markdown: string): void {
    this.shown = this.book.finish(action, markdown);
    this.renderNow();
  }

  reveal(): void {
    this.shown ??= this.book.latest();
    if (!this.ensurePanel(true)) this.renderNow();
  }

  /** Creates the panel (its page shows the current state) or brings it forward. Returns
   * whether it was created. */
  private ensurePanel(focus = false): boolean {
    if (!this.panel) {
      const panel = vscode.window.createWebviewPanel(
        "magray.output",
        "magray",
        { viewColumn: vscode.ViewColumn.Beside, preserveFocus: !focus },
        { enableScripts: true, enableFindWidget: true, retainContextWhenHidden: true, localResourceRoots: [] },
      );
      this.panel = panel;
      panel.onDidDispose(() => (this.panel = undefined));
      // Updates posted before the page listened are lost: resend the state once it is ready.
      panel.webview.onDidReceiveMessage((message: { type?: string }) => {
        if (message?.type === "ready") void panel.webview.postMessage(this.update());
      });
      const update = this.update();
      panel.webview.html = panelPage({
        title: "magray",
        bodyHtml: update.html,
        cspSource: panel.webview.cspSource,
        streaming: update.streaming,
        nonce: randomBytes(16).toString("base64"),
      });
      return true;
    }
    if (!this.panel.visible || focus) this.panel.reveal(undefined, !focus);
    return false;
  }

  private update(): PanelUpdate {
    const entry = this.shown;
    const markdown = entry ? entryMarkdown(entry) : "*Nothing yet: run a magray code action.*";
    return { type: "render", html: renderMarkdown(markdown), streaming: Boolean(entry && !entry.done) };
  }

  // Deltas arrive per token; re-rendering at most every 50 ms keeps the webview smooth.
  private renderSoon(): void {
    if (this.pending) return;
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.renderNow();
    }, 50);
  }

  private renderNow(): void {
    if (this.pending) {
      clearTimeout(this.pending);
      this.pending = undefined;
    }
    const created = this.ensurePanel();
    const panel = this.panel;
    if (!panel) return;
    const update = this.update();
    panel.title = update.streaming ? "magray (streaming…)" : "magray";
    if (!created) void panel.webview.postMessage(update);
  }

  dispose(): void {
    if (this.pending) clearTimeout(this.pending);
    this.panel?.dispose();
  }
}
