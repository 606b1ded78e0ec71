/**
 * Ranking inside a scoring graph, so that only k item indices per user (and the
 * few scores AUC needs) leave the device: the graph-side twin of top-k.ts.
 *
 * Appended after a model's score nodes S (rows × items): items the context row
 * holds (CONTEXT > 0) are masked to MASKED = −1e37, not −∞ or −FLT_MAX: with
 * many entries at either of those the WebGPU EP's TopK returns duplicate
 * indices (measured on lavapipe, ORT 1.30). Scores above −1e37 (any real
 * model's) still rank above masked items, which tie among themselves by index
 * as the host's −∞ do. Ties follow the item order ORDER (the
 * tie order's items by rank; identity for "lower index first"), then TopK.
 * ONNX TopK orders equal values by the lower index, so ranking the columns in
 * ORDER's order breaks ties by the lower rank, exactly as `topK` does.
 *
 * Inputs it adds: ORDER (int32 [items]), PAIRS (int32 [p]: user·items + item
 * offsets into S for AUC, users relative to the block). Outputs: TOP (int32
 * [rows, k] best first), PAIR (float32 [p]: raw scores, before masking),
 * NAN (int32 [rows]: the first item whose score is NaN, −1 if none). All
 * indices are int32 so the host reads them as they come (BigInt conversion of
 * ML-1M's 400k pairs and 604k top items took 2.1 s of one protocol in a profile here).
 * PAIRS indexes the flat block, so a block holds fewer than 2^31 scores.
 */
import type { Backend, TensorArg } from "../onnx/backend.ts";
import type { RankedBlock, RankRequest } from "./ranked-block.ts";
import { attr, GraphBuilder, sharedGraphSpec, type Value } from "../onnx/builder.ts";

/** The masked items' score (see above). */
export const MASKED_SCORE = -1e37;

export function appendRanking(g: GraphBuilder, scores: Value, context: Value, k: number): void {
  if (!Number.isInteger(k) || k < 1) throw new Error(`appendRanking: k must be a positive integer, got ${k}`);
  const order = g.input("ORDER", "int32", ["items"]);
  const pairs = g.input("PAIRS", "int32", ["p"]);
  const flat = g.op("Reshape", [scores, g.constInt64([-1])]);
  g.output(g.op("Gather", [flat, pairs], { axis: attr.int(0) }), "PAIR", "float32", ["p"]);
  // First NaN per row: ArgMax of the NaN indicator, −1 where the row has none.
  // NaN ≠ NaN: IsNaN has no WebGPU kernel in ORT 1.30 (the scores would cross to the CPU).
  const isNan = g.op("Cast", [g.op("Not", [g.op("Equal", [scores, scores])])], { to: attr.int(1) });
  const anyNan = g.op("ReduceMax", [isNan], { axes: attr.ints([1]), keepdims: attr.int(0) });
  const firstNan = g.op("Cast", [g.op("ArgMax", [isNan], { axis: attr.int(1), keepdims: attr.int(0) })], { to: attr.int(6) });
  const none = g.constInt32(-1);
  g.output(g.op("Where", [g.op("Greater", [anyNan, g.constFloat(0)]), firstNan, none]), "NAN", "int32", ["rows"]);
  const masked = g.op("Where", [g.op("Greater", [context, g.constFloat(0)]), g.constFloat(MASKED_SCORE), scores]);
  const permuted = g.op("Gather", [masked, order], { axis: attr.int(1) });
  const [, idx] = g.opMulti("TopK", [permuted, g.constInt64([k])], { axis: attr.int(1), largest: attr.int(1), sorted: attr.int(1) }, { outputCount: 2 });
  g.output(g.op("Gather", [order, idx], { axis: attr.int(0) }), "TOP", "int32", ["rows", k]);
}

/** The ORDER and PAIRS inputs appendRanking adds, for a ranking request. */
export function rankingFeeds(r: RankRequest): Record<"ORDER" | "PAIRS", TensorArg> {
  const items = r.context.numItems;
  let order = r.tieOrder;
  if (order === null) {
    order = new Int32Array(items);
    for (let i = 0; i < items; i++) order[i] = i;
  }
  if (order.length !== items) throw new Error(`rankingFeeds: tie order has ${order.length} items, context ${items}`);
  return { ORDER: { data: order, dims: [items] }, PAIRS: { data: r.pairs, dims: [r.pairs.length] } };
}

/** The outputs appendRanking adds (TOP, PAIR, NAN), as the evaluator's RankedBlock. */
export function rankedBlock(out: Record<string, TensorArg | unknown>): RankedBlock {
  const host = (name: string): TensorArg => out[name] as TensorArg;
  return { top: host("TOP").data as Int32Array, pairScores: host("PAIR").data as Float32Array, firstNaN: host("NAN").data as Int32Array };
}

/** TOP (int32 [rows, k]) = the k best items of each row of S, ties to the lower position in ORDER (int32, when given). */
function topKRowsGraph(k: number, ordered: boolean): Uint8Array {
  const g = new GraphBuilder(`top_k_rows_k${k}${ordered ? "_ordered" : ""}_i32`);
  const s = g.input("S", "float32", ["rows", "items"]);
  const order = ordered ? g.input("ORDER", "int32", ["items"]) : null;
  const cols = order ? g.op("Gather", [s, order], { axis: attr.int(1) }) : s;
  const [, idx] = g.opMulti("TopK", [cols, g.constInt64([k])], { axis: attr.int(1), largest: attr.int(1), sorted: attr.int(1) }, { outputCount: 2 });
  g.output(order ? g.op("Gather", [order, idx], { axis: attr.int(0) }) : g.op("Cast", [idx], { to: attr.int(6) }), "TOP", "int32", ["rows", k]);
  return g.toBytes();
}

/**
 * topK (top-k.ts) for every row of a host score block at once, as one ORT
 * TopK run: the same items in the same order (ONNX TopK puts equal values at
 * the lower index first), in native code on all of the backend's threads.
 * `tieOrder` is the tie order's items by rank (null: lower index first).
 */
export async function topKRows(
  backend: Backend, scores: Float32Array, rows: number, items: number, k: number, tieOrder: Int32Array | null, out: Int32Array,
): Promise<Int32Array> {
  if (scores.length !== rows * items) throw new Error(`topKRows: ${scores.length} scores for ${rows} × ${items}`);
  const kk = Math.min(k, items);
  if (out.length < rows * kk) throw new Error(`topKRows: out holds ${out.length} values, need ${rows} × ${kk}`);
  const session = await backend.session(sharedGraphSpec(`top_k_rows_k${kk}${tieOrder ? "_ordered" : ""}_i32`, () => topKRowsGraph(kk, tieOrder !== null)));
  const feeds: Record<string, TensorArg> = { S: { data: scores, dims: [rows, items] } };
  if (tieOrder) feeds.ORDER = { data: tieOrder, dims: [items] };
  const { TOP } = await backend.run(session, feeds);
  out.set((TOP.data as Int32Array).subarray(0, rows * kk));
  return out;
}
