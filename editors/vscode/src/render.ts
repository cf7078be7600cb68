// Pure: markdown → the panel's HTML. Raw HTML in model output is escaped, never run.
import MarkdownIt from "markdown-it";

const md = new MarkdownIt({ html: false, linkify: true, breaks: false });

export function renderMarkdown(markdown: string): string {
  return md.render(markdown);
}

export interface PageParts {
  title: string;
  bodyHtml: string;
  /** The webview's `cspSource` (for styles). */
  cspSource: string;
  streaming: boolean;
  /** Allows the one inline script (the update listener) and nothing else. */
  nonce: string;
}

/** What the extension posts to the page for every update after the first render. */
export interface PanelUpdate {
  type: "render";
  html: string;
  streaming: boolean;
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The page is loaded once and then updated in place by messages: replacing a webview's html
 * reloads its frame, which cannot keep up with a token stream. The strict CSP allows only the
 * nonce'd listener; the markdown it inserts is already escaped by `renderMarkdown`. */
export function panelPage(parts: PageParts): string {
  const nonce = escapeHtml(parts.nonce);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${parts.cspSource} 'unsafe-inline'; img-src ${parts.cspSource} https: data:; script-src 'nonce-${nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${escapeHtml(parts.title)}</title>
<style>
  body { font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); color: var(--vscode-foreground); padding: 0 16px 24px; line-height: 1.5; }
  pre { background: var(--vscode-textCodeBlock-background); padding: 8px 12px; overflow-x: auto; }
  code { font-family: var(--vscode-editor-font-family); font-size: var(--vscode-editor-font-size); }
  table { border-collapse: collapse; } th, td { border: 1px solid var(--vscode-panel-border); padding: 2px 8px; }
  hr { border: 0; border-top: 1px solid var(--vscode-panel-border); }
  .state { color: var(--vscode-descriptionForeground); font-size: 90%; }
</style>
</head>
<body data-streaming="${parts.streaming}">
<main id="content">${parts.bodyHtml}</main>
<p class="state" id="state"${parts.streaming ? "" : " hidden"}>streaming…</p>
<script nonce="${nonce}">
  const vscode = acquireVsCodeApi();
  window.addEventListener("message", (event) => {
    const update = event.data;
    if (!update || update.type !== "render") return;
    document.getElementById("content").innerHTML = update.html;
    document.body.dataset.streaming = String(update.streaming);
    document.getElementById("state").hidden = !update.streaming;
  });
  vscode.postMessage({ type: "ready" });
</script>
</body>
</html>`;
}
