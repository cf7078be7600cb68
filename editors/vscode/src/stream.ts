// Pure: collects `magray/stream` notifications into documents the panel renders. No `vscode`.

/** The `magray/stream` payload (server/magray_lsp/lsp/server.py). */
export interface StreamNote {
  id: string;
  delta?: string;
  done?: boolean;
  action?: string;
  uri?: string;
}

export interface StreamEntry {
  id: string;
  action: string;
  uri?: string;
  text: string;
  done: boolean;
  /** Set when the server's final answer (e.g. the explanation with its footer) replaced the text. */
  final: boolean;
}

const TITLES: Record<string, string> = {
  explain: "Explanation",
  document: "Docstring",
  refactor: "Refactoring",
  hover: "Hover",
};

/** A bounded record of recent streams, newest last. */
export class StreamBook {
  private readonly entries = new Map<string, StreamEntry>();

  constructor(private readonly keep = 20) {}

  apply(note: StreamNote): StreamEntry {
    let entry = this.entries.get(note.id);
    if (entry === undefined) {
      entry = { id: note.id, action: note.action ?? "explain", uri: note.uri, text: "", done: false, final: false };
      this.entries.set(note.id, entry);
      while (this.entries.size > this.keep) {
        const oldest = this.entries.keys().next().value as string;
        this.entries.delete(oldest);
      }
    }
    if (note.delta) entry.text += note.delta;
    if (note.done) entry.done = true;
    return entry;
  }

  /** The server's finished markdown for the newest stream of `action` (or a new entry). */
  finish(action: string, markdown: string, id = `final-${Date.now()}`): StreamEntry {
    const target = [...this.entries.values()].reverse().find((e) => e.action === action);
    const entry = target ?? this.apply({ id, action, done: true });
    entry.text = markdown;
    entry.done = true;
    entry.final = true;
    return entry;
  }

  get(id: string): StreamEntry | undefined {
    return this.entries.get(id);
  }

  latest(): StreamEntry | undefined {
    let last: StreamEntry | undefined;
    for (const entry of this.entries.values()) last = entry;
    return last;
  }
}

function fileName(uri: string | undefined): string | undefined {
  if (!uri) return undefined;
  const path = decodeURIComponent(uri.replace(/^[a-z]+:\/\//i, ""));
  return path.split("/").filter(Boolean).pop();
}

/** Markdown for one entry: a heading, the text so far, and a cursor while it is streaming. */
export function entryMarkdown(entry: StreamEntry): string {
  const title = TITLES[entry.action] ?? entry.action;
  const file = fileName(entry.uri);
  const heading = entry.final ? "" : `# ${title}${file ? ` · ${file}` : ""}\n\n`;
  let body = entry.text;
  if (!entry.done) {
    // An unclosed code fence would swallow the cursor; close it for display only.
    const fences = (body.match(/^```/gm) ?? []).length;
    body += fences % 2 === 1 ? "\n```\n\n▍" : "▍";
  } else if (!body.trim()) {
    body = "*(no output)*";
  }
  return heading + body;
}
