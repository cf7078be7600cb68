import { strict as assert } from "node:assert";
import { test } from "node:test";
import { entryMarkdown, StreamBook } from "../src/stream";
import { panelPage, renderMarkdown } from "../src/render";

test("deltas accumulate per stream id until done", () => {
  const book = new StreamBook();
  book.apply({ id: "a", action: "explain", uri: "file:///w/http.py", delta: "It splits", done: false });
  book.apply({ id: "b", action: "document", delta: "other", done: false });
  const a = book.apply({ id: "a", delta: " the line.", done: false });
  assert.equal(a.text, "It splits the line.");
  assert.equal(a.done, false);
  assert.equal(entryMarkdown(a), "# Explanation · http.py\n\nIt splits the line.▍");
  const finished = book.apply({ id: "a", delta: "", done: true });
  assert.equal(entryMarkdown(finished), "# Explanation · http.py\n\nIt splits the line.");
  assert.equal(book.latest()?.id, "b");
});

test("an open code fence is closed for display while streaming", () => {
  const book = new StreamBook();
  const entry = book.apply({ id: "x", action: "refactor", delta: "```python\ndef f():", done: false });
  const md = entryMarkdown(entry);
  assert.ok(md.endsWith("def f():\n```\n\n▍"), md);
  const html = renderMarkdown(md);
  assert.match(html, /<pre><code class="language-python">def f\(\):\n<\/code><\/pre>/);
});

test("the server's final markdown replaces the streamed text", () => {
  const book = new StreamBook();
  book.apply({ id: "a", action: "explain", delta: "draft", done: true });
  const final = book.finish("explain", "### `parse_header`\n\nFinal.\n\n---\n*$0.0004 · gpt-4o-mini*");
  assert.equal(final.id, "a");
  assert.equal(entryMarkdown(final), "### `parse_header`\n\nFinal.\n\n---\n*$0.0004 · gpt-4o-mini*");
  const usage = book.finish("usage", "# magray usage");
  assert.equal(usage.action, "usage");
  assert.equal(book.latest(), usage);
});

test("an empty finished stream says so", () => {
  const book = new StreamBook();
  assert.equal(entryMarkdown(book.apply({ id: "e", action: "explain", done: true })), "# Explanation\n\n*(no output)*");
});

test("the book keeps only recent streams", () => {
  const book = new StreamBook(2);
  for (const id of ["1", "2", "3"]) book.apply({ id, delta: id });
  assert.equal(book.get("1"), undefined);
  assert.equal(book.get("3")?.text, "3");
});

test("model output cannot inject HTML or scripts into the panel", () => {
  const html = renderMarkdown("Hi <script>alert(1)</script> <img src=x onerror=alert(1)>");
  assert.doesNotMatch(html, /<script>|<img/);
  assert.match(html, /&lt;script&gt;/);
  const page = panelPage({ title: "a<b", bodyHtml: html, cspSource: "vscode-resource:", streaming: true, nonce: "n0nce" });
  assert.match(page, /default-src 'none'/);
  assert.match(page, /script-src 'nonce-n0nce';/);
  assert.equal(page.match(/<script/g)?.length, 1);
  assert.match(page, /<script nonce="n0nce">/);
  assert.match(page, /<title>a&#60;b<\/title>/);
  assert.match(page, /streaming…/);
});
