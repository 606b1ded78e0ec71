/**
 * Mult-VAE (Liang et al. 2018): the user's item vector, L2-normalised and
 * dropped out (p = 0.5) at training time, goes through a tanh MLP encoder to
 * (μ, log σ²); z = μ + ε·σ is decoded by a tanh MLP to item logits. Loss:
 * multinomial negative log-likelihood of the user's (weighted) items plus
 * β·KL(q‖N(0, I)), β annealed linearly to `betaMax`. Scoring uses z = μ and
 * needs only the user's history, so users outside the fitted matrix are
 * scored exactly like fitted ones.
 *
 * Layers: encoder [I → hidden… → 2·latent], decoder [latent → reversed hidden… → I],
 * each W stored in×out then its bias. The first encoder layer reads the sparse
 * input row directly (Σ_i x_i W[i,:]).
 */
import type { InteractionMatrix } from "../data/matrix.ts";
import { Rng } from "../random.ts";
import type { FitOptions, HyperParameters, Recommender } from "./model.ts";
import { Adam } from "./nn/adam.ts";
import { activate, activateBackward, denseBackward, denseForward } from "./nn/dense.ts";
import { gaussian, initGlorot, requireNonNegative, requirePositiveInt, type Vec } from "./nn/math.ts";
import { requireTrainable } from "./nn/negatives.ts";
import { type EarlyStopping, trainLoop, type TrainSummary } from "./nn/training.ts";

export interface VaeShape {
  numItems: number;
  hidden: number[];
  latent: number;
}

export interface DenseSlot {
  w: number;
  b: number;
  inDim: number;
  outDim: number;
}

export function vaeLayout(s: VaeShape): { enc: DenseSlot[]; dec: DenseSlot[]; size: number } {
  let off = 0;
  const slots = (dims: number[]): DenseSlot[] => {
    const out: DenseSlot[] = [];
    for (let l = 0; l + 1 < dims.length; l++) {
      const w = off;
      const b = w + dims[l] * dims[l + 1];
      off = b + dims[l + 1];
      out.push({ w, b, inDim: dims[l], outDim: dims[l + 1] });
    }
    return out;
  };
  const enc = slots([s.numItems, ...s.hidden, 2 * s.latent]);
  const dec = slots([s.latent, ...[...s.hidden].reverse(), s.numItems]);
  return { enc, dec, size: off };
}

/** A batch of users: sparse (normalised, dropped-out) inputs and sparse targets. */
export interface VaeBatch {
  rows: number;
  inPtr: Int32Array;
  inIdx: Int32Array;
  inVal: Vec;
  tPtr: Int32Array;
  tIdx: Int32Array;
  tVal: Vec;
  /** rows × latent standard-normal draws; null means z = μ. */
  eps: Vec | null;
}

/** Activations and their gradients are float64 whatever the parameters are: V8 stores them without a float32 rounding step, which is faster. */
function like(_p: Vec, n: number): Float64Array {
  return new Float64Array(n);
}

/** Forward pass to the item logits (rows × numItems); keeps the activations for backward. */
function vaeForward(p: Vec, shape: VaeShape, L: ReturnType<typeof vaeLayout>, batch: VaeBatch) {
  const B = batch.rows;
  const acts: Vec[] = []; // output of each encoder layer, then each decoder layer
  // First encoder layer from the sparse input.
  const e0 = L.enc[0];
  const a0 = like(p, B * e0.outDim);
  for (let r = 0; r < B; r++) {
    const o = r * e0.outDim;
    for (let j = 0; j < e0.outDim; j++) a0[o + j] = p[e0.b + j];
    for (let q = batch.inPtr[r]; q < batch.inPtr[r + 1]; q++) {
      const x = batch.inVal[q];
      const wo = e0.w + batch.inIdx[q] * e0.outDim;
      for (let j = 0; j < e0.outDim; j++) a0[o + j] += x * p[wo + j];
    }
  }
  if (L.enc.length > 1) activate("tanh", a0, a0.length);
  acts.push(a0);
  for (let l = 1; l < L.enc.length; l++) {
    const s = L.enc[l];
    const y = like(p, B * s.outDim);
    denseForward(acts[l - 1], B, s.inDim, s.outDim, p, s.w, s.b, y);
    if (l < L.enc.length - 1) activate("tanh", y, y.length);
    acts.push(y);
  }
  const d = shape.latent;
  const stats = acts[acts.length - 1]; // [μ | log σ²] per row
  const z = like(p, B * d);
  for (let r = 0; r < B; r++) {
    for (let k = 0; k < d; k++) {
      const mu = stats[r * 2 * d + k];
      z[r * d + k] = batch.eps ? mu + batch.eps[r * d + k] * Math.exp(0.5 * stats[r * 2 * d + d + k]) : mu;
    }
  }
  let x: Vec = z;
  const dacts: Vec[] = [];
  for (let l = 0; l < L.dec.length; l++) {
    const s = L.dec[l];
    const y = like(p, B * s.outDim);
    denseForward(x, B, s.inDim, s.outDim, p, s.w, s.b, y);
    if (l < L.dec.length - 1) activate("tanh", y, y.length);
    dacts.push(y);
    x = y;
  }
  return { acts, z, dacts, logits: x };
}

