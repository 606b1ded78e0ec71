/**
 * SVP-CF user sampling (Sachdeva et al., WSDM'22; docs/protocol.md §5): a small
 * proxy model ranks the users by how hard their interactions are to learn,
 * and the easiest users are dropped first.
 *
 * Proxy: matrix factorisation (no biases) with the BPR loss, trained by plain
 * per-pair SGD (Rendle et al.'s BPR learner) with hand-derived gradients —
 * lib/models/mf.ts trains in Adam mini-batches and exposes no per-pair
 * correctness, which the forgetting count needs.
 *
 * Forgetting events (Toneva et al.): each epoch visits every training entry
 * (u, i) once in a seeded random order with one fresh uniformly drawn negative
 * j ∉ train(u). Before the update, the pair is "correct" when
 * score(u, i) > score(u, j). A forgetting event is a visit that is incorrect
 * after the previous visit of the same entry was correct. A user's score is
 * the mean forgetting count over its entries; users with the lowest means are
 * dropped first (ties in a seeded random order).
 */
import type { InteractionMatrix } from "../data/matrix.ts";
import { Rng } from "../random.ts";
import { orderByScore } from "./heuristic.ts";
import { type Budget, checkBudget, keepByDropOrder, type Sampler, type SampleResult, usersWithInteractions } from "./sampler.ts";

export interface ProxyOptions {
  /** Latent factors (default 10). */
  factors: number;
  /** Passes over the training entries (default 50). */
  epochs: number;
  /** SGD learning rate (default 0.05). */
  lr: number;
  /** L2 weight on the factors touched by each pair (default 1e-4). */
  reg: number;
  /** Standard deviation of the normal initialisation (default 0.1). */
  initStd: number;
}

export const PROXY_DEFAULTS: Readonly<ProxyOptions> = Object.freeze({ factors: 10, epochs: 50, lr: 0.05, reg: 1e-4, initStd: 0.1 });

/**
 * BPR loss of one triple and its gradient, ℓ = −ln σ(x), x = p·(q_i − q_j)
 * (+ reg/2 · (|p|² + |q_i|² + |q_j|²)):
 *   ∂ℓ/∂p = −σ(−x)(q_i − q_j) + reg·p,  ∂ℓ/∂q_i = −σ(−x)p + reg·q_i,
 *   ∂ℓ/∂q_j = σ(−x)p + reg·q_j.
 * Writes the gradients into gp, gi, gj and returns the loss. (A reference for
 * the tests; the training loop inlines the same update.)
 */
export function bprTripleLossGrad(
  p: ArrayLike<number>,
  qi: ArrayLike<number>,
  qj: ArrayLike<number>,
  reg: number,
  gp: Float64Array,
  gi: Float64Array,
  gj: Float64Array,
): number {
  const d = p.length;
  let x = 0;
  let norms = 0;
  for (let f = 0; f < d; f++) {
    x += p[f] * (qi[f] - qj[f]);
    norms += p[f] * p[f] + qi[f] * qi[f] + qj[f] * qj[f];
  }
  const s = sigmoid(-x);
  for (let f = 0; f < d; f++) {
    gp[f] = -s * (qi[f] - qj[f]) + reg * p[f];
    gi[f] = -s * p[f] + reg * qi[f];
    gj[f] = s * p[f] + reg * qj[f];
  }
  return softplus(-x) + 0.5 * reg * norms;
}

function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** ln(1 + eˣ) without overflow. */
function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

/** Standard normal draws (Box–Muller) from the seeded generator. */
function fillNormal(rng: Rng, out: Float64Array, std: number): void {
  for (let k = 0; k < out.length; k += 2) {
    const u1 = 1 - rng.next(); // in (0, 1]
    const u2 = rng.next();
    const r = Math.sqrt(-2 * Math.log(u1)) * std;
    out[k] = r * Math.cos(2 * Math.PI * u2);
    if (k + 1 < out.length) out[k + 1] = r * Math.sin(2 * Math.PI * u2);
  }
}

export interface ForgettingResult {
  /** Forgetting events per stored training entry (CSR order). */
  events: Int32Array;
  /** Mean BPR loss (without the L2 term) per epoch. */
  epochLoss: Float64Array;
  /** Share of correctly ranked visits per epoch. */
  epochAccuracy: Float64Array;
}

