// magray usage dashboard: fetches /api/dashboard with the filters in the page URL and renders it.
// Plain DOM (textContent only, never innerHTML with data) and uPlot for the two charts.
"use strict";

(function () {
  const REFRESH_MS = 15000;
  const FILTER_KEYS = ["range", "from", "to", "provider", "workspace", "action"];
  const COLORS = ["#2563eb", "#d97706", "#059669", "#dc2626", "#7c3aed", "#0891b2", "#be185d"];
  const $ = (id) => document.getElementById(id);
  let timer = null;
  let charts = [];
  let last = null;

  // --- formatting (money mirrors magray's format_usd) -------------------------------------------

  function usd(value) {
    if (value === null || value === undefined) return "$?";
    const n = Number(value);
    if (n === 0) return "$0";
    if (n < 0.0001) return "<$0.0001";
    if (n < 0.01) return "$" + n.toFixed(4);
    return "$" + n.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }
  // per-request amounts are small: show cents to four decimals below a dollar
  function usdFine(value) {
    if (value === null || value === undefined) return "–";
    const n = Number(value);
    return n > 0 && n < 1 ? "$" + n.toFixed(4) : usd(value);
  }
  const pct = (v) => (v === null || v === undefined ? "–" : (100 * v).toFixed(1) + "%");
  const int = (v) => (v === null || v === undefined ? "–" : Number(v).toLocaleString("en-US"));
  function ms(v) {
    if (v === null || v === undefined) return "–";
    return v >= 10000 ? (v / 1000).toFixed(1) + " s" : Math.round(v).toLocaleString("en-US") + " ms";
  }
  function secs(v) {
    if (v === null || v === undefined) return "–";
    if (v < 120) return v.toFixed(1) + " s";
    if (v < 7200) return (v / 60).toFixed(1) + " min";
    return (v / 3600).toFixed(1) + " h";
  }
  function when(epoch) {
    if (epoch === null || epoch === undefined) return "–";
    const d = new Date(epoch * 1000);
    const p = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ` +
      `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  }

  // --- filters <-> URL ---------------------------------------------------------------------------

  function readUrl() {
    const q = new URLSearchParams(location.search);
    for (const key of FILTER_KEYS) {
      const el = $(key);
      if (q.has(key)) {
        if (el.tagName === "SELECT" && ![...el.options].some((o) => o.value === q.get(key))) {
          addOption(el, q.get(key));  // a provider/workspace not (yet) in the ledger
        }
        el.value = q.get(key);
      }
    }
    $("custom-range").hidden = $("range").value !== "custom";
  }

  function query() {
    const q = new URLSearchParams();
    for (const key of FILTER_KEYS) {
      if ((key === "from" || key === "to") && $("range").value !== "custom") continue;
      const value = $(key).value;
      if (value) q.set(key, value);
    }
    return q;
  }

  function onFilterChange() {
    $("custom-range").hidden = $("range").value !== "custom";
    if ($("range").value === "custom" && !($("from").value && $("to").value)) return;
    history.replaceState(null, "", "?" + query().toString());
    load();
  }

  function addOption(select, value) {
    const o = document.createElement("option");
    o.value = value;
    o.textContent = value;
    select.appendChild(o);
  }

  function fillOptions(select, values) {
    const keep = select.value;
    while (select.options.length > 1) select.remove(1);
    for (const v of values) addOption(select, v);
    if (keep && !values.includes(keep)) addOption(select, keep);
    select.value = keep;
  }

  // --- loading -----------------------------------------------------------------------------------

  async function load() {
    clearTimeout(timer);
    let response, body;
    try {
      response = await fetch("/api/dashboard?" + query().toString(), { cache: "no-store" });
      body = await response.json();
    } catch (err) {
      showProblem("The dashboard server is not answering (" + err.message + "). Is it still running?");
      schedule();
      return;
    }
    if (!response.ok) {
      showProblem(body && body.error ? body.error.message : "HTTP " + response.status,
        body && body.error ? body.error.reason : "http");
    } else {
      last = body;
      render(body);
    }
    schedule();
  }

  function schedule() {
    if ($("auto").checked) timer = setTimeout(load, REFRESH_MS);
  }

  function showProblem(message, reason) {
    const n = $("notice");
    n.className = "error";
    n.dataset.reason = reason || "offline";
    n.textContent = message;
    n.hidden = false;
    document.body.dataset.state = "error";
  }

  // --- rendering ---------------------------------------------------------------------------------

  function setText(id, text, value) {
    const el = $(id);
    el.textContent = text;
    if (value !== undefined) el.dataset.value = value === null ? "" : String(value);
  }

  function render(d) {
    const t = d.totals;
    $("ledger-path").textContent = d.ledger;
    $("updated").textContent = when(d.generated_at);
    fillOptions($("provider"), d.options.providers);
    fillOptions($("workspace"), d.options.workspaces);
    fillOptions($("action"), d.options.actions);

    const notice = $("notice");
    notice.className = "info";
    notice.dataset.reason = "";
    if (d.empty) {
      notice.textContent = "No requests recorded yet. Run an explain, document or refactor action " +
        "in your editor (or `magray-lsp explain FILE:LINE`) and it will show up here.";
      notice.dataset.reason = "empty";
    } else if (t.requests === 0) {
      notice.textContent = "No requests match these filters.";
      notice.dataset.reason = "no_match";
    }
    notice.hidden = !notice.dataset.reason;

    const b = d.budget;
    setText("kpi-month", usd(b.spent_usd), b.spent_usd);
    const bar = $("budget-bar");
    if (b.limit_usd === null) {
      setText("kpi-budget", "no monthly budget set", "");
      bar.style.width = "0";
    } else {
      setText("kpi-budget", `of ${usd(b.limit_usd)} budget (${pct(b.fraction)})`, b.limit_usd);
      bar.style.width = Math.min(100, 100 * b.fraction) + "%";
    }
    bar.className = b.exhausted ? "over" : b.warn ? "warn" : "";

    setText("kpi-spend", usd(t.cost_usd), t.cost_usd);
    setText("kpi-cpr", usdFine(t.cost_per_request_usd), t.cost_per_request_usd);
    setText("kpi-requests", int(t.requests), t.requests);
    setText("kpi-errors", int(t.errors), t.errors);
    setText("kpi-success", pct(t.success_rate), t.success_rate);
    setText("kpi-p50", ms(t.latency_ms.p50), t.latency_ms.p50);
    setText("kpi-p99", ms(t.latency_ms.p99), t.latency_ms.p99);
    setText("kpi-cache", pct(t.cache_hit_rate), t.cache_hit_rate);
    setText("kpi-saved", usd(t.saved_usd), t.saved_usd);
    // the provider's prompt cache: negative while cache writes (priced above input) go unread
    const promptSaved = Number(t.prompt_cache_saved_usd);
    setText("kpi-prompt-saved", (promptSaved < 0 ? "-" : "") + usd(Math.abs(promptSaved)),
      t.prompt_cache_saved_usd);
    setText("kpi-fallback", pct(t.fallback_rate), t.fallback_rate);
    setText("kpi-fallbacks", int(t.fallbacks), t.fallbacks);

    renderModels(d.models);
    renderProviders(d.providers);
    renderOutages(d.outages);
    renderRecent(d.recent);
    renderCharts(d);
    document.body.dataset.state = "ready";
  }

  function row(tbody, cells, attrs) {
    const tr = document.createElement("tr");
    for (const [k, v] of Object.entries(attrs || {})) tr.dataset[k] = v;
    for (const c of cells) {
      const td = document.createElement("td");
      if (c instanceof Node) td.appendChild(c);
      else if (typeof c === "object" && c !== null) {
        td.textContent = c.text;
        if (c.cls) td.className = c.cls;
        if (c.key) td.dataset.key = c.key;
        if (c.value !== undefined) td.dataset.value = c.value === null ? "" : String(c.value);
        if (c.title) td.title = c.title;
      } else td.textContent = c;
      tr.appendChild(td);
    }
    tbody.appendChild(tr);
    return tr;
  }

  function empty(tbody, columns, text) {
    const tr = document.createElement("tr");
    const td = document.createElement("td");
    td.colSpan = columns;
    td.className = "none";
    td.textContent = text;
    tr.appendChild(td);
    tbody.appendChild(tr);
  }

  const num = (key, text, value) => ({ text, key, value, cls: "n" });

  function renderModels(models) {
    const tbody = $("models");
    tbody.replaceChildren();
    if (!models.length) return empty(tbody, 9, "No requests in this range.");
    const top = Math.max(...models.map((m) => Number(m.cost_per_request_usd || 0)), 0);
    for (const m of models) {
      const cpr = m.cost_per_request_usd;
      const cell = document.createElement("span");
      cell.className = "databar";
      const fill = document.createElement("span");
      fill.style.width = top > 0 ? (100 * Number(cpr || 0)) / top + "%" : "0";
      const label = document.createElement("span");
      label.textContent = usdFine(cpr);
      cell.append(fill, label);
      const tr = row(tbody, [
        m.provider + "/" + m.model,
        num("requests", int(m.requests), m.requests),
        num("success", pct(m.success_rate), m.success_rate),
        num("p50", ms(m.latency_ms.p50), m.latency_ms.p50),
        num("p90", ms(m.latency_ms.p90), m.latency_ms.p90),
        num("p99", ms(m.latency_ms.p99), m.latency_ms.p99),
        num("cost", usd(m.cost_usd), m.cost_usd),
        cell,
        num("cache_hits", int(m.cache_hits), m.cache_hits),
      ], { model: m.provider + "/" + m.model });
      tr.children[7].className = "n";
      tr.children[7].dataset.key = "cost_per_request";
      tr.children[7].dataset.value = cpr === null ? "" : cpr;
    }
  }

  function renderProviders(providers) {
    const tbody = $("providers");
    tbody.replaceChildren();
    if (!providers.length) return empty(tbody, 11, "No provider calls in this range.");
    for (const p of providers) {
      const rec = p.recovery || { outages: 0, mean_s: null, ongoing_since: null };
      const outages = int(rec.outages) + (rec.ongoing_since ? " (down now)" : "");
      row(tbody, [
        p.provider,
        num("requests", int(p.requests), p.requests),
        num("success", pct(p.success_rate), p.success_rate),
        num("p50", ms(p.latency_ms.p50), p.latency_ms.p50),
        num("p90", ms(p.latency_ms.p90), p.latency_ms.p90),
        num("p99", ms(p.latency_ms.p99), p.latency_ms.p99),
        num("uptime", pct(p.uptime === undefined ? null : p.uptime), p.uptime),
        num("attempts", int(p.attempts), p.attempts),
        num("failures", int(p.failures), p.failures),
        num("outages", outages, rec.outages),
        num("recovery", secs(rec.mean_s), rec.mean_s),
      ], { provider: p.provider });
    }
  }

  function renderOutages(outages) {
    const tbody = $("outages");
    tbody.replaceChildren();
    if (!outages.length) return empty(tbody, 4, "No outages in this range.");
    for (const o of outages) {
      row(tbody, [
        o.provider,
        when(o.started),
        o.ongoing ? { text: "ongoing", cls: "bad" } : when(o.ended),
        num("recovery", o.ongoing ? "–" : secs(o.recovery_s), o.recovery_s),
      ], { provider: o.provider });
    }
  }

  function renderRecent(recent) {
    const tbody = $("recent");
    tbody.replaceChildren();
    if (!recent.length) return empty(tbody, 9, "No requests in this range.");
    for (const r of recent) {
      const outcome = r.cached ? "ok (cache)" : r.outcome + (r.error_type ? ": " + r.error_type : "") +
        (r.fallback_count ? ` (after ${r.fallback_count} fallback${r.fallback_count > 1 ? "s" : ""})` : "");
      const file = r.source_path ? r.source_path.split("/").pop() : "–";
      row(tbody, [
        when(r.ts),
        r.action,
        { text: file, title: r.source_path, key: "file" },
        r.provider + "/" + r.model,
        num("input_tokens", int(r.input_tokens), r.input_tokens),
        num("output_tokens", int(r.output_tokens), r.output_tokens),
        // no cost and no tokens: nothing was spent; no cost but tokens: the price is unknown
        num("cost", r.cost_usd === null && !(r.input_tokens + r.output_tokens) ? "–" : usd(r.cost_usd),
          r.cost_usd),
        num("latency", ms(r.latency_ms), r.latency_ms),
        { text: outcome, cls: r.outcome === "ok" ? "ok" : "bad", key: "outcome", value: r.outcome },
      ]);
    }
  }

  // --- charts ------------------------------------------------------------------------------------
  //
  // The x axis spans the selected range (in whole buckets of the chart), never just the data: one
  // day of data in "This month" is one day among the month's, with day ticks. Every bucket in the
  // range has a slot, so a bar is as wide as its day whatever the other days hold, and a success
  // rate is drawn as a flat line across its bucket (a lone bucket is a line, not a stray dot).
  // Times are UTC, as the day buckets are. Each chart element records its x range and ticks in
  // data-x-min, data-x-max and data-x-ticks (epoch seconds), which the browser test reads.

  const DAY = 86400;
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const floorTo = (t, step) => Math.floor(t / step) * step;
  const ceilTo = (t, step) => Math.ceil(t / step) * step;

  // [start, end) of the selected range, widened to whole buckets of `step` seconds
  function xRange(d, step) {
    const lo = floorTo(d.window.since, step);
    return [lo, Math.max(ceilTo(d.window.until, step), lo + step)];
  }

  function tickLabel(t, incr) {
    const d = new Date(t * 1000);
    const day = MONTHS[d.getUTCMonth()] + " " + d.getUTCDate();
    if (incr >= DAY || (d.getUTCHours() === 0 && d.getUTCMinutes() === 0)) return day;
    return String(d.getUTCHours()).padStart(2, "0") + ":" + String(d.getUTCMinutes()).padStart(2, "0");
  }

  function timeScale([lo, hi]) {
    return { time: true, range: () => [lo, hi] };
  }

  function timeAxis(el) {
    return {
      space: 50,  // px between ticks: room for "Mar 10"
      values: (u, splits, axis, space, incr) => {
        el.dataset.xTicks = splits.join(",");
        return splits.map((t) => tickLabel(t, incr));
      },
    };
  }

  function chartOptions(el, range, rest) {
    return {
      width: Math.max(280, el.clientWidth), height: 240,
      tzDate: (t) => uPlot.tzDate(new Date(t * 1000), "Etc/UTC"),
      hooks: { draw: [(u) => {
        el.dataset.xMin = u.scales.x.min;
        el.dataset.xMax = u.scales.x.max;
      }] },
      ...rest,
      scales: { x: timeScale(range), ...rest.scales },
    };
  }

  function renderCharts(d) {
    if (typeof uPlot === "undefined") return;  // the page still works without charts
    for (const c of charts) c.destroy();
    charts = [];
    renderSpend(d);
    renderHealth(d);
  }

  function renderSpend(d) {
    const el = $("chart-spend");
    el.replaceChildren();
    if (!d.spend_per_day.length) {
      el.textContent = "No spend in this range.";
      return;
    }
    const range = xRange(d, DAY);
    const byDay = new Map(d.spend_per_day.map((r) => [Date.parse(r.day + "T00:00:00Z") / 1000, r]));
    const xs = [], spend = [], requests = [];
    for (let day = range[0]; day < range[1]; day += DAY) {
      const r = byDay.get(day);
      xs.push(day + DAY / 2);  // a day's bars stand in the middle of the day
      spend.push(r ? Number(r.cost_usd) : null);
      requests.push(r ? r.requests : null);
    }
    const upTo = (u, lo, hi) => [0, hi > 0 ? hi * 1.1 : 1];
    charts.push(new uPlot(chartOptions(el, range, {
      scales: { usd: { range: upTo }, n: { range: upTo } },
      axes: [
        timeAxis(el),
        { scale: "usd", values: (u, vals) => vals.map((v) => usd(v)), size: 70 },
        { scale: "n", side: 1, grid: { show: false } },
      ],
      series: [
        { value: (u, v) => (v === null ? "–" : new Date((v - DAY / 2) * 1000).toISOString().slice(0, 10)) },
        { label: "Spend", scale: "usd", fill: "rgba(37,99,235,0.45)", stroke: "#2563eb",
          paths: uPlot.paths.bars({ size: [0.42, 40], align: -1 }), points: { show: false },
          value: (u, v) => (v === null ? "–" : usd(v)) },
        { label: "Requests", scale: "n", fill: "rgba(217,119,6,0.45)", stroke: "#d97706",
          paths: uPlot.paths.bars({ size: [0.42, 40], align: 1 }), points: { show: false },
          value: (u, v) => (v === null ? "–" : int(v)) },
      ],
    }), [xs, spend, requests], el));
  }

  function renderHealth(d) {
    const el = $("chart-health");
    el.replaceChildren();
    const providers = d.providers.filter((p) => p.buckets && p.buckets.length);
    if (!providers.length) {
      el.textContent = "No provider calls in this range.";
      return;
    }
    const step = d.health_bucket_s;
    const range = xRange(d, step);
    // every bucket's start and end: a rate holds from its bucket's start to its end
    const xs = [...new Set(providers.flatMap((p) => p.buckets.flatMap((b) => [b.start, b.start + step])))]
      .sort((a, b) => a - b);
    const series = providers.map((p) => {
      const rate = new Map(p.buckets.map((b) => [b.start, 100 * b.success_rate]));
      return xs.map((x) => (rate.has(x) ? rate.get(x) : rate.has(x - step) ? rate.get(x - step) : null));
    });
    charts.push(new uPlot(chartOptions(el, range, {
      scales: { y: { range: [0, 102] } },
      axes: [timeAxis(el), { values: (u, vals) => vals.map((v) => v + "%") }],
      series: [{ value: (u, v) => (v === null ? "–" : new Date(v * 1000).toISOString().slice(0, 16).replace("T", " ")) },
        ...providers.map((p, i) => ({
          label: p.provider, stroke: COLORS[i % COLORS.length], width: 2, spanGaps: false,
          paths: uPlot.paths.stepped({ align: 1 }), points: { show: false },
          value: (u, v) => (v === null ? "–" : v.toFixed(1) + "%"),
        }))],
    }), [xs, ...series], el));
  }

  // --- wiring ------------------------------------------------------------------------------------

  document.addEventListener("DOMContentLoaded", () => {
    readUrl();
    for (const key of FILTER_KEYS) $(key).addEventListener("change", onFilterChange);
    $("auto").addEventListener("change", () => {
      clearTimeout(timer);
      schedule();
    });
    let resize = null;
    window.addEventListener("resize", () => {
      clearTimeout(resize);
      resize = setTimeout(() => last && renderCharts(last), 200);
    });
    load();
  });
})();
