/**
 * The heuristic samplers of docs/protocol.md §5: interaction RNS, user RNS and
 * head-user sampling. All are seeded and see only the training matrix.
 */
import { InteractionMatrix } from "../data/matrix.ts";
import { Rng } from "../random.ts";
import { type Budget, interactionShare, keepByDropOrder, type Sampler, type SampleResult, usersWithInteractions } from "./sampler.ts";

/** Interaction RNS: keeps exactly round(share · nnz) training entries chosen uniformly at random. */
export class InteractionRandomSampler implements Sampler {
  readonly name = "interaction-random";

  async sample(train: InteractionMatrix, budget: Budget, seed: number): Promise<SampleResult> {
    const share = interactionShare(train, budget);
    const keep = Math.max(1, Math.round(share * train.nnz));
    // Partial Fisher–Yates over entry positions: the first `keep` are kept.
    const order = new Int32Array(train.nnz);
    for (let p = 0; p < order.length; p++) order[p] = p;
    const rng = new Rng(seed);
    for (let k = 0; k < keep; k++) {
      const j = k + rng.int(order.length - k);
      const t = order[k];
      order[k] = order[j];
      order[j] = t;
    }
    const keptEntry = new Uint8Array(train.nnz);
    for (let k = 0; k < keep; k++) keptEntry[order[k]] = 1;
    const users: number[] = [];
    const indptr: number[] = [0];
    const indices = new Int32Array(keep);
    const values = new Float32Array(keep);
    let q = 0;
    for (let u = 0; u < train.numUsers; u++) {
      const start = q;
      for (let p = train.indptr[u]; p < train.indptr[u + 1]; p++) {
        if (!keptEntry[p]) continue;
        indices[q] = train.indices[p];
        values[q++] = train.values[p];
      }
      if (q > start) {
        users.push(u);
        indptr.push(q);
      }
    }
    const compact = new InteractionMatrix(users.length, train.numItems, Int32Array.from(indptr), indices, values);
    return { train: compact, keptUsers: Int32Array.from(users), keptInteractions: keep, synthetic: false };
  }
}

/** User RNS: users in a seeded random order; the first ones are dropped. */
export class UserRandomSampler implements Sampler {
  readonly name = "user-random";

  async sample(train: InteractionMatrix, budget: Budget, seed: number): Promise<SampleResult> {
    const order = new Rng(seed).shuffle(usersWithInteractions(train));
    return keepByDropOrder(train, order, budget);
  }
}

/**
 * Head users: drops the users with the fewest training entries first, so the
 * heaviest ("head") users stay; ties in that count are broken by a seeded
 * random order.
 */
export class HeadUserSampler implements Sampler {
  readonly name = "head-user";

  async sample(train: InteractionMatrix, budget: Budget, seed: number): Promise<SampleResult> {
    return keepByDropOrder(train, orderByScore(usersWithInteractions(train), (u) => train.rowNnz(u), seed), budget);
  }
}

/**
 * `users` sorted by increasing score, equal scores in a seeded random order
 * (a shuffle followed by a stable sort).
 */
export function orderByScore(users: Int32Array, score: (user: number) => number, seed: number): Int32Array {
  const shuffled = Array.from(new Rng(seed).shuffle(Int32Array.from(users)));
  const scores = new Map<number, number>();
  for (const u of shuffled) scores.set(u, score(u));
  shuffled.sort((a, b) => (scores.get(a) as number) - (scores.get(b) as number));
  return Int32Array.from(shuffled);
}