/** Trains the proxy and counts each training entry's forgetting events. */
export function forgettingEvents(train: InteractionMatrix, seed: number, options: Partial<ProxyOptions> = {}): ForgettingResult {
  const o: ProxyOptions = { ...PROXY_DEFAULTS, ...options };
  if (!(Number.isInteger(o.factors) && o.factors >= 1)) throw new Error(`SVP-CF proxy: factors must be a positive integer, got ${o.factors}`);
  if (!(Number.isInteger(o.epochs) && o.epochs >= 1)) throw new Error(`SVP-CF proxy: epochs must be a positive integer, got ${o.epochs}`);
  if (!(o.lr > 0 && Number.isFinite(o.lr))) throw new Error(`SVP-CF proxy: lr must be a finite number > 0, got ${o.lr}`);
  if (!(o.reg >= 0 && Number.isFinite(o.reg))) throw new Error(`SVP-CF proxy: reg must be a finite number ≥ 0, got ${o.reg}`);
  const { numUsers, numItems, nnz } = train;
  const d = o.factors;
  const rng = new Rng(seed);
  const userF = new Float64Array(numUsers * d);
  const itemF = new Float64Array(numItems * d);
  fillNormal(rng, userF, o.initStd);
  fillNormal(rng, itemF, o.initStd);
  // Entry position → its user (the CSR row).
  const entryUser = new Int32Array(nnz);
  for (let u = 0; u < numUsers; u++) entryUser.fill(u, train.indptr[u], train.indptr[u + 1]);
  const order = new Int32Array(nnz);
  for (let p = 0; p < nnz; p++) order[p] = p;
  const wasCorrect = new Uint8Array(nnz);
  const events = new Int32Array(nnz);
  const epochLoss = new Float64Array(o.epochs);
  const epochAccuracy = new Float64Array(o.epochs);
  const { lr, reg } = o;
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    rng.shuffle(order);
    let loss = 0;
    let correctCount = 0;
    for (let k = 0; k < nnz; k++) {
      const p = order[k];
      const u = entryUser[p];
      const i = train.indices[p];
      const j = sampleNegative(train, u, rng);
      if (j < 0) continue; // the user has every item: no negative exists
      const pu = u * d;
      const qi = i * d;
      const qj = j * d;
      let x = 0;
      for (let f = 0; f < d; f++) x += userF[pu + f] * (itemF[qi + f] - itemF[qj + f]);
      const correct = x > 0 ? 1 : 0;
      if (wasCorrect[p] && !correct) events[p]++;
      wasCorrect[p] = correct;
      correctCount += correct;
      loss += softplus(-x);
      // SGD step along −∇ (bprTripleLossGrad), all three from the same old values.
      const s = sigmoid(-x);
      for (let f = 0; f < d; f++) {
        const pf = userF[pu + f];
        const qif = itemF[qi + f];
        const qjf = itemF[qj + f];
        userF[pu + f] = pf - lr * (-s * (qif - qjf) + reg * pf);
        itemF[qi + f] = qif - lr * (-s * pf + reg * qif);
        itemF[qj + f] = qjf - lr * (s * pf + reg * qjf);
      }
    }
    epochLoss[epoch] = nnz > 0 ? loss / nnz : 0;
    epochAccuracy[epoch] = nnz > 0 ? correctCount / nnz : 0;
  }
  return { events, epochLoss, epochAccuracy };
}

/** A uniformly random item not in the user's training row, or −1 when there is none. */
function sampleNegative(train: InteractionMatrix, user: number, rng: Rng): number {
  const n = train.rowNnz(user);
  if (n >= train.numItems) return -1;
  if (n * 2 <= train.numItems) {
    for (;;) {
      const j = rng.int(train.numItems);
      if (!train.has(user, j)) return j;
    }
  }
  // Dense row: draw the k-th free item directly.
  let k = rng.int(train.numItems - n);
  const row = train.rowItems(user);
  for (let j = 0, q = 0; j < train.numItems; j++) {
    if (q < row.length && row[q] === j) {
      q++;
      continue;
    }
    if (k-- === 0) return j;
  }
  return -1;
}

/** Mean forgetting count per user (0 for users without entries). */
export function userForgetting(train: InteractionMatrix, events: Int32Array): Float64Array {
  const mean = new Float64Array(train.numUsers);
  for (let u = 0; u < train.numUsers; u++) {
    const a = train.indptr[u];
    const b = train.indptr[u + 1];
    let s = 0;
    for (let p = a; p < b; p++) s += events[p];
    mean[u] = b > a ? s / (b - a) : 0;
  }
  return mean;
}

export class SvpCfUserSampler implements Sampler {
  readonly name = "svp-cf-user";
  /** Per-user mean forgetting counts of the last sample, for reports. */
  lastForgetting: Float64Array | null = null;
  // The proxy depends only on (train, seed), not the budget: a budget sweep trains it once.
  private cached: { train: InteractionMatrix; seed: number; order: Int32Array; accuracy: number } | null = null;

  constructor(readonly proxy: Partial<ProxyOptions> = {}) {}

  async sample(train: InteractionMatrix, budget: Budget, seed: number): Promise<SampleResult> {
    checkBudget(train, budget);
    if (!this.cached || this.cached.train !== train || this.cached.seed !== seed) {
      const { events, epochAccuracy } = forgettingEvents(train, seed, this.proxy);
      const mean = userForgetting(train, events);
      this.lastForgetting = mean;
      const order = orderByScore(usersWithInteractions(train), (u) => mean[u], seed);
      this.cached = { train, seed, order, accuracy: epochAccuracy[epochAccuracy.length - 1] };
    }
    const result = keepByDropOrder(train, this.cached.order, budget);
    return { ...result, info: { proxyFinalAccuracy: this.cached.accuracy } };
  }
}