/** Item logits of the batch (z = μ), written into out (rows × numItems). */
export function vaeLogits(p: Vec, shape: VaeShape, batch: VaeBatch, out: Vec): void {
  const f = vaeForward(p, shape, vaeLayout(shape), { ...batch, eps: null });
  out.set(f.logits.subarray(0, batch.rows * shape.numItems));
}

/**
 * Mean over the batch of −Σ_i t_i log softmax(logits)_i + β·KL, plus
 * (reg/2)·Σ‖W‖² over all weight matrices (not biases); accumulates the gradient into g.
 */
export function vaeLossGrad(p: Vec, g: Vec, shape: VaeShape, batch: VaeBatch, beta: number, reg: number): number {
  const L = vaeLayout(shape);
  const B = batch.rows;
  const I = shape.numItems;
  const d = shape.latent;
  const { acts, z, dacts, logits } = vaeForward(p, shape, L, batch);
  const inv = 1 / B;
  let total = 0;
  // Multinomial NLL: d/dlogit_i = (Σt)·softmax_i − t_i.
  let dy = like(p, B * I);
  for (let r = 0; r < B; r++) {
    const o = r * I;
    let mx = -Infinity;
    for (let i = 0; i < I; i++) if (logits[o + i] > mx) mx = logits[o + i];
    let se = 0;
    for (let i = 0; i < I; i++) se += Math.exp(logits[o + i] - mx);
    const lse = mx + Math.log(se);
    let tsum = 0;
    for (let q = batch.tPtr[r]; q < batch.tPtr[r + 1]; q++) {
      const t = batch.tVal[q];
      tsum += t;
      total -= t * (logits[o + batch.tIdx[q]] - lse);
    }
    for (let i = 0; i < I; i++) dy[o + i] = tsum * Math.exp(logits[o + i] - lse) * inv;
    for (let q = batch.tPtr[r]; q < batch.tPtr[r + 1]; q++) dy[o + batch.tIdx[q]] -= batch.tVal[q] * inv;
  }
  // Decoder backward.
  for (let l = L.dec.length - 1; l >= 0; l--) {
    const s = L.dec[l];
    if (l < L.dec.length - 1) activateBackward("tanh", dacts[l], dy, B * s.outDim);
    const xin = l === 0 ? z : dacts[l - 1];
    const dx = like(p, B * s.inDim);
    denseBackward(xin, dy, B, s.inDim, s.outDim, p, s.w, s.b, g, dx);
    dy = dx;
  }
  // dy is now dL/dz. KL and reparameterisation into d[μ | log σ²].
  const stats = acts[acts.length - 1];
  let ds = like(p, B * 2 * d);
  for (let r = 0; r < B; r++) {
    for (let k = 0; k < d; k++) {
      const mu = stats[r * 2 * d + k];
      const lv = stats[r * 2 * d + d + k];
      const ev = Math.exp(lv);
      total += beta * 0.5 * (ev + mu * mu - 1 - lv);
      const dz = dy[r * d + k];
      ds[r * 2 * d + k] = dz + beta * mu * inv;
      let dlv = beta * 0.5 * (ev - 1) * inv;
      if (batch.eps) dlv += dz * batch.eps[r * d + k] * 0.5 * Math.exp(0.5 * lv);
      ds[r * 2 * d + d + k] = dlv;
    }
  }
  // Encoder backward.
  for (let l = L.enc.length - 1; l >= 1; l--) {
    const s = L.enc[l];
    if (l < L.enc.length - 1) activateBackward("tanh", acts[l], ds, B * s.outDim);
    const dx = like(p, B * s.inDim);
    denseBackward(acts[l - 1], ds, B, s.inDim, s.outDim, p, s.w, s.b, g, dx);
    ds = dx;
  }
  const e0 = L.enc[0];
  if (L.enc.length > 1) activateBackward("tanh", acts[0], ds, B * e0.outDim);
  for (let r = 0; r < B; r++) {
    const o = r * e0.outDim;
    for (let j = 0; j < e0.outDim; j++) g[e0.b + j] += ds[o + j];
    for (let q = batch.inPtr[r]; q < batch.inPtr[r + 1]; q++) {
      const x = batch.inVal[q];
      const wo = e0.w + batch.inIdx[q] * e0.outDim;
      for (let j = 0; j < e0.outDim; j++) g[wo + j] += x * ds[o + j];
    }
  }
  total *= inv;
  if (reg > 0) {
    for (const s of [...L.enc, ...L.dec]) {
      for (let k = s.w; k < s.w + s.inDim * s.outDim; k++) {
        total += 0.5 * reg * p[k] * p[k];
        g[k] += reg * p[k];
      }
    }
  }
  return total;
}

