// The status bar item: the last request's cost, model and monthly spend; click → usage report.
import * as vscode from "vscode";
import { StatusPayload, statusView } from "./status";

export class CostStatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private last: StatusPayload | undefined;
  private running = 0;

  constructor(private readonly warnAt: () => number) {
    this.item = vscode.window.createStatusBarItem("magray.status", vscode.StatusBarAlignment.Right, 100);
    this.item.name = "magray";
    this.item.command = "magray.showUsage";
    this.idle();
    this.item.show();
  }

  update(payload: StatusPayload): void {
    this.last = payload;
    this.render();
  }

  /** A request is running: spin until its status arrives. */
  begin(action: string): void {
    this.running += 1;
    this.item.text = `$(loading~spin) magray: ${action}…`;
  }

  end(): void {
    this.running = Math.max(0, this.running - 1);
    if (this.running === 0) this.render();
  }

  problem(message: string): void {
    this.item.text = "$(error) magray";
    this.item.tooltip = message;
    this.item.backgroundColor = new vscode.ThemeColor("statusBarItem.errorBackground");
    this.item.command = "magray.showOutput";
  }

  private idle(): void {
    this.item.text = "$(sparkle) magray";
    this.item.tooltip = "magray: no requests yet. Click for usage and budget details.";
    this.item.backgroundColor = undefined;
  }

  private render(): void {
    this.item.command = "magray.showUsage";
    if (this.last === undefined) {
      this.idle();
      return;
    }
    const view = statusView(this.last, this.warnAt());
    this.item.text = view.text;
    const tooltip = new vscode.MarkdownString(view.tooltip, true);
    this.item.tooltip = tooltip;
    this.item.backgroundColor =
      view.level === "over"
        ? new vscode.ThemeColor("statusBarItem.errorBackground")
        : view.level === "warn"
          ? new vscode.ThemeColor("statusBarItem.warningBackground")
          : undefined;
  }

  dispose(): void {
    this.item.dispose();
  }
}
