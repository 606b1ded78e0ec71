/**
 * NeuMF (He et al. 2017): a GMF tower (p_u ⊙ q_i) and an MLP tower
 * (ReLU layers over [p'_u, q'_i]) fused by one output unit,
 * ŷ = σ(h·[gmf, mlp] + b), trained with weighted log loss on the positives
 * and `negatives` uniform negatives per positive, plus (reg/2)‖embeddings
 * of the sample‖².
 *
 * Parameter vector, item and shared parts first so a fold-in vector for new
 * users is that prefix plus fresh user rows:
 *   [Q_gmf (I×dg) | Q_mlp (I×dm) | MLP layers | h (dg+last) | b | P_gmf (U×dg) | P_mlp (U×dm)].
 *
 * Fold-in for users outside the fitted matrix: their (P_gmf, P_mlp) rows
 * start at 0 and take `foldInSteps` Adam steps on the same loss over their
 * context items (at most 64 per step, sampled) and as many sampled negatives,
 * everything else fixed. It costs about foldInSteps × 128 network evaluations
 * per user, and is deterministic (seeded per scoring block).
 */
import type { InteractionMatrix } from "../data/matrix.ts";
import { Rng } from "../random.ts";
import type { FitOptions, HyperParameters, Recommender } from "./model.ts";
import { Adam, RowSet } from "./nn/adam.ts";
import { activate, activateBackward, denseBackward, denseForward } from "./nn/dense.ts";
import { resolveUserMode, type UserMode } from "./nn/foldin.ts";
import { initGlorot, initNormal, logSigmoid, requireNonNegative, requirePositiveInt, sigmoid, type Vec } from "./nn/math.ts";
import { positivePairs, requireTrainable, sampleNegative } from "./nn/negatives.ts";
import { type EarlyStopping, trainLoop, type TrainSummary } from "./nn/training.ts";

export interface NeuMfShape {
  numUsers: number;
  numItems: number;
  gmfDim: number;
  mlpDim: number;
  /** MLP layer widths after the 2·mlpDim input. */
  mlpLayers: number[];
}

export function neumfLayout(s: NeuMfShape) {
  let off = 0;
  const take = (n: number): number => {
    const at = off;
    off += n;
    return at;
  };
  const itemGmf = take(s.numItems * s.gmfDim);
  const itemMlp = take(s.numItems * s.mlpDim);
  const dims = [2 * s.mlpDim, ...s.mlpLayers];
  const mlp: { w: number; b: number; inDim: number; outDim: number }[] = [];
  for (let l = 0; l + 1 < dims.length; l++) {
    const w = take(dims[l] * dims[l + 1]);
    const b = take(dims[l + 1]);
    mlp.push({ w, b, inDim: dims[l], outDim: dims[l + 1] });
  }
  const mlpOut = dims[dims.length - 1];
  const outW = take(s.gmfDim + mlpOut);
  const outB = take(1);
  const shared = off;
  const userGmf = take(s.numUsers * s.gmfDim);
  const userMlp = take(s.numUsers * s.mlpDim);
  return { itemGmf, itemMlp, mlp, mlpOut, outW, outB, shared, userGmf, userMlp, size: off };
}

/** `count` (user, item, label, weight) samples. */
export interface PointBatch {
  users: Int32Array;
  items: Int32Array;
  labels: Float32Array;
  weights: Vec;
  count: number;
}

export function newPointBatch(capacity: number): PointBatch {
  return {
    users: new Int32Array(capacity), items: new Int32Array(capacity), labels: new Float32Array(capacity),
    weights: new Float32Array(capacity), count: 0,
  };
}

/** Intermediate tables are float64 whatever the parameters are (no float32 rounding on every store, which V8 runs faster). */
function like(_p: Vec, n: number): Float64Array {
  return new Float64Array(n);
}