/**
 * Builds the sparse batch of `users` from a matrix: inputs are rows divided by
 * their L2 norm, each entry kept with probability 1 − dropout and then scaled
 * by 1 / (1 − dropout); targets are the raw rows.
 */
export function vaeBatchOf(
  m: InteractionMatrix, users: ArrayLike<number>, dropout: number, rng: Rng | null, eps: Vec | null,
): VaeBatch {
  const rows = users.length;
  let nnz = 0;
  for (let r = 0; r < rows; r++) nnz += m.rowNnz(users[r]);
  const tPtr = new Int32Array(rows + 1);
  const tIdx = new Int32Array(nnz);
  const tVal = new Float32Array(nnz);
  const inPtr = new Int32Array(rows + 1);
  const inIdx = new Int32Array(nnz);
  const inVal = new Float32Array(nnz);
  let q = 0;
  let qi = 0;
  const keep = 1 - dropout;
  for (let r = 0; r < rows; r++) {
    const items = m.rowItems(users[r]);
    const vals = m.rowValues(users[r]);
    let n2 = 0;
    for (let t = 0; t < vals.length; t++) n2 += vals[t] * vals[t];
    const norm = n2 > 0 ? 1 / Math.sqrt(n2) : 0;
    for (let t = 0; t < items.length; t++) {
      tIdx[q] = items[t];
      tVal[q++] = vals[t];
      if (rng && dropout > 0 && rng.next() >= keep) continue;
      inIdx[qi] = items[t];
      inVal[qi++] = (vals[t] * norm) / (rng && dropout > 0 ? keep : 1);
    }
    tPtr[r + 1] = q;
    inPtr[r + 1] = qi;
  }
  return { rows, inPtr, inIdx: inIdx.subarray(0, qi), inVal: inVal.subarray(0, qi), tPtr, tIdx, tVal, eps };
}

/**
 * Fresh parameters: Glorot weights, biases N(0, 0.001²). Exported so that a
 * continual learner (lib/continual) starts its first period exactly as a fit
 * does and warm-starts later periods from a copy instead.
 */
export function initVaeParams(shape: VaeShape, rng: Rng): Float32Array {
  const L = vaeLayout(shape);
  const p = new Float32Array(L.size);
  for (const s of [...L.enc, ...L.dec]) {
    initGlorot(rng, p, s.w, s.inDim, s.outDim);
    for (let j = 0; j < s.outDim; j++) p[s.b + j] = 0.001 * gaussian(rng);
  }
  return p;
}

export interface MultVaeConfig {
  hidden?: number[];
  latent?: number;
  lr?: number;
  reg?: number;
  dropout?: number;
  betaMax?: number;
  /** Epochs over which β grows linearly from 0 to betaMax (default: all epochs). */
  annealEpochs?: number;
  epochs?: number;
  batchSize?: number;
  earlyStopping?: EarlyStopping;
}

