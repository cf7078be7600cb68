import { readFile } from "node:fs/promises";
import path from "node:path";

const MAX_RETRIES = 3;

/**
 * A tiny in-memory cache with expiry.
 */
export class TtlCache {
  constructor(ttlMs = 1000) {
    this.ttlMs = ttlMs;
    this.entries = new Map();
  }

  get(key) {
    const entry = this.entries.get(key);
    if (!entry || entry.expires < Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key, value) {
    this.entries.set(key, { value, expires: Date.now() + this.ttlMs });
    return this;
  }

  static fromObject(obj, ttlMs) {
    const cache = new TtlCache(ttlMs);
    for (const [k, v] of Object.entries(obj)) cache.set(k, v);
    return cache;
  }
}

export async function loadConfig(dir) {
  const file = path.join(dir, "config.json");
  const text = await readFile(file, "utf8");
  return JSON.parse(text);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function withRetry(fn) {
  let lastError;
  for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
    try {
      return await fn();
    } catch (err) {
      lastError = err;
      await sleep(2 ** attempt * 100); // 🚀 back off
    }
  }
  throw lastError;
}

export function greet(name) {
  return `你好, ${name}!`;
}

export default { TtlCache, loadConfig, withRetry };