/** Mean weighted log loss of the batch plus the embedding ridge; gradient added into g. */
export function neumfLossGrad(p: Vec, g: Vec, shape: NeuMfShape, batch: PointBatch, reg: number): number {
  const L = neumfLayout(shape);
  const B = batch.count;
  const dg = shape.gmfDim;
  const dm = shape.mlpDim;
  // MLP input [p'_u, q'_i] and activations.
  const acts: Vec[] = [like(p, B * 2 * dm)];
  const x0 = acts[0];
  for (let t = 0; t < B; t++) {
    x0.set(p.subarray(L.userMlp + batch.users[t] * dm, L.userMlp + (batch.users[t] + 1) * dm), t * 2 * dm);
    x0.set(p.subarray(L.itemMlp + batch.items[t] * dm, L.itemMlp + (batch.items[t] + 1) * dm), t * 2 * dm + dm);
  }
  for (const s of L.mlp) {
    const y = like(p, B * s.outDim);
    denseForward(acts[acts.length - 1], B, s.inDim, s.outDim, p, s.w, s.b, y);
    activate("relu", y, y.length);
    acts.push(y);
  }
  const h = acts[acts.length - 1];
  const ho = L.mlpOut;
  let dh = like(p, B * ho);
  const inv = 1 / B;
  let total = 0;
  for (let t = 0; t < B; t++) {
    const uo = L.userGmf + batch.users[t] * dg;
    const io = L.itemGmf + batch.items[t] * dg;
    let z = p[L.outB];
    for (let k = 0; k < dg; k++) z += p[L.outW + k] * p[uo + k] * p[io + k];
    for (let k = 0; k < ho; k++) z += p[L.outW + dg + k] * h[t * ho + k];
    const y = batch.labels[t];
    const w = batch.weights[t];
    total -= w * (y * logSigmoid(z) + (1 - y) * logSigmoid(-z));
    const dz = w * (sigmoid(z) - y) * inv;
    const r = reg * inv;
    g[L.outB] += dz;
    for (let k = 0; k < dg; k++) {
      const pu = p[uo + k];
      const qi = p[io + k];
      g[L.outW + k] += dz * pu * qi;
      const dgmf = dz * p[L.outW + k];
      g[uo + k] += dgmf * qi + r * pu;
      g[io + k] += dgmf * pu + r * qi;
      total += 0.5 * reg * (pu * pu + qi * qi);
    }
    for (let k = 0; k < ho; k++) {
      g[L.outW + dg + k] += dz * h[t * ho + k];
      dh[t * ho + k] = dz * p[L.outW + dg + k];
    }
  }
  for (let l = L.mlp.length - 1; l >= 0; l--) {
    const s = L.mlp[l];
    activateBackward("relu", acts[l + 1], dh, B * s.outDim);
    const dx = like(p, B * s.inDim);
    denseBackward(acts[l], dh, B, s.inDim, s.outDim, p, s.w, s.b, g, dx);
    dh = dx;
  }
  for (let t = 0; t < B; t++) {
    const uo = L.userMlp + batch.users[t] * dm;
    const io = L.itemMlp + batch.items[t] * dm;
    for (let k = 0; k < dm; k++) {
      const pu = p[uo + k];
      const qi = p[io + k];
      g[uo + k] += dh[t * 2 * dm + k] + reg * inv * pu;
      g[io + k] += dh[t * 2 * dm + dm + k] + reg * inv * qi;
      total += 0.5 * reg * (pu * pu + qi * qi);
    }
  }
  return total * inv;
}

/** Logits of one user against every item, into out (numItems). `itemPart` = Q_mlp · W1[dm:, :] (I × h1). */
function scoreUser(p: Vec, shape: NeuMfShape, L: ReturnType<typeof neumfLayout>, u: number, itemPart: Float32Array, out: Float32Array): void {
  const ni = shape.numItems;
  const dg = shape.gmfDim;
  const dm = shape.mlpDim;
  let x: Float32Array;
  let width: number;
  if (L.mlp.length > 0) {
    const s0 = L.mlp[0];
    const userPart = new Float32Array(s0.outDim);
    for (let j = 0; j < s0.outDim; j++) userPart[j] = p[s0.b + j];
    for (let k = 0; k < dm; k++) {
      const pu = p[L.userMlp + u * dm + k];
      for (let j = 0; j < s0.outDim; j++) userPart[j] += pu * p[s0.w + k * s0.outDim + j];
    }
    x = new Float32Array(ni * s0.outDim);
    for (let i = 0; i < ni; i++) {
      for (let j = 0; j < s0.outDim; j++) {
        const v = userPart[j] + itemPart[i * s0.outDim + j];
        x[i * s0.outDim + j] = v > 0 ? v : 0;
      }
    }
    width = s0.outDim;
    for (let l = 1; l < L.mlp.length; l++) {
      const s = L.mlp[l];
      const y = new Float32Array(ni * s.outDim);
      denseForward(x, ni, s.inDim, s.outDim, p, s.w, s.b, y);
      activate("relu", y, y.length);
      x = y;
      width = s.outDim;
    }
  } else {
    // No hidden layer: the MLP tower is the raw [p'_u, q'_i] concatenation.
    width = 2 * dm;
    x = new Float32Array(ni * width);
    for (let i = 0; i < ni; i++) {
      for (let k = 0; k < dm; k++) {
        x[i * width + k] = p[L.userMlp + u * dm + k];
        x[i * width + dm + k] = p[L.itemMlp + i * dm + k];
      }
    }
  }
  const ug = new Float32Array(dg);
  for (let k = 0; k < dg; k++) ug[k] = p[L.outW + k] * p[L.userGmf + u * dg + k];
  for (let i = 0; i < ni; i++) {
    let z = p[L.outB];
    const io = L.itemGmf + i * dg;
    for (let k = 0; k < dg; k++) z += ug[k] * p[io + k];
    for (let k = 0; k < width; k++) z += p[L.outW + dg + k] * x[i * width + k];
    out[i] = z;
  }
}

