/**
 * Mult-VAE (lib/models/multvae.ts) as a continual learner: one parameter
 * vector carried from period to period (each period's training starts from a
 * copy of the previous period's model: the warm start), and training rows whose
 * targets may differ from their inputs (ADER's distillation rows take the
 * previous model's soft predictions as targets).
 *
 * Each period trains `epochs` epochs with a fresh Adam and β annealed from 0
 * to `betaMax` over that period's updates, as MultVae.fit does over one fit.
 */
import type { InteractionMatrix } from "../data/matrix.ts";
import { initVaeParams, type VaeBatch, vaeBatchOf, vaeLayout, vaeLogits, vaeLossGrad, type VaeShape } from "../models/multvae.ts";
import { Adam } from "../models/nn/adam.ts";
import { activate, denseForward } from "../models/nn/dense.ts";
import { gaussian, requirePositiveInt } from "../models/nn/math.ts";
import { Rng } from "../random.ts";

export interface VaeTrainConfig {
  hidden: number[];
  latent: number;
  lr: number;
  dropout: number;
  betaMax: number;
  /** Epochs per period. */
  epochs: number;
  batchSize: number;
}

/** Rows to train on: the encoder reads `inputs`, the multinomial likelihood scores `targets` (same rows). */
export interface TrainingRows {
  inputs: InteractionMatrix;
  targets: InteractionMatrix;
}

/** Rows that are their own targets (ordinary Mult-VAE training). */
export function selfTargets(rows: InteractionMatrix): TrainingRows {
  return { inputs: rows, targets: rows };
}

/** `batch` with its targets replaced by the given rows of `targets`. */
function withTargets(batch: VaeBatch, targets: InteractionMatrix, rows: ArrayLike<number>): VaeBatch {
  let nnz = 0;
  for (let r = 0; r < rows.length; r++) nnz += targets.rowNnz(rows[r]);
  const tPtr = new Int32Array(rows.length + 1);
  const tIdx = new Int32Array(nnz);
  const tVal = new Float32Array(nnz);
  let q = 0;
  for (let r = 0; r < rows.length; r++) {
    tIdx.set(targets.rowItems(rows[r]), q);
    tVal.set(targets.rowValues(rows[r]), q);
    q += targets.rowNnz(rows[r]);
    tPtr[r + 1] = q;
  }
  return { ...batch, tPtr, tIdx, tVal };
}

export class ContinualVae {
  private constructor(
    readonly shape: VaeShape,
    readonly config: VaeTrainConfig,
    /** The parameters (MultVae's layout). */
    readonly params: Float32Array,
  ) {}

  /** A freshly initialised model (MultVae's initialisation). */
  static fresh(numItems: number, config: VaeTrainConfig, seed: number): ContinualVae {
    requirePositiveInt("ContinualVae", "epochs", config.epochs);
    requirePositiveInt("ContinualVae", "batchSize", config.batchSize);
    const shape: VaeShape = { numItems, hidden: config.hidden, latent: config.latent };
    return new ContinualVae(shape, config, initVaeParams(shape, new Rng(seed)));
  }

  /** A copy to train further while this one stays as it is (the warm start, or ADER's teacher). */
  clone(): ContinualVae {
    return new ContinualVae(this.shape, this.config, this.params.slice());
  }

  /** Trains in place on `rows` for the configured epochs; returns the last epoch's mean loss. */
  train(rows: TrainingRows, seed: number): number {
    const { inputs, targets } = rows;
    const { epochs, batchSize, dropout, betaMax, latent, lr } = this.config;
    if (inputs.numUsers !== targets.numUsers || inputs.numItems !== this.shape.numItems || targets.numItems !== this.shape.numItems) {
      throw new Error(`ContinualVae.train: inputs ${inputs.numUsers}×${inputs.numItems}, targets ${targets.numUsers}×${targets.numItems}, model ${this.shape.numItems} items`);
    }
    if (inputs.numUsers === 0) throw new Error("ContinualVae.train: no rows to train on");
    const p = this.params;
    const size = vaeLayout(this.shape).size;
    const g = new Float64Array(size);
    const adam = new Adam(size, { lr });
    const rng = new Rng(seed);
    const order = new Int32Array(inputs.numUsers).map((_, k) => k);
    const annealUpdates = epochs * Math.ceil(order.length / batchSize);
    let updates = 0;
    let last = Number.NaN;
    for (let e = 0; e < epochs; e++) {
      rng.shuffle(order);
      let sum = 0;
      let batches = 0;
      for (let from = 0; from < order.length; from += batchSize) {
        const users = order.subarray(from, Math.min(order.length, from + batchSize));
        const eps = new Float32Array(users.length * latent);
        for (let k = 0; k < eps.length; k++) eps[k] = gaussian(rng);
        const batch = withTargets(vaeBatchOf(inputs, users, dropout, rng, eps), targets, users);
        const beta = betaMax * Math.min(1, updates / annealUpdates);
        sum += vaeLossGrad(p, g, this.shape, batch, beta, 0);
        batches++;
        updates++;
        adam.nextStep();
        adam.updateRange(p, g, 0, size);
      }
      last = sum / batches;
      if (!Number.isFinite(last)) throw new Error(`ContinualVae.train: loss became ${last} in epoch ${e + 1}`);
    }
    return last;
  }

  /** Item logits (z = μ) of `rows` of `context`, written into out (rows × items). */
  logits(context: InteractionMatrix, rows: Int32Array, out: Float32Array): void {
    vaeLogits(this.params, this.shape, vaeBatchOf(context, rows, 0, null, null), out);
  }

  /** The encoder's mean μ (rows × latent) of `rows` of `m`. */
  encoderMeans(m: InteractionMatrix, rows: Int32Array): Float64Array {
    const L = vaeLayout(this.shape);
    const batch = vaeBatchOf(m, rows, 0, null, null);
    const p = this.params;
    const B = rows.length;
    const e0 = L.enc[0];
    let x = new Float64Array(B * e0.outDim);
    for (let r = 0; r < B; r++) {
      const o = r * e0.outDim;
      for (let j = 0; j < e0.outDim; j++) x[o + j] = p[e0.b + j];
      for (let q = batch.inPtr[r]; q < batch.inPtr[r + 1]; q++) {
        const wo = e0.w + batch.inIdx[q] * e0.outDim;
        for (let j = 0; j < e0.outDim; j++) x[o + j] += batch.inVal[q] * p[wo + j];
      }
    }
    // Hidden layers are tanh; the last encoder layer is linear (MultVae's forward).
    if (L.enc.length > 1) activate("tanh", x, x.length);
    for (let l = 1; l < L.enc.length; l++) {
      const s = L.enc[l];
      const y = new Float64Array(B * s.outDim);
      denseForward(x, B, s.inDim, s.outDim, p, s.w, s.b, y);
      if (l < L.enc.length - 1) activate("tanh", y, y.length);
      x = y;
    }
    const d = this.shape.latent;
    const mu = new Float64Array(B * d);
    for (let r = 0; r < B; r++) mu.set(x.subarray(r * 2 * d, r * 2 * d + d), r * d);
    return mu;
  }
}
