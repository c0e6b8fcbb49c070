// The gateway dashboard: polls /metagraph and /history and draws the table
// and the charts as inline SVG. No libraries: it must work offline.
//
// Everything drawn carries its numbers in data- attributes (rows: data-uid,
// data-incentive, ...; charts: data-series, data-points), so a test can read
// them from the DOM (tests/validator/dashboard_check.sh).
"use strict";

const POLL_MS = 3000;
const SVG_NS = "http://www.w3.org/2000/svg";
const UNITS_PER_TOKEN = 1e9;
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"];

let updates = 0;

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;  // never innerHTML: chain strings are untrusted
  return e;
}

function svgEl(tag, attrs, text) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function num(x) { return typeof x === "number" && isFinite(x) ? x : 0; }

function fmt(x, digits) {
  if (!isFinite(x)) return "";
  if (x !== 0 && Math.abs(x) < Math.pow(10, -digits)) return x.toExponential(1);
  return x.toFixed(digits);
}

function shortKey(s) { return s && s.length > 14 ? s.slice(0, 8) + "\u2026" + s.slice(-4) : (s || ""); }

function colorOf(uid) { return COLORS[uid % COLORS.length]; }

// ---- the table ----

function renderTable(mg) {
  const table = document.getElementById("metagraph");
  const body = table.tBodies[0];
  const neurons = (mg.neurons || []).slice().sort((a, b) => a.uid - b.uid);
  const rows = [];
  for (const n of neurons) {
    const tr = el("tr", {
      "data-uid": n.uid,
      "data-hotkey": n.hotkey || "",
      "data-model": n.model || "",
      "data-heldout-loss": num(n.heldout_loss),
      "data-score": num(n.score),
      "data-incentive": num(n.incentive),
      "data-emission": num(n.emission),
      "data-stake": num(n.stake),
      "data-validator-trust": num(n.validator_trust),
      "data-validator-permit": n.validator_permit ? 1 : 0,
    });
    if (n.zeroed) tr.classList.add("zeroed");
    else if (n.unverified) tr.classList.add("unverified");
    if (n.uid === mg.validator_uid) tr.classList.add("self");
    const hot = el("td", {class: "mono", title: n.hotkey || ""}, shortKey(n.hotkey));
    const model = el("td", {class: "mono", title: n.model || ""}, n.model ? n.model.slice(0, 12) : "\u2014");
    const hasScore = num(n.heldout_loss) > 0 || num(n.score) > 0;
    tr.append(
      el("td", {}, String(n.uid)),
      hot,
      model,
      el("td", {class: "num"}, hasScore ? fmt(num(n.heldout_loss), 4) : "\u2014"),
      el("td", {class: "num"}, fmt(num(n.score), 4)),
      el("td", {class: "num"}, fmt(num(n.incentive), 4)),
      el("td", {class: "num"}, fmt(num(n.emission) / UNITS_PER_TOKEN, 4)),
      el("td", {class: "num"}, fmt(num(n.stake) / UNITS_PER_TOKEN, 2)),
      el("td", {class: "num"}, n.validator_permit ? fmt(num(n.validator_trust), 4) : "\u2014"),
      el("td", {class: "mono"}, n.endpoint || ""));
    rows.push(tr);
  }
  body.replaceChildren(...rows);
  table.setAttribute("data-rows", rows.length);
  document.getElementById("netuid").textContent = mg.netuid !== undefined ? "#" + mg.netuid : "";
  const status = document.getElementById("status");
  status.setAttribute("data-block", num(mg.block));
  status.setAttribute("data-epoch", num(mg.epoch));
  status.setAttribute("data-step", num(mg.step));
}

// ---- the charts ----