export interface NeuMfConfig {
  gmfDim?: number;
  mlpDim?: number;
  mlpLayers?: number[];
  lr?: number;
  reg?: number;
  epochs?: number;
  batchSize?: number;
  /** Negatives per positive (He et al.: 4). */
  negatives?: number;
  userMode?: UserMode;
  foldInSteps?: number;
  foldInLr?: number;
  earlyStopping?: EarlyStopping;
}

export class NeuMf implements Recommender {
  readonly name = "neumf";
  readonly gmfDim: number;
  readonly mlpDim: number;
  readonly mlpLayers: number[];
  readonly lr: number;
  readonly reg: number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly negatives: number;
  readonly userMode: UserMode;
  readonly foldInSteps: number;
  readonly foldInLr: number;
  earlyStopping?: EarlyStopping;
  summary: TrainSummary | null = null;
  private params: Float32Array | null = null;
  private train: InteractionMatrix | null = null;
  private seed = 42;

  constructor(config: NeuMfConfig = {}) {
    const where = "NeuMf";
    this.gmfDim = requirePositiveInt(where, "gmfDim", config.gmfDim ?? 32);
    this.mlpDim = requirePositiveInt(where, "mlpDim", config.mlpDim ?? 32);
    this.mlpLayers = (config.mlpLayers ?? [32, 16]).map((h) => requirePositiveInt(where, "MLP layer width", h));
    this.lr = config.lr ?? 1e-3;
    this.reg = requireNonNegative(where, "reg", config.reg ?? 1e-5);
    this.epochs = requirePositiveInt(where, "epochs", config.epochs ?? 10);
    this.batchSize = requirePositiveInt(where, "batchSize", config.batchSize ?? 1024);
    this.negatives = requirePositiveInt(where, "negatives", config.negatives ?? 4);
    this.userMode = config.userMode ?? "auto";
    this.foldInSteps = requirePositiveInt(where, "foldInSteps", config.foldInSteps ?? 30);
    this.foldInLr = config.foldInLr ?? 0.05;
    this.earlyStopping = config.earlyStopping;
  }

  get shape(): NeuMfShape {
    if (!this.train) throw new Error("NeuMf: call fit first");
    return this.shapeFor(this.train.numUsers);
  }

  private shapeFor(numUsers: number): NeuMfShape {
    return { numUsers, numItems: this.train!.numItems, gmfDim: this.gmfDim, mlpDim: this.mlpDim, mlpLayers: this.mlpLayers };
  }

  async fit(train: InteractionMatrix, options: FitOptions = {}): Promise<void> {
    requireTrainable("NeuMf.fit", train);
    this.seed = options.seed ?? 42;
    const rng = new Rng(this.seed);
    this.train = train;
    const shape = this.shape;
    const L = neumfLayout(shape);
    const p = new Float32Array(L.size);
    initNormal(rng, p, L.itemGmf, shape.numItems * (this.gmfDim + this.mlpDim), 0.01);
    initNormal(rng, p, L.userGmf, shape.numUsers * (this.gmfDim + this.mlpDim), 0.01);
    for (const s of L.mlp) initGlorot(rng, p, s.w, s.inDim, s.outDim);
    initGlorot(rng, p, L.outW, this.gmfDim + L.mlpOut, 1);
    this.params = p;
    const g = new Float32Array(L.size);
    const adam = new Adam(L.size, { lr: this.lr });
    const pairs = positivePairs(train);
    const order = new Int32Array(train.nnz).map((_, k) => k);
    const per = 1 + this.negatives;
    const positivesPerBatch = Math.max(1, Math.floor(this.batchSize / per));
    const batch = newPointBatch(positivesPerBatch * per);
    const users = new RowSet(batch.users.length, train.numUsers);
    const items = new RowSet(batch.items.length, train.numItems);
    this.summary = await trainLoop({
      name: this.name,
      epochs: this.epochs,
      runEpoch: () => {
        rng.shuffle(order);
        let sum = 0;
        let batches = 0;
        for (let from = 0; from < order.length; from += positivesPerBatch) {
          const to = Math.min(order.length, from + positivesPerBatch);
          let c = 0;
          for (let k = from; k < to; k++) {
            const e = order[k];
            const u = pairs.users[e];
            batch.users[c] = u;
            batch.items[c] = pairs.items[e];
            batch.labels[c] = 1;
            batch.weights[c++] = pairs.weights[e];
            for (let n = 0; n < this.negatives; n++) {
              batch.users[c] = u;
              batch.items[c] = sampleNegative(train, u, rng);
              batch.labels[c] = 0;
              batch.weights[c++] = 1;
            }
          }
          batch.count = c;
          sum += neumfLossGrad(p, g, shape, batch, this.reg);
          batches++;
          adam.nextStep();
          for (let t = 0; t < c; t++) {
            users.add(batch.users[t]);
            items.add(batch.items[t]);
          }
          adam.updateRows(p, g, L.userGmf, this.gmfDim, users.rows, users.count);
          adam.updateRows(p, g, L.userMlp, this.mlpDim, users.rows, users.count);
          adam.updateRows(p, g, L.itemGmf, this.gmfDim, items.rows, items.count);
          adam.updateRows(p, g, L.itemMlp, this.mlpDim, items.rows, items.count);
          adam.updateRange(p, g, L.itemMlp + shape.numItems * this.mlpDim, L.shared - (L.itemMlp + shape.numItems * this.mlpDim));
          users.clear();
          items.clear();
        }
        return sum / batches;
      },
      snapshot: () => p.slice(),
      restore: (s) => p.set(s),
      earlyStopping: this.earlyStopping,
      onProgress: options.onProgress,
    });
  }

