// The dashboard's charts over time, drawn as plain inline SVG from GET /v1/dashboard/series.
// Gauges (sampled by the gateway) are lines; counts per minute (from the store) are stacked bars.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const CHARTS = [
  ["queue_depth", "Queue depth", "line"],
  ["placed", "Running capsules", "line"],
  ["outcomes", "Job outcomes per minute", "bars"],
  ["invocations", "Cold vs warm calls per minute", "bars"],
  ["usage", "Usage per project (cpu cores)", "line"],
];
const FIXED = {
  Succeeded: "#17803d", Failed: "#c0392b", Cancelled: "#8a94a6", TimedOut: "#d68910", cold: "#3a7bd5", warm: "#2aa198",
};
const PALETTE = ["#3a7bd5", "#2aa198", "#b7791f", "#8e44ad", "#c0392b", "#17803d", "#d35400", "#34495e", "#7f8c8d"];
const W = 340, H = 150, LEFT = 34, RIGHT = 8, TOP = 8, BOTTOM = 20;

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function colour(name, i) { return FIXED[name] || PALETTE[i % PALETTE.length]; }

function clock(t) { return new Date(t * 1000).toTimeString().slice(0, 5); }

// One time axis for every chart: from the oldest sample or the oldest minute with something in it, to now.
function domain(data) {
  let x0 = data.end - 60;
  for (const chart of Object.values(data.charts)) {
    chart.times.forEach((t, i) => {
      if (Object.values(chart.series).some((values) => values[i])) x0 = Math.min(x0, t);
    });
  }
  const sampled = data.charts.queue_depth.times;
  if (sampled.length) x0 = Math.min(x0, sampled[0]);
  return [Math.max(data.start, Math.floor(x0 / 60) * 60), data.end];
}

function drawChart(name, title, kind, chart, [x0, x1]) {
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title, "data-chart": name });
  const x = (t) => LEFT + ((W - LEFT - RIGHT) * (t - x0)) / Math.max(1, x1 - x0);
  const entries = Object.entries(chart.series);
  // a sample is an instant; a minute's value covers [time, time + step_s) and is drawn at its middle
  const idx = chart.times.map((t, i) => i).filter((i) => chart.times[i] + chart.step_s >= x0);
  const at = (i) => x(Math.min(x1, Math.max(x0, chart.times[i] + chart.step_s / 2)));
  const totals = idx.map((i) => entries.reduce((sum, [, v]) => sum + v[i], 0));
  // the highest bar or point reaches the top; a chart of zeros is scaled to 1
  const peak = Math.max(0, ...(kind === "bars" ? totals : entries.flatMap(([, v]) => idx.map((i) => v[i])))) || 1;
  const y = (v) => H - BOTTOM - ((H - TOP - BOTTOM) * v) / peak;
  root.append(svg("line", { x1: LEFT, y1: H - BOTTOM, x2: W - RIGHT, y2: H - BOTTOM, class: "axis" }));
  root.append(svg("line", { x1: LEFT, y1: TOP, x2: LEFT, y2: H - BOTTOM, class: "axis" }));
  const top = Number.isInteger(peak) ? peak : peak.toFixed(2);
  root.append(svg("text", { x: LEFT - 4, y: TOP + 8, "text-anchor": "end" }, top));
  root.append(svg("text", { x: LEFT - 4, y: H - BOTTOM, "text-anchor": "end" }, "0"));
  root.append(svg("text", { x: LEFT, y: H - 5 }, clock(x0)));
  root.append(svg("text", { x: W - RIGHT, y: H - 5, "text-anchor": "end" }, clock(x1)));
  if (kind === "bars") {
    const width = Math.max(2, x(x0 + chart.step_s) - x(x0) - 2);
    for (const i of idx) {
      let base = 0;
      entries.forEach(([label, values], s) => {
        if (!values[i]) return;
        const left = Math.max(LEFT, x(chart.times[i]));
        const rect = svg("rect", {
          class: "col", "data-series": label, fill: colour(label, s),
          x: left + 1, width: Math.min(width, W - RIGHT - left),
          y: y(base + values[i]), height: y(base) - y(base + values[i]),
        });
        rect.append(svg("title", {}, `${label}: ${values[i]} at ${clock(chart.times[i])}`));
        root.append(rect);
        base += values[i];
      });
    }
  } else {
    entries.forEach(([label, values], s) => {
      const points = idx.map((i) => `${at(i).toFixed(1)},${y(values[i]).toFixed(1)}`).join(" ");
      const line = svg("polyline", {
        class: "series", "data-series": label, points, fill: "none", stroke: colour(label, s),
      });
      line.append(svg("title", {}, `${label}: now ${idx.length ? values[idx[idx.length - 1]] : 0}`));
      root.append(line);
    });
  }
  const legend = document.createElement("div");
  legend.className = "legend";
  entries.forEach(([label], s) => {
    const key = document.createElement("span");
    key.style.setProperty("--c", colour(label, s));
    key.textContent = label;
    legend.append(key);
  });
  if (!entries.length) legend.textContent = "nothing yet";
  const box = document.createElement("figure");
  box.className = "chart";
  box.id = `chart-${name}`;
  const caption = document.createElement("figcaption");
  caption.textContent = `${title} `;
  caption.append(Object.assign(document.createElement("small"), { textContent: chart.unit }));
  box.append(caption, root, legend);
  return box;
}

// Fetches through the page's api() (its token and project) and redraws every chart.
async function renderCharts(api) {
  const data = await api("/v1/dashboard/series");
  const span = domain(data);
  document.querySelector("#charts-scope").textContent = data.project ? `project ${data.project}` : "every project";
  const drawn = CHARTS.map(([name, title, kind]) => drawChart(name, title, kind, data.charts[name], span));
  document.querySelector("#charts").replaceChildren(...drawn);
}
