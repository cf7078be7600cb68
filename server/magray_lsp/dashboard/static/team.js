// magray team view: fetches /api/team?month= and renders it. Plain DOM (textContent only).
"use strict";

(function () {
  const REFRESH_MS = 15000;
  const $ = (id) => document.getElementById(id);
  let timer = null;

  // money mirrors magray's format_usd
  function usd(value) {
    if (value === null || value === undefined) return "–";
    const n = Number(value);
    if (n === 0) return "$0";
    if (n < 0.0001) return "<$0.0001";
    if (n < 0.01) return "$" + n.toFixed(4);
    return "$" + n.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }
  const pct = (v) => (v === null || v === undefined ? "–" : (100 * v).toFixed(1) + "%");
  const int = (v) => (v === null || v === undefined ? "–" : Number(v).toLocaleString("en-US"));

  function month() {
    return new URLSearchParams(location.search).get("month") || "";
  }

  async function load() {
    const m = month();
    let response;
    try {
      response = await fetch("/api/team" + (m ? "?month=" + encodeURIComponent(m) : ""),
        { cache: "no-store" });
    } catch (err) {
      return problem("The dashboard server is not answering: " + err);
    }
    let body;
    try {
      body = await response.json();
    } catch (err) {
      return problem("Unreadable answer from the dashboard server (HTTP " + response.status + ")");
    }
    if (!response.ok) return problem(body.error ? body.error.message : "HTTP " + response.status);
    $("notice").hidden = true;
    document.body.dataset.state = "ready";
    render(body);
  }

  function problem(message) {
    const notice = $("notice");
    notice.textContent = message;
    notice.className = "error";
    notice.hidden = false;
    document.body.dataset.state = "error";
  }

  function cell(tr, text, numeric) {
    const td = document.createElement("td");
    td.textContent = text;
    if (numeric) td.className = "n";
    tr.appendChild(td);
  }

  function fill(id, rows, columns, cells) {
    const tbody = $(id);
    tbody.replaceChildren();
    if (!rows.length) {
      const tr = document.createElement("tr");
      const td = document.createElement("td");
      td.colSpan = columns;
      td.className = "none";
      td.textContent = "nothing this month";
      tr.appendChild(td);
      tbody.appendChild(tr);
      return;
    }
    for (const r of rows) {
      const tr = document.createElement("tr");
      cells(r).forEach((text, i) => cell(tr, text, i > 0));
      tbody.appendChild(tr);
    }
  }

  function render(d) {
    $("team-name").textContent = d.team;
    $("redis").textContent = d.redis;
    $("updated").textContent = new Date().toLocaleTimeString();
    if (!$("month").value) $("month").value = d.month;
    $("kpi-spent").textContent = usd(d.spentUsd);
    $("kpi-reserved").textContent = usd(d.reservedUsd);
    $("kpi-cap").textContent = d.memberLimitUsd === null ? "none" : usd(d.memberLimitUsd);
    const requests = d.members.reduce((n, m) => n + m.requests, 0);
    $("kpi-requests").textContent = int(requests);
    $("kpi-rows").textContent = d.duplicates ? d.duplicates + " re-sent rows counted once" : "";
    const bar = $("budget-bar");
    if (d.limitUsd === null) {
      $("kpi-budget").textContent = "no team budget set";
      bar.style.width = "0";
    } else {
      $("kpi-budget").textContent = "of " + usd(d.limitUsd) + " (" + pct(d.fraction) + ")";
      bar.style.width = Math.min(100, 100 * (d.fraction || 0)) + "%";
      bar.className = d.exhausted ? "over" : d.warn ? "warn" : "";
    }
    fill("members", d.members, 7, (m) => [m.member, usd(m.spentUsd), pct(m.ofMemberLimit),
      int(m.requests), int(m.errors), int(m.inputTokens), int(m.outputTokens)]);
    fill("models", d.models, 6, (m) => [m.model, int(m.requests), usd(m.costUsd),
      int(m.inputTokens), int(m.outputTokens), int(m.cacheHits)]);
    fill("days", d.days, 3, (x) => [x.day, int(x.requests), usd(x.costUsd)]);
  }

  function schedule() {
    clearTimeout(timer);
    if ($("auto").checked) timer = setTimeout(() => load().finally(schedule), REFRESH_MS);
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("month").value = month();
    $("month").addEventListener("change", () => {
      const q = new URLSearchParams(location.search);
      if ($("month").value) q.set("month", $("month").value); else q.delete("month");
      history.replaceState(null, "", "?" + q.toString());
      load();
    });
    $("auto").addEventListener("change", schedule);
    load().finally(schedule);
  });
})();