export class MultVae implements Recommender {
  readonly name = "multvae";
  readonly hidden: number[];
  readonly latent: number;
  readonly lr: number;
  readonly reg: number;
  readonly dropout: number;
  readonly betaMax: number;
  readonly annealEpochs: number;
  readonly epochs: number;
  readonly batchSize: number;
  earlyStopping?: EarlyStopping;
  summary: TrainSummary | null = null;
  private params: Float32Array | null = null;
  private shape: VaeShape | null = null;

  constructor(config: MultVaeConfig = {}) {
    const where = "MultVae";
    this.hidden = (config.hidden ?? [600]).map((h) => requirePositiveInt(where, "hidden size", h));
    this.latent = requirePositiveInt(where, "latent", config.latent ?? 200);
    this.lr = config.lr ?? 1e-3;
    this.reg = requireNonNegative(where, "reg", config.reg ?? 0);
    this.dropout = config.dropout ?? 0.5;
    if (!(this.dropout >= 0 && this.dropout < 1)) throw new Error(`${where}: dropout must be in [0, 1), got ${this.dropout}`);
    this.betaMax = requireNonNegative(where, "betaMax", config.betaMax ?? 0.2);
    this.epochs = requirePositiveInt(where, "epochs", config.epochs ?? 50);
    this.annealEpochs = requirePositiveInt(where, "annealEpochs", config.annealEpochs ?? this.epochs);
    this.batchSize = requirePositiveInt(where, "batchSize", config.batchSize ?? 500);
    this.earlyStopping = config.earlyStopping;
  }

  async fit(train: InteractionMatrix, options: FitOptions = {}): Promise<void> {
    requireTrainable("MultVae.fit", train);
    const rng = new Rng(options.seed ?? 42);
    const shape: VaeShape = { numItems: train.numItems, hidden: this.hidden, latent: this.latent };
    const L = vaeLayout(shape);
    const p = initVaeParams(shape, rng);
    this.params = p;
    this.shape = shape;
    const g = new Float64Array(L.size);
    const adam = new Adam(L.size, { lr: this.lr });
    const order = new Int32Array(train.numUsers).map((_, k) => k);
    const batchesPerEpoch = Math.ceil(train.numUsers / this.batchSize);
    const annealUpdates = this.annealEpochs * batchesPerEpoch;
    let updates = 0;
    this.summary = await trainLoop({
      name: this.name,
      epochs: this.epochs,
      runEpoch: () => {
        rng.shuffle(order);
        let sum = 0;
        let batches = 0;
        for (let from = 0; from < order.length; from += this.batchSize) {
          const users = order.subarray(from, Math.min(order.length, from + this.batchSize));
          const eps = new Float32Array(users.length * this.latent);
          for (let k = 0; k < eps.length; k++) eps[k] = gaussian(rng);
          const batch = vaeBatchOf(train, users, this.dropout, rng, eps);
          const beta = this.betaMax * Math.min(1, updates / annealUpdates);
          sum += vaeLossGrad(p, g, shape, batch, beta, this.reg);
          batches++;
          updates++;
          adam.nextStep();
          adam.updateRange(p, g, 0, L.size);
        }
        return sum / batches;
      },
      snapshot: () => p.slice(),
      restore: (s) => p.set(s),
      earlyStopping: this.earlyStopping,
      onProgress: options.onProgress,
    });
  }

  async scoreBlock(context: InteractionMatrix, start: number, end: number, out: Float32Array): Promise<void> {
    const p = this.params;
    const shape = this.shape;
    if (!p || !shape) throw new Error("MultVae.scoreBlock: call fit first");
    if (context.numItems !== shape.numItems) {
      throw new Error(`MultVae.scoreBlock: context has ${context.numItems} items, model ${shape.numItems}`);
    }
    const users = new Int32Array(end - start).map((_, k) => start + k);
    vaeLogits(p, shape, vaeBatchOf(context, users, 0, null, null), out);
  }

  hyperParameters(): HyperParameters {
    return {
      hidden: this.hidden.join("-"), latent: this.latent, lr: this.lr, reg: this.reg, dropout: this.dropout,
      betaMax: this.betaMax, annealEpochs: this.annealEpochs, epochs: this.epochs, batchSize: this.batchSize,
      epochsRun: this.summary?.epochsRun ?? 0, bestEpoch: this.summary?.bestEpoch ?? 0,
    };
  }
}