// Draws `series` ([{name, color, points: [[x, y or null], ...]}]) into the
// svg `id`. A null y breaks the line (no data in that interval). yMax fixes
// the top of the scale (else the largest value).
function drawChart(id, series, opts) {
  const svg = document.getElementById(id);
  const W = 640, H = 220, L = 56, R = 12, T = 10, B = 26;
  const parts = [];
  let xmin = Infinity, xmax = -Infinity, ymax = opts.yMax || 0;
  for (const s of series) {
    for (const [x, y] of s.points) {
      xmin = Math.min(xmin, x);
      xmax = Math.max(xmax, x);
      if (y !== null && !opts.yMax) ymax = Math.max(ymax, y);
    }
  }
  if (ymax <= 0) ymax = 1;
  const sx = x => xmax > xmin ? L + (x - xmin) / (xmax - xmin) * (W - L - R) : (L + W - R) / 2;
  const sy = y => T + (1 - y / ymax) * (H - T - B);

  // Axes, a middle grid line, and the scale's ends.
  parts.push(svgEl("line", {class: "grid", x1: L, x2: W - R, y1: sy(ymax / 2), y2: sy(ymax / 2)}));
  parts.push(svgEl("line", {class: "axis", x1: L, x2: W - R, y1: H - B, y2: H - B}));
  parts.push(svgEl("line", {class: "axis", x1: L, x2: L, y1: T, y2: H - B}));
  parts.push(svgEl("text", {x: L - 4, y: sy(ymax) + 4, "text-anchor": "end"}, opts.fmt(ymax)));
  parts.push(svgEl("text", {x: L - 4, y: sy(ymax / 2) + 4, "text-anchor": "end"}, opts.fmt(ymax / 2)));
  parts.push(svgEl("text", {x: L - 4, y: H - B + 4, "text-anchor": "end"}, opts.fmt(0)));

  let drawn = 0, total = 0;
  for (const s of series) {
    // Split at gaps; one polyline per run, a dot for a run of one point.
    let runs = [], run = [];
    for (const [x, y] of s.points) {
      if (y === null) {
        if (run.length) runs.push(run);
        run = [];
      } else {
        run.push([x, y]);
      }
    }
    if (run.length) runs.push(run);
    let n = 0;
    for (const r of runs) {
      n += r.length;
      if (r.length === 1) {
        parts.push(svgEl("circle", {cx: sx(r[0][0]).toFixed(1), cy: sy(r[0][1]).toFixed(1), r: 2.5,
                                    fill: s.color, "data-series": s.name, "data-points": 1}));
      } else {
        const pts = r.map(([x, y]) => sx(x).toFixed(1) + "," + sy(y).toFixed(1)).join(" ");
        parts.push(svgEl("polyline", {points: pts, stroke: s.color, "data-series": s.name,
                                      "data-points": r.length, "data-last": r[r.length - 1][1]}));
      }
    }
    if (n > 0) drawn += 1;
    total += n;
  }
  if (xmin <= xmax) {
    parts.push(svgEl("text", {x: L, y: H - 8}, "block " + xmin));
    parts.push(svgEl("text", {x: W - R, y: H - 8, "text-anchor": "end"}, "block " + xmax));
  }
  if (total === 0) {
    parts.push(svgEl("text", {class: "empty", x: W / 2, y: H / 2, "text-anchor": "middle"}, opts.empty || "no data yet"));
  }
  svg.replaceChildren(...parts);
  svg.setAttribute("data-series", drawn);
  svg.setAttribute("data-points", total);

  const legend = document.getElementById(id.replace("chart-", "legend-"));
  legend.replaceChildren(...series.map(s => {
    const item = el("span", {"data-series": s.name});
    const sw = el("span", {class: "swatch"});
    sw.style.background = s.color;  // CSSOM, allowed by the page's Content-Security-Policy
    item.append(sw, document.createTextNode(s.name));
    return item;
  }));
}

// One series per uid of `field` ("incentive", "emission") over the points.
function perUid(points, field, scale) {
  const byUid = new Map();
  for (const p of points) {
    const uids = p.uids || [], vals = p[field] || [];
    for (let i = 0; i < uids.length && i < vals.length; ++i) {
      if (!byUid.has(uids[i])) byUid.set(uids[i], []);
      byUid.get(uids[i]).push([p.block, num(vals[i]) * scale]);
    }
  }
  return [...byUid.keys()].sort((a, b) => a - b).map(uid =>
    ({name: "uid " + uid, color: colorOf(uid), points: byUid.get(uid)}));
}

function renderHistory(h) {
  const points = h.points || [];
  document.getElementById("status").setAttribute("data-points", points.length);
  drawChart("chart-incentive", perUid(points, "incentive", 1), {yMax: 1, fmt: y => y.toFixed(2)});
  drawChart("chart-emission", perUid(points, "emission", 1 / UNITS_PER_TOKEN), {fmt: y => fmt(y, 3)});

  const trust = new Map();
  for (const p of points) {
    for (const v of p.validators || []) {
      if (!trust.has(v.uid)) trust.set(v.uid, []);
      trust.get(v.uid).push([p.block, num(v.validator_trust)]);
    }
  }
  drawChart("chart-agreement",
            [...trust.keys()].sort((a, b) => a - b).map(uid =>
              ({name: "uid " + uid, color: colorOf(uid), points: trust.get(uid)})),
            {yMax: 1, fmt: y => y.toFixed(2), empty: "no validator with a permit yet"});

  const lat = k => points.map(p => [p.block, p.latency && p.latency.count > 0 ? num(p.latency[k]) : null]);
  drawChart("chart-latency",
            [{name: "p50", color: COLORS[0], points: lat("p50_ms")},
             {name: "p99", color: COLORS[1], points: lat("p99_ms")}],
            {fmt: y => fmt(y, 0), empty: "no completions answered yet"});
}

async function getJson(path) {
  const r = await fetch(path, {cache: "no-store"});
  if (!r.ok) throw new Error(path + ": HTTP " + r.status);
  return r.json();
}

async function refresh() {
  const error = document.getElementById("error");
  try {
    const [mg, h] = await Promise.all([getJson("/metagraph"), getJson("/history")]);
    renderTable(mg);
    renderHistory(h);
    updates += 1;
    document.body.setAttribute("data-updates", updates);
    document.body.setAttribute("data-ready", "1");
    document.getElementById("status").textContent =
        "block " + num(mg.block) + " \u00b7 epoch " + num(mg.epoch) + " \u00b7 step " + num(mg.step) +
        " \u00b7 " + (h.points || []).length + " points \u00b7 updated " + new Date().toLocaleTimeString();
    error.hidden = true;
  } catch (e) {
    error.textContent = "cannot reach the gateway: " + e.message;
    error.hidden = false;
  }
  setTimeout(refresh, POLL_MS);
}

refresh();
