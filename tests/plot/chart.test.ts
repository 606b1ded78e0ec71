/**
 * lib/plot/chart.ts: the Vega-Lite spec (log x, facets, reference rules,
 * legend order), the SVG it renders (title, axis titles, legend labels) and
 * the PNG raster; errors name the chart and the problem.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { type ChartRow, lineChartSpec, renderSvg, svgToPng } from "../../lib/plot/chart.ts";

const rows: ChartRow[] = [];
for (const sampler of ["User RNS", "Head user"]) {
  for (const users of [10, 100, 1000]) {
    for (const metric of ["HR@10", "PSP@10"]) rows.push({ sampler, users, metric, value: Math.log10(users) * (sampler === "User RNS" ? 3 : 2), kind: "sample" });
  }
}
rows.push({ sampler: "Full data", metric: "HR@10", value: 12, kind: "reference" }, { sampler: "Full data", metric: "PSP@10", value: 9, kind: "reference" });

const options = {
  title: "Sampling test chart",
  subtitle: "dashed: all users",
  rows,
  x: { field: "users", title: "Training users (log scale)", log: true },
  y: { field: "value", title: "Test metric" },
  series: { field: "sampler", title: "Sampler" },
  column: { field: "metric", title: "" },
};

test("spec: faceted layers with a log x scale, independent y, reference rules and the legend order", () => {
  const spec = lineChartSpec({ ...options, seriesOrder: ["Head user", "User RNS"] }) as unknown as {
    facet: { column: { field: string } };
    spec: { layer: { mark: { type: string }; encoding: { x?: { scale: { type?: string; domain?: number[] }; axis?: { values: number[] } }; color?: { scale: { domain: string[] } } } }[] };
    resolve: { scale: { y: string } };
    data: { values: ChartRow[] };
  };
  assert.equal(spec.facet.column.field, "metric");
  assert.equal(spec.resolve.scale.y, "independent");
  const [lines, rules] = spec.spec.layer;
  assert.equal(lines.mark.type, "line");
  assert.equal(lines.encoding.x?.scale.type, "log");
  // Ticks at the data's x values, the domain padded so the last point is not on the edge.
  assert.deepEqual(lines.encoding.x?.axis?.values, [10, 100, 1000]);
  assert.deepEqual(lines.encoding.x?.scale.domain, [10 / 1.3, 1000 * 1.3]);
  assert.deepEqual(lines.encoding.color?.scale.domain, ["Head user", "User RNS"]);
  assert.equal(rules.mark.type, "rule");
  assert.equal(spec.data.values.length, rows.length);
  // Without facets: a plain layered chart; without references: one layer.
  const plain = lineChartSpec({ ...options, column: undefined, rows: rows.filter((r) => r.kind !== "reference") }) as unknown as { layer: unknown[]; facet?: unknown };
  assert.equal(plain.facet, undefined);
  assert.equal(plain.layer.length, 1);
});

test("renders an SVG with title, axis titles and legend labels, and a PNG", async () => {
  const svg = await renderSvg(lineChartSpec(options));
  assert.match(svg, /^<svg/);
  for (const text of ["Sampling test chart", "dashed: all users", "Training users (log scale)", "Test metric", "Sampler", "User RNS", "Head user", "HR@10", "PSP@10"]) {
    assert.ok(svg.includes(text), `SVG lacks '${text}'`);
  }
  // Every x value is a labelled tick, written as a plain integer.
  for (const label of [">10<", ">100<", ">1000<"]) assert.ok(svg.includes(label), `SVG lacks the tick label ${label}`);
  // Two panels × two series of three points each: 12 point symbols at least.
  assert.ok((svg.match(/<path/g) ?? []).length >= 12);
  const png = svgToPng(svg);
  assert.deepEqual(Array.from(png.subarray(0, 8)), [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const view = new DataView(png.buffer, png.byteOffset);
  assert.ok(view.getUint32(16) > 400 && view.getUint32(20) > 200, "PNG width and height");
});

test("bad input is rejected with the chart's name", () => {
  assert.throws(() => lineChartSpec({ ...options, rows: [] }), /chart 'Sampling test chart': no rows to plot/);
  assert.throws(() => lineChartSpec({ ...options, y: { field: "nope", title: "" } }), /no row has the field 'nope'/);
  assert.throws(() => lineChartSpec({ ...options, rows: [...rows, { sampler: "x", users: 0, metric: "HR@10", value: 1 }] }), /log-scale x needs positive numbers, got 0/);
});
