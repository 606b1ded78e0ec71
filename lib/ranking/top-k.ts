/**
 * Top-k selection with an explicit tie rule: below both the models (which
 * recommend) and the evaluation (which ranks for the metrics).
 */
import { Rng } from "../random.ts";

/**
 * Indices of the k largest scores, best first. Equal scores are ordered by
 * the lower index, or — with `ties` — by the lower rank of a tie order, e.g.
 * a seeded random one (`randomTieOrder`). Partial
 * selection with a size-k min-heap: O(n log k), and most items cost one
 * comparison against the heap's root.
 */
export function topK(scores: ArrayLike<number>, k: number, out?: Int32Array, ties?: TieOrder): Int32Array {
  const n = scores.length;
  const kk = Math.min(k, n);
  const heap = out && out.length >= kk ? out.subarray(0, kk) : new Int32Array(kk);
  if (kk === 0) return heap;
  if (ties && (ties.rank.length !== n || ties.order.length !== n)) throw new Error(`topK: tie order holds ${ties.rank.length} entries for ${n} scores`);
  const rank = ties ? ties.rank : null;
  const order = ties ? ties.order : null;
  // "a is worse than b": lower score, or an equal score that loses the tie.
  const worse = rank
    ? (a: number, b: number) => scores[a] < scores[b] || (scores[a] === scores[b] && rank[a] > rank[b])
    : (a: number, b: number) => scores[a] < scores[b] || (scores[a] === scores[b] && a > b);
  const siftDown = (size: number) => {
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= size) return;
      const r = l + 1;
      const c = r < size && worse(heap[r], heap[l]) ? r : l;
      if (!worse(heap[c], heap[i])) return;
      const t = heap[i];
      heap[i] = heap[c];
      heap[c] = t;
      i = c;
    }
  };
  for (let j = 0; j < kk; j++) {
    const item = order ? order[j] : j;
    let i = j;
    heap[i] = item;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!worse(heap[i], heap[p])) break;
      const t = heap[i];
      heap[i] = heap[p];
      heap[p] = t;
      i = p;
    }
  }
  // Items are visited in tie order, so a later one loses every tie with the
  // heap: it enters only with a strictly higher score than the root's.
  let rootScore = scores[heap[0]];
  for (let j = kk; j < n; j++) {
    const item = order ? order[j] : j;
    const s = scores[item];
    if (s > rootScore) {
      heap[0] = item;
      siftDown(kk);
      rootScore = scores[heap[0]];
    }
  }
  // Pop worst-first into the back: the result is best-first.
  for (let end = kk - 1; end > 0; end--) {
    const t = heap[0];
    heap[0] = heap[end];
    heap[end] = t;
    siftDown(end);
  }
  return heap;
}

/** How `topK` orders equal scores: rank[i] is where item i stands, order[r] the item at rank r. */
export interface TieOrder {
  rank: Int32Array;
  order: Int32Array;
}

/** A tie order from item ranks (a permutation of 0…n−1). */
export function tieOrderFromRanks(rank: Int32Array): TieOrder {
  const order = new Int32Array(rank.length).fill(-1);
  for (let i = 0; i < rank.length; i++) {
    const r = rank[i];
    if (!(r >= 0 && r < rank.length) || order[r] !== -1) throw new Error("tieOrderFromRanks: ranks are not a permutation");
    order[r] = i;
  }
  return { rank, order };
}

/**
 * A seeded random tie order over `n` items for `topK`. Equal scores are then
 * ordered the same way for every user, but without favouring low item
 * indices — as an arbitrary (e.g. NumPy's unstable) sort does on average.
 */
export function randomTieOrder(n: number, seed: number): TieOrder {
  const order = new Rng(seed).shuffle(Int32Array.from({ length: n }, (_, i) => i));
  const rank = new Int32Array(n);
  for (let r = 0; r < n; r++) rank[order[r]] = r;
  return { rank, order };
}
