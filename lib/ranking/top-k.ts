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
  // Each heap slot caches its score and tie key, so the heap's comparisons read
  // two small arrays instead of the scores through an index (3× faster on
  // ML-1M's 6040 × 3706 evaluation).
  if (keyScores.length < kk) {
    keyScores = new Float64Array(kk);
    keyTies = new Int32Array(kk);
  }
  const hs = keyScores;
  const ht = keyTies;
  // Slot a is worse than slot b: a lower score, or an equal score that loses the tie.
  const siftDown = (size: number): void => {
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= size) return;
      const r = l + 1;
      const c = r < size && (hs[r] < hs[l] || (hs[r] === hs[l] && ht[r] > ht[l])) ? r : l;
      if (!(hs[c] < hs[i] || (hs[c] === hs[i] && ht[c] > ht[i]))) return;
      const item = heap[i];
      const score = hs[i];
      const tie = ht[i];
      heap[i] = heap[c];
      hs[i] = hs[c];
      ht[i] = ht[c];
      heap[c] = item;
      hs[c] = score;
      ht[c] = tie;
      i = c;
    }
  };
  for (let j = 0; j < kk; j++) {
    const item = order ? order[j] : j;
    let i = j;
    heap[i] = item;
    hs[i] = scores[item];
    ht[i] = rank ? rank[item] : item;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!(hs[i] < hs[p] || (hs[i] === hs[p] && ht[i] > ht[p]))) break;
      const t = heap[i];
      const ts = hs[i];
      const tt = ht[i];
      heap[i] = heap[p];
      hs[i] = hs[p];
      ht[i] = ht[p];
      heap[p] = t;
      hs[p] = ts;
      ht[p] = tt;
      i = p;
    }
  }
  // Items are visited in tie order, so a later one loses every tie with the
  // heap: it enters only with a strictly higher score than the root's.
  if (order) {
    for (let j = kk; j < n; j++) {
      const item = order[j];
      const s = scores[item];
      if (s > hs[0]) {
        heap[0] = item;
        hs[0] = s;
        ht[0] = rank![item];
        siftDown(kk);
      }
    }
  } else {
    for (let j = kk; j < n; j++) {
      const s = scores[j];
      if (s > hs[0]) {
        heap[0] = j;
        hs[0] = s;
        ht[0] = j;
        siftDown(kk);
      }
    }
  }
  // Pop worst-first into the back: the result is best-first.
  for (let end = kk - 1; end > 0; end--) {
    const t = heap[0];
    const ts = hs[0];
    const tt = ht[0];
    heap[0] = heap[end];
    hs[0] = hs[end];
    ht[0] = ht[end];
    heap[end] = t;
    hs[end] = ts;
    ht[end] = tt;
    siftDown(end);
  }
  return heap;
}

/** topK's heap keys, reused across calls (grown to the largest k seen). */
let keyScores = new Float64Array(0);
let keyTies = new Int32Array(0);

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
