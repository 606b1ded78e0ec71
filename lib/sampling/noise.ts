/**
 * Noise injection for the paper's Figures 3 and 4 (docs/protocol.md §5): for each
 * user, flip (0 ↔ 1) round(level/100 · numItems) distinct items chosen
 * uniformly among ALL items, in the training matrix only. A flipped 1 is
 * removed (whatever its value, e.g. a summed duplicate's 2); a flipped 0
 * becomes 1. Validation and test rows are untouched, so evaluation stays on
 * the clean targets. (A flipped 0 may be one of the user's validation or test
 * items — the paper's noise model does not exclude them.)
 */
import type { Dataset } from "../data/dataset.ts";
import { InteractionMatrix } from "../data/matrix.ts";
import { Rng } from "../random.ts";

export interface NoiseResult {
  train: InteractionMatrix;
  /** Items flipped per user. */
  flipsPerUser: number;
  /** Entries that went 0 → 1 and 1 → 0, over all users. */
  added: number;
  removed: number;
}

/** Items flipped per user at `level` percent of `numItems`. */
export function flipsPerUser(level: number, numItems: number): number {
  if (!(Number.isFinite(level) && level >= 0 && level <= 100)) throw new Error(`noise level must be a percentage in [0, 100], got ${level}`);
  return Math.round((level / 100) * numItems);
}

/** The training matrix with `level` percent of all items flipped per user. */
export function injectNoise(train: InteractionMatrix, level: number, seed: number): NoiseResult {
  const k = flipsPerUser(level, train.numItems);
  const rng = new Rng(seed);
  const ni = train.numItems;
  const indptr = new Int32Array(train.numUsers + 1);
  // Each user gains at most k entries.
  const indices = new Int32Array(train.nnz + train.numUsers * k);
  const values = new Float32Array(indices.length);
  const chosen = new Int32Array(k);
  let q = 0;
  let added = 0;
  let removed = 0;
  for (let u = 0; u < train.numUsers; u++) {
    sampleDistinct(rng, ni, k, chosen);
    chosen.sort();
    // Merge the sorted row with the sorted flips: symmetric difference.
    let a = train.indptr[u];
    const ae = train.indptr[u + 1];
    let b = 0;
    while (a < ae || b < k) {
      const ia = a < ae ? train.indices[a] : ni;
      const ib = b < k ? chosen[b] : ni;
      if (ia === ib) {
        removed++;
        a++;
        b++;
      } else if (ia < ib) {
        indices[q] = ia;
        values[q++] = train.values[a++];
      } else {
        indices[q] = ib;
        values[q++] = 1;
        added++;
        b++;
      }
    }
    indptr[u + 1] = q;
  }
  return {
    train: new InteractionMatrix(train.numUsers, ni, indptr, indices.slice(0, q), values.slice(0, q)),
    flipsPerUser: k,
    added,
    removed,
  };
}

/** The dataset with a noisy training matrix (validation and test as they were). */
export function noisyDataset(ds: Dataset, level: number, seed: number): Dataset {
  if (level === 0) return ds;
  return { ...ds, name: `${ds.name}+noise${level}%`, train: injectNoise(ds.train, level, seed).train };
}

/** k distinct integers in [0, n) uniformly (Floyd's algorithm), written to out. */
function sampleDistinct(rng: Rng, n: number, k: number, out: Int32Array): void {
  const seen = new Set<number>();
  let w = 0;
  for (let j = n - k; j < n; j++) {
    const t = rng.int(j + 1);
    const pick = seen.has(t) ? j : t;
    seen.add(pick);
    out[w++] = pick;
  }
}
