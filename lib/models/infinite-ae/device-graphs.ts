/**
 * ∞-AE's scoring graphs for the device engine: the duals stay on the device
 * as one [λ, n, items] tensor, and a run picks its λ by index (SEL).
 *
 * - "fitted": the context is the training matrix itself with every row a
 *   support row, so K_SS·α = X − c·α (no Gram): inputs X [n, items] and A on
 *   the device, SEL, C (the shift), START/END (the row block).
 * - "gram": any context rows CTX [rows, items] (from the host):
 *   K(CTX, X_S)·α with X_S and A on the device.
 *
 * Each comes as a scoring graph (output S to the host) and a ranking graph
 * (lib/ranking/top-k-graph.ts appended: only top-k indices, AUC pair scores
 * and NaN flags come back).
 */
import { GraphBuilder, type GraphSpec, sharedGraphSpec, type Value } from "../../onnx/builder.ts";
import { appendNtkGram } from "../../ntk/gram-graph.ts";
import { appendRanking } from "../../ranking/top-k-graph.ts";

export type ScoreSource = "fitted" | "gram";

function scoreNodes(g: GraphBuilder, source: ScoreSource, depth: number): { scores: Value; context: Value } {
  const a = g.input("A", "float32", ["L", "n", "items"]);
  const sel = g.input("SEL", "int64", []);
  const alpha = g.op("Gather", [a, sel], {});
  if (source === "fitted") {
    const x = g.input("X", "float32", ["n", "items"]);
    const c = g.input("C", "float32", []);
    const start = g.input("START", "int64", [1]);
    const end = g.input("END", "int64", [1]);
    const axis = g.constInt64([0]);
    const rows = g.op("Slice", [x, start, end, axis]);
    const alphaRows = g.op("Slice", [alpha, start, end, axis]);
    return { scores: g.op("Sub", [rows, g.op("Mul", [c, alphaRows])]), context: rows };
  }
  const ctx = g.input("CTX", "float32", ["rows", "items"]);
  const xs = g.input("XS", "float32", ["n", "items"]);
  const k = appendNtkGram(g, ctx, xs, null, depth, "K_ctx");
  return { scores: g.op("MatMul", [k, alpha]), context: ctx };
}

function scoreGraph(source: ScoreSource, depth: number): Uint8Array {
  const g = new GraphBuilder(`inf_ae_scores_${source}_d${depth}`);
  const { scores } = scoreNodes(g, source, depth);
  g.output(scores, "S", "float32", ["rows", "items"]);
  return g.toBytes();
}

function rankGraph(source: ScoreSource, depth: number, k: number): Uint8Array {
  const g = new GraphBuilder(`inf_ae_rank_${source}_d${depth}_k${k}`);
  const { scores, context } = scoreNodes(g, source, depth);
  appendRanking(g, scores, context, k);
  return g.toBytes();
}


/** α for one λ (SEL) of the [λ, n, items] duals, to the host: an artifact downloads only that slice. */
export function selectDualsSpec(): GraphSpec {
  return sharedGraphSpec("inf_ae_select_duals", () => {
    const g = new GraphBuilder("inf_ae_select_duals");
    const a = g.input("A", "float32", ["L", "n", "items"]);
    const sel = g.input("SEL", "int64", []);
    g.output(g.op("Gather", [a, sel], {}), "Y", "float32", ["n", "items"]);
    return g.toBytes();
  });
}

/** Scores of a row block, to the host. */
export function scoreGraphSpec(source: ScoreSource, depth: number): GraphSpec {
  return sharedGraphSpec(`inf_ae_scores_${source}_d${depth}`, () => scoreGraph(source, depth));
}

/** Top-k of a row block (context items masked), AUC pair scores and NaN flags. */
export function rankGraphSpec(source: ScoreSource, depth: number, k: number): GraphSpec {
  return sharedGraphSpec(`inf_ae_rank_${source}_d${depth}_k${k}`, () => rankGraph(source, depth, k));
}
