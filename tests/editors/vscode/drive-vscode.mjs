// Drives real VS Code (code-server) in headless Debian Chromium, keyboard only where a user would
// type: open a file, put the cursor in a function, Ctrl+. → pick "Add docstring" → wait for the
// edit and the status bar cost, save, screenshot. Prints one JSON line with what it saw; the
// Python test (tests/editors/test_vscode.py) owns the setup and the assertions.
//
//   node drive-vscode.mjs '{"url": ..., "file": "http_headers.py", "line": 5, "pick": "Add docstring",
//                           "expectText": ..., "statusText": "gpt-4o-mini", "screenshot": ...,
//                           "playwright": ".../editors/vscode/package.json", "timeoutMs": 180000}'
import { createRequire } from "node:module";

const opts = JSON.parse(process.argv[2]);
const { chromium } = createRequire(opts.playwright)("playwright-core");
const TIMEOUT = opts.timeoutMs ?? 180_000;
const started = Date.now();
const timings = {};
const seen = {};

function mark(step) {
  timings[step] = Math.round((Date.now() - started) / 100) / 10;
  process.stderr.write(`[drive ${timings[step]}s] ${step}\n`);
}

function normalize(text) {
  return text.replace(/\u00a0/g, " ");
}

async function until(what, probe, timeout = TIMEOUT, every = 250) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await probe();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${last})`);
    await new Promise((r) => setTimeout(r, every));
  }
}

const browser = await chromium.launch({
  executablePath: opts.chromium ?? "/usr/bin/chromium",
  headless: true,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
  ],
});
const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
page.setDefaultTimeout(TIMEOUT);
const consoleErrors = [];
page.on("console", (msg) => {
  if (msg.type() === "error") consoleErrors.push(msg.text().slice(0, 300));
});

async function editorText() {
  const lines = await page.locator(".editor-instance .view-lines").first().innerText();
  return normalize(lines);
}

async function focusedOption() {
  const focused = page.locator(".action-widget .monaco-list-row.focused");
  return (await focused.count()) ? normalize(await focused.first().innerText()) : "";
}

// Ctrl+. until the server's actions are listed (the server may still be starting), then walk the
// list with the arrow keys to the wanted action and press Enter. Returns the menu's text.
async function pickAction(pick) {
  let menu = "";
  await until(`"${pick}" in the Ctrl+. menu`, async () => {
    await page.keyboard.press("Escape");
    await page.keyboard.press("Control+Period");
    // Before the server answers, VS Code says "No code actions available" instead: try again.
    const widget = page.locator(".action-widget");
    const none = page.getByText("No code actions available");
    await widget.or(none).first().waitFor({ state: "visible", timeout: 15_000 });
    if (!(await widget.isVisible())) return false;
    await page.locator(".action-widget .monaco-list-row.action").first().waitFor({ timeout: 15_000 });
    menu = normalize(await widget.innerText());
    return menu.includes(pick);
  }, TIMEOUT, 2000);
  const first = await until("a focused entry", focusedOption, 10_000);
  let current = first;
  for (let step = 0; !current.includes(pick); step++) {
    if (step > 30) throw new Error(`"${pick}" never got focus; menu: ${menu}`);
    await page.keyboard.press("ArrowDown");
    await page.waitForTimeout(100);
    current = await focusedOption();
    if (current === first && step > 0) throw new Error(`wrapped around without "${pick}"; menu: ${menu}`);
  }
  seen.picked = [...(seen.picked ?? []), current];
  await page.keyboard.press("Enter");
  return menu;
}

// Ctrl+G, "line:column", Enter.
async function gotoLine(line, column) {
  await page.locator(".editor-instance .view-lines").first().click();
  await page.keyboard.press("Control+G");
  await page.locator(".quick-input-widget input").waitFor({ state: "visible" });
  await page.keyboard.type(`${line}:${column ?? 5}`);
  await page.keyboard.press("Enter");
}

// F1, the command's name, Enter; then the item in the quick pick it opens, Enter.
async function runFromPalette(command, item) {
  await page.keyboard.press("Escape");
  await page.keyboard.press("Control+Shift+P");
  const input = page.locator(".quick-input-widget input");
  await input.waitFor({ state: "visible" });
  await input.fill(`>${command}`);
  await page.locator(".quick-input-list .monaco-list-row", { hasText: command }).first().waitFor();
  await page.keyboard.press("Enter");
  // the action list comes from the server (magray.listActions)
  const row = page.locator(".quick-input-list .monaco-list-row", { hasText: item }).first();
  await row.waitFor();
  await input.fill(item);
  await page.waitForTimeout(300);
  seen.paletteItem = [...(seen.paletteItem ?? []), normalize(await row.innerText())];
  await page.keyboard.press("Enter");
}

// The magray panel is a webview: an iframe holding the active frame with our page.
async function panelState() {
  const body = page.frameLocator("iframe.webview.ready").frameLocator("#active-frame").locator("body");
  if (!(await body.count())) return undefined;
  return {
    streaming: (await body.getAttribute("data-streaming", { timeout: 2000 })) === "true",
    text: normalize(await body.innerText({ timeout: 2000 })),
  };
}

try {
  await page.goto(opts.url, { waitUntil: "domcontentloaded", timeout: TIMEOUT });
  await page.locator(".monaco-workbench").waitFor({ state: "visible" });
  mark("workbench");

  // The extension shows its status bar item once activated; the server starts right after.
  const statusItem = page.locator(".statusbar-item", { hasText: "magray" }).or(
    page.locator('.statusbar-item[id*="magray"]'),
  );
  await statusItem.first().waitFor({ state: "visible" });
  mark("extension active");

  // Quick Open (Ctrl+P), type the name, Enter.
  await until("the file to open in an editor", async () => {
    await page.locator(".monaco-workbench").click({ position: { x: 700, y: 400 }, force: true }).catch(() => {});
    await page.keyboard.press("Control+P");
    const input = page.locator(".quick-input-widget input");
    await input.waitFor({ state: "visible", timeout: 15_000 });
    await input.fill(opts.file);
    await page.locator(".quick-input-list .monaco-list-row").first().waitFor({ timeout: 15_000 });
    await page.keyboard.press("Enter");
    return (await editorText().catch(() => "")).includes(opts.openText ?? "def ");
  }, TIMEOUT, 1000);
  mark("file open");

  // steps: each puts the cursor somewhere, runs an action from the Ctrl+. menu ("pick") or
  // from the command palette ("palette": {command, item}) and waits for its edit
  for (const [i, step] of (opts.steps ?? [opts]).entries()) {
    await gotoLine(step.line, step.column);
    mark(`cursor placed ${i}`);
    if (step.palette) await runFromPalette(step.palette.command, step.palette.item);
    else seen.menus = [...(seen.menus ?? []), await pickAction(step.pick)];
    mark(`action picked ${i}`);
    if (step.typeAbove) {
      // The user keeps typing while the model answers: once the answer streams (the status bar
      // spins), type lines at the top of the file, one by one, through the keyboard.
      await page.locator(".statusbar-item", { hasText: step.typeAbove.busyText }).first().waitFor({ state: "visible" });
      mark(`answer streaming ${i}`);
      for (const line of step.typeAbove.lines) {
        await page.keyboard.press("Control+Home");
        await page.keyboard.press("Enter");
        await page.keyboard.press("ArrowUp");
        await page.keyboard.type(line);
        await page.keyboard.press("Escape"); // no suggestion widget may eat the next key
      }
      seen.typedWhileStreaming = await page
        .locator(".statusbar-item", { hasText: step.typeAbove.busyText })
        .count();
      mark(`typed above ${i}`);
    }
    // The action resolves (the LLM call) and VS Code applies the edit.
    seen.editor = await until(`the edit of step ${i} in the editor`, async () => {
      const text = await editorText();
      return text.includes(step.expectText) ? text : false;
    });
    seen.editors = [...(seen.editors ?? []), seen.editor];
    mark(`edit applied ${i}`);
  }
  seen.menu = (seen.menus ?? [])[0];

  const costItem = page.locator(".statusbar-item", { hasText: opts.statusText });
  await costItem.first().waitFor({ state: "visible" });
  seen.status = normalize(await costItem.first().innerText()).trim();
  seen.statusLabel = await costItem.first().locator("a").first().getAttribute("aria-label").catch(() => null);
  mark("status bar updated");

  await page.keyboard.press("Control+S");
  await until("the editor to be saved", async () => (await page.locator(".tab.active.dirty").count()) === 0, 60_000);
  mark("saved");

  await costItem.first().hover();
  await page.waitForTimeout(1500); // let the tooltip render for the screenshot
  await page.screenshot({ path: opts.screenshot });
  mark("screenshot");

  if (opts.explain) {
    // Explain streams into the magray panel (opened beside the editor), live, then the server's
    // final markdown replaces it. Record every streaming state we catch on the way.
    await gotoLine(opts.line, opts.column);
    await pickAction(opts.explain.pick);
    mark("explain picked");
    seen.panelStreaming = [];
    seen.panelFinal = await until("the final explanation in the panel", async () => {
      const state = await panelState().catch(() => undefined);
      if (state?.streaming) seen.panelStreaming.push(state.text);
      const final = state && !state.streaming && [].concat(opts.explain.expectFinal).every((t) => state.text.includes(t));
      return final ? state.text : false;
    }, TIMEOUT, 100);
    mark("explanation shown");
    const explainCost = page.locator(".statusbar-item", { hasText: opts.explain.statusText });
    await explainCost.first().waitFor({ state: "visible" });
    seen.explainStatus = normalize(await explainCost.first().innerText()).trim();
    await page.screenshot({ path: opts.explain.screenshot });
    mark("explain screenshot");

    // Clicking the status bar item runs magray.showUsage: the usage report replaces the panel.
    await explainCost.first().click();
    seen.usage = await until("the usage report in the panel", async () => {
      const state = await panelState().catch(() => undefined);
      return state && state.text.includes(opts.explain.usageText) ? state.text : false;
    });
    mark("usage report shown");
  }
  console.log(JSON.stringify({ ok: true, seen, timings, consoleErrors: consoleErrors.slice(0, 10) }));
} catch (err) {
  await page.screenshot({ path: opts.failureScreenshot ?? opts.screenshot }).catch(() => {});
  const workbench = await page.locator(".monaco-workbench").innerText().catch(() => "");
  console.log(
    JSON.stringify({
      ok: false,
      error: String(err && err.stack ? err.stack : err),
      seen,
      timings,
      workbench: normalize(workbench).slice(0, 4000),
      consoleErrors: consoleErrors.slice(0, 20),
    }),
  );
  process.exitCode = 1;
} finally {
  await browser.close();
}
