/**
 * Line charts for the figure scripts: a Vega-Lite spec built from plain rows,
 * rendered to SVG headlessly by Vega and to PNG by resvg.
 *
 * Rows with `kind: "reference"` are drawn as dashed horizontal rules (e.g. the
 * model trained on the full data); all other rows are lines with points, one
 * line per `series` value (and `dash` value). `column` and `row` facet the
 * chart into panels with independent y scales.
 */
import { Resvg } from "@resvg/resvg-js";
import * as vega from "vega";
import * as vl from "vega-lite";
import type { TopLevelSpec } from "vega-lite";

export type ChartValue = number | string | boolean | null;
export type ChartRow = Record<string, ChartValue>;

export interface Channel {
  field: string;
  title: string;
}

export interface LineChartOptions {
  title: string;
  /** A second title line, e.g. what the dashed rules mean. */
  subtitle?: string;
  rows: ChartRow[];
  x: Channel & { log?: boolean };
  y: Channel & { zero?: boolean };
  /** Colour: one line per value. */
  series: Channel;
  /** Stroke dash: a second grouping (e.g. model), optional. */
  dash?: Channel;
  /** Panels side by side / stacked, optional. */
  column?: Channel;
  row?: Channel;
  /** Order of the series values in the legend (default: first appearance). */
  seriesOrder?: string[];
  /** Size of one panel in pixels (default 260 × 200). */
  width?: number;
  height?: number;
}

/** Field that marks a row as a horizontal reference rule. */
export const KIND_FIELD = "kind";

function checkFields(o: LineChartOptions): void {
  if (o.rows.length === 0) throw new Error(`chart '${o.title}': no rows to plot`);
  const channels = [o.x, o.y, o.series, o.dash, o.column, o.row].filter((c): c is Channel => c !== undefined);
  for (const c of channels) {
    if (!o.rows.some((r) => c.field in r)) throw new Error(`chart '${o.title}': no row has the field '${c.field}'`);
  }
  if (o.x.log) {
    const bad = o.rows.find((r) => r[KIND_FIELD] !== "reference" && !(typeof r[o.x.field] === "number" && (r[o.x.field] as number) > 0));
    if (bad) throw new Error(`chart '${o.title}': log-scale x needs positive numbers, got ${JSON.stringify(bad[o.x.field])}`);
  }
}

/**
 * A log x scale padded around the data, ticked and labelled at the data's own
 * x values (e.g. the budgets), as plain integers: Vega's default log ticks label only some
 * powers of ten and leave the last point unlabelled when the domain ends on it.
 */
function logAxis(o: LineChartOptions): { scale: { type: "log"; domain?: [number, number] }; axis?: { values: number[]; format: string; labelOverlap: boolean; labelFontSize: number } } {
  const xs = [...new Set(o.rows.filter((r) => r[KIND_FIELD] !== "reference").map((r) => r[o.x.field] as number))].sort((a, b) => a - b);
  if (xs.length === 0) return { scale: { type: "log" } }; // only reference rules: no x values to tick
  // Labels closer than a factor 1.5 collide (e.g. a budget of 5000 beside 6040 users): keep the first.
  const values: number[] = [];
  for (const v of xs) if (values.length === 0 || v >= values[values.length - 1] * 1.5) values.push(v);
  return { scale: { type: "log", domain: [xs[0] / 1.3, xs[xs.length - 1] * 1.3] }, axis: { values, format: "d", labelOverlap: false, labelFontSize: 9 } };
}

/** The Vega-Lite spec of a (faceted) line chart. */
export function lineChartSpec(o: LineChartOptions): TopLevelSpec {
  checkFields(o);
  const order = o.seriesOrder ?? [...new Set(o.rows.filter((r) => r[KIND_FIELD] !== "reference").map((r) => String(r[o.series.field])))];
  const x = { field: o.x.field, type: "quantitative" as const, title: o.x.title, ...(o.x.log ? logAxis(o) : { scale: { zero: false } }) };
  const y = { field: o.y.field, type: "quantitative" as const, title: o.y.title, scale: { zero: o.y.zero ?? false } };
  const color = { field: o.series.field, type: "nominal" as const, title: o.series.title, scale: { domain: order } };
  const lines = {
    transform: [{ filter: `datum.${KIND_FIELD} !== 'reference'` }],
    mark: { type: "line" as const, point: true, strokeWidth: 1.8 },
    encoding: {
      x,
      y,
      color,
      ...(o.dash
        ? {
            strokeDash: {
              field: o.dash.field,
              type: "nominal" as const,
              title: o.dash.title,
              // Line segments in the legend, so the dash pattern is visible.
              legend: {
                symbolType: "stroke",
                symbolSize: 400,
                encode: { symbols: { update: { stroke: { value: "#333" }, strokeWidth: { value: 2 }, fill: { value: "transparent" } } } },
              },
            },
          }
        : {}),
      tooltip: [o.series.field, o.x.field, o.y.field].map((field) => ({ field })),
    },
  };
  const hasReference = o.rows.some((r) => r[KIND_FIELD] === "reference");
  const rules = {
    transform: [{ filter: `datum.${KIND_FIELD} === 'reference'` }],
    mark: { type: "rule" as const, strokeDash: [6, 4], color: "#555" },
    encoding: { y: { field: o.y.field, type: "quantitative" as const } },
  };
  const layer = { layer: hasReference ? [lines, rules] : [lines], width: o.width ?? 260, height: o.height ?? 200 };
  const base = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: o.title, anchor: "middle" as const, ...(o.subtitle ? { subtitle: o.subtitle } : {}) },
    data: { values: o.rows },
    config: { font: "sans-serif", legend: { orient: "right" as const } },
  };
  if (!o.column && !o.row) return { ...base, ...layer } as TopLevelSpec;
  const facet: Record<string, { field: string; type: "nominal"; title: string; sort: null }> = {};
  if (o.column) facet.column = { field: o.column.field, type: "nominal", title: o.column.title, sort: null };
  if (o.row) facet.row = { field: o.row.field, type: "nominal", title: o.row.title, sort: null };
  return { ...base, facet, spec: layer, resolve: { scale: { y: "independent" } } } as TopLevelSpec;
}

/** Renders a Vega-Lite spec to an SVG document (no browser, no canvas). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Rasterises an SVG to PNG bytes on a white background (scale 2 for crisp text). */
export function svgToPng(svg: string, scale = 2): Uint8Array {
  const png = new Resvg(svg, { font: { loadSystemFonts: true }, background: "white", fitTo: { mode: "zoom", value: scale } }).render().asPng();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}