  /** Parameters for users [start, end) of a context not seen in training (see the file comment). */
  private foldIn(context: InteractionMatrix, start: number, end: number): Float32Array {
    const p = this.params!;
    const shape = this.shapeFor(end - start);
    const L = neumfLayout(shape);
    const q = new Float32Array(L.size);
    q.set(p.subarray(0, L.shared));
    const g = new Float32Array(L.size);
    const adam = new Adam(L.size, { lr: this.foldInLr });
    const rng = new Rng(this.seed * 7919 + start);
    const perUser = 64;
    const batch = newPointBatch((end - start) * 2 * perUser);
    for (let step = 0; step < this.foldInSteps; step++) {
      let c = 0;
      for (let u = start; u < end; u++) {
        const items = context.rowItems(u);
        const vals = context.rowValues(u);
        const n = Math.min(perUser, items.length);
        for (let t = 0; t < n; t++) {
          const at = items.length <= perUser ? t : rng.int(items.length);
          batch.users[c] = u - start;
          batch.items[c] = items[at];
          batch.labels[c] = 1;
          batch.weights[c++] = vals[at];
          batch.users[c] = u - start;
          batch.items[c] = sampleNegative(context, u, rng);
          batch.labels[c] = 0;
          batch.weights[c++] = 1;
        }
      }
      if (c === 0) break;
      batch.count = c;
      neumfLossGrad(q, g, shape, batch, this.reg);
      adam.nextStep();
      adam.updateRange(q, g, L.shared, L.size - L.shared);
      g.fill(0, 0, L.shared);
    }
    return q;
  }

  async scoreBlock(context: InteractionMatrix, start: number, end: number, out: Float32Array): Promise<void> {
    const train = this.train;
    if (!this.params || !train) throw new Error("NeuMf.scoreBlock: call fit first");
    const mode = resolveUserMode("NeuMf.scoreBlock", this.userMode, context, train);
    const p = mode === "learned" ? this.params : this.foldIn(context, start, end);
    const shape = mode === "learned" ? this.shape : this.shapeFor(end - start);
    const L = neumfLayout(shape);
    const ni = train.numItems;
    const dm = this.mlpDim;
    let itemPart = new Float32Array(0);
    if (L.mlp.length > 0) {
      const s0 = L.mlp[0];
      itemPart = new Float32Array(ni * s0.outDim);
      for (let i = 0; i < ni; i++) {
        for (let k = 0; k < dm; k++) {
          const qi = p[L.itemMlp + i * dm + k];
          const wo = s0.w + (dm + k) * s0.outDim;
          for (let j = 0; j < s0.outDim; j++) itemPart[i * s0.outDim + j] += qi * p[wo + j];
        }
      }
    }
    for (let u = start; u < end; u++) {
      scoreUser(p, shape, L, mode === "learned" ? u : u - start, itemPart, out.subarray((u - start) * ni, (u - start + 1) * ni));
    }
  }

  hyperParameters(): HyperParameters {
    return {
      gmfDim: this.gmfDim, mlpDim: this.mlpDim, mlpLayers: this.mlpLayers.join("-"), lr: this.lr, reg: this.reg,
      epochs: this.epochs, batchSize: this.batchSize, negatives: this.negatives,
      epochsRun: this.summary?.epochsRun ?? 0, bestEpoch: this.summary?.bestEpoch ?? 0,
    };
  }
}
