import { csvField } from "./reports.js";
import { escapeHtml } from "../shared/html.js";
import type { Distribution } from "../domain/benchmark.js";
import { figureInWords, type BenchmarkComparison, type ComparisonRow } from "./benchmark.js";

/** The benchmark comparison as CSV (one row a figure) and as one printable, self-contained page. */

export const BENCHMARK_CSV_HEADER = [
  "key",
  "label",
  "own",
  "authorities",
  "lower_quartile",
  "median",
  "upper_quartile",
  "band",
  "suppressed",
] as const;

export function benchmarkCsv(comparison: BenchmarkComparison): string {
  const lines = [BENCHMARK_CSV_HEADER.join(",")];
  for (const row of comparison.rows) {
    const d = row.distribution;
    const shown = d !== null && !d.suppressed ? d : undefined;
    lines.push(
      [
        row.key,
        row.label,
        row.own === null ? "" : Number(row.own.toFixed(4)),
        shown?.authorities ?? "",
        shown?.lowerQuartile ?? "",
        shown?.median ?? "",
        shown?.upperQuartile ?? "",
        row.band ?? "",
        d === null ? "" : d.suppressed ? "yes" : "no",
      ]
        .map((value) => csvField(value))
        .join(","),
    );
  }
  return `${lines.join("\n")}\n`;
}

/** The scale a row is drawn on: 0 to the largest value shown, at least the kind's natural top. */
function scaleTop(row: ComparisonRow, d: Extract<Distribution, { suppressed: false }> | undefined): number {
  const natural = row.kind === "share" ? 1 : row.kind === "working_days" ? 20 : 5;
  return Math.max(natural, row.own ?? 0, d?.upperQuartile ?? 0);
}

/** The middle half as a bar, the median as a line, the authority's own figure as a dot. */
function rowChart(row: ComparisonRow): string {
  const d = row.distribution !== null && !row.distribution.suppressed ? row.distribution : undefined;
  if (d === undefined && row.own === null) return "";
  const width = 240;
  const top = scaleTop(row, d);
  const x = (value: number): number => Math.round((value / top) * (width - 12)) + 6;
  const parts = [`<line x1="6" y1="12" x2="${width - 6}" y2="12" stroke="#b1b4b6"/>`];
  if (d !== undefined) {
    parts.push(
      `<rect x="${x(d.lowerQuartile)}" y="4" width="${Math.max(2, x(d.upperQuartile) - x(d.lowerQuartile))}" height="16" fill="#cfe3f5"/>`,
      `<line x1="${x(d.median)}" y1="2" x2="${x(d.median)}" y2="22" stroke="#1d70b8" stroke-width="2"/>`,
    );
  }
  if (row.own !== null) parts.push(`<circle cx="${x(row.own)}" cy="12" r="5" fill="#0b0c0c"/>`);
  return `<svg role="img" aria-label="${escapeHtml(row.text)}" width="${width}" height="24" viewBox="0 0 ${width} 24">${parts.join("")}</svg>`;
}

function cell(value: number | null | undefined, row: ComparisonRow): string {
  return value === null || value === undefined ? "" : escapeHtml(figureInWords(value, row.kind));
}

export function benchmarkHtml(comparison: BenchmarkComparison): string {
  const title = `Benchmark across authorities, ${comparison.quarter}`;
  const body = comparison.rows
    .map((row) => {
      const d = row.distribution;
      const shown = d !== null && !d.suppressed ? d : undefined;
      const others =
        d === null ? "" : d.suppressed ? `<td colspan="3">Not shown: ${escapeHtml(d.reason)}</td>` : "";
      const quartiles =
        shown === undefined
          ? others === ""
            ? "<td></td><td></td><td></td>"
            : others
          : `<td>${cell(shown.lowerQuartile, row)}</td><td>${cell(shown.median, row)}</td><td>${cell(shown.upperQuartile, row)}</td>`;
      return (
        `<tr><th scope="row">${escapeHtml(row.label)}</th><td>${cell(row.own, row)}</td>${quartiles}` +
        `<td>${row.band === null ? "" : escapeHtml(row.band.replaceAll("_", " "))}</td><td>${rowChart(row)}</td></tr>`
      );
    })
    .join("\n");
  const published =
    comparison.published === null
      ? ""
      : `<p>Other authorities: ${comparison.published.authorities} opted in; figures as at ${escapeHtml(comparison.published.asAt)}.</p>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1rem; color: #0b0c0c; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #b1b4b6; padding: .4rem; text-align: left; vertical-align: middle; }
thead th { background: #f3f2f1; }
@media (max-width: 40rem) { td:last-child, th:last-child { display: none; } }
@media print { body { margin: 0; } svg { print-color-adjust: exact; } }
</style>
</head>
<body>
<main>
<h1>${escapeHtml(title)}</h1>
<p>${escapeHtml(comparison.period.from)} to ${escapeHtml(comparison.period.to)}; this authority's figures as at ${escapeHtml(comparison.asAt)}.</p>
${published}
${comparison.note === null ? "" : `<p><strong>${escapeHtml(comparison.note)}</strong></p>`}
<p>Other authorities are shown only as the lower quartile, median and upper quartile of a figure, each from at least 5 authorities and rounded; no authority is named or ranked. In the chart the bar is the middle half, the line the median, the dot this authority.</p>
<table>
<caption>Figures for ${escapeHtml(comparison.quarter)}</caption>
<thead><tr><th scope="col">Figure</th><th scope="col">This authority</th><th scope="col">Lower quartile</th><th scope="col">Median</th><th scope="col">Upper quartile</th><th scope="col">Where this authority sits</th><th scope="col">Chart</th></tr></thead>
<tbody>
${body}
</tbody>
</table>
</main>
</body>
</html>
`;
}
