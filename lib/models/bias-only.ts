/**
 * Bias-only baseline: x_ui = g + b_u + b_i, fitted with Adam to a pointwise
 * logistic loss on the stored positives (weighted by their values) and one
 * uniform negative per positive. Ranking per user depends on b_i alone, so a
 * user outside the fitted matrix needs no fold-in: it gets g + b_i.
 */
import type { InteractionMatrix } from "../data/matrix.ts";
import { Rng } from "../random.ts";
import type { FitOptions, HyperParameters, Recommender } from "./model.ts";
import { Adam, RowSet } from "./nn/adam.ts";
import { resolveUserMode, type UserMode } from "./nn/foldin.ts";
import { logSigmoid, requireNonNegative, requirePositiveInt, sigmoid, type Vec } from "./nn/math.ts";
import { fillPairBatch, newPairBatch, type PairBatch, positivePairs, requireTrainable } from "./nn/negatives.ts";
import { type EarlyStopping, trainLoop, type TrainSummary } from "./nn/training.ts";

export interface BiasShape {
  numUsers: number;
  numItems: number;
}

/** Parameter vector: [b_u (numUsers) | b_i (numItems) | g]. */
export function biasLayout(s: BiasShape): { userBias: number; itemBias: number; global: number; size: number } {
  return { userBias: 0, itemBias: s.numUsers, global: s.numUsers + s.numItems, size: s.numUsers + s.numItems + 1 };
}

/**
 * Mean over the batch of −w log σ(x_ui) − log σ(−x_uj) + (reg/2)(b_u² + b_i² + b_j²);
 * accumulates the gradient into g.
 */
export function biasLossGrad(p: Vec, g: Vec, shape: BiasShape, batch: PairBatch, reg: number): number {
  const L = biasLayout(shape);
  const inv = 1 / batch.count;
  let total = 0;
  for (let t = 0; t < batch.count; t++) {
    const u = batch.users[t];
    const i = batch.pos[t];
    const j = batch.neg[t];
    const w = batch.weights[t];
    const base = p[L.global] + p[L.userBias + u];
    const bi = p[L.itemBias + i];
    const bj = p[L.itemBias + j];
    const bu = p[L.userBias + u];
    const xi = base + bi;
    const xj = base + bj;
    total -= w * logSigmoid(xi) + logSigmoid(-xj);
    total += 0.5 * reg * (bu * bu + bi * bi + bj * bj);
    const ci = -w * sigmoid(-xi) * inv;
    const cj = sigmoid(xj) * inv;
    g[L.itemBias + i] += ci + reg * inv * bi;
    g[L.itemBias + j] += cj + reg * inv * bj;
    g[L.userBias + u] += ci + cj + reg * inv * bu;
    g[L.global] += ci + cj;
  }
  return total * inv;
}

export interface BiasOnlyConfig {
  lr?: number;
  reg?: number;
  epochs?: number;
  batchSize?: number;
  userMode?: UserMode;
  earlyStopping?: EarlyStopping;
}

export class BiasOnly implements Recommender {
  readonly name = "bias-only";
  readonly lr: number;
  readonly reg: number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly userMode: UserMode;
  earlyStopping?: EarlyStopping;
  summary: TrainSummary | null = null;
  private params: Float32Array | null = null;
  private train: InteractionMatrix | null = null;

  constructor(config: BiasOnlyConfig = {}) {
    this.lr = config.lr ?? 0.01;
    this.reg = requireNonNegative("BiasOnly", "reg", config.reg ?? 1e-4);
    this.epochs = requirePositiveInt("BiasOnly", "epochs", config.epochs ?? 5);
    this.batchSize = requirePositiveInt("BiasOnly", "batchSize", config.batchSize ?? 4096);
    this.userMode = config.userMode ?? "auto";
    this.earlyStopping = config.earlyStopping;
  }

  async fit(train: InteractionMatrix, options: FitOptions = {}): Promise<void> {
    requireTrainable("BiasOnly.fit", train);
    const rng = new Rng(options.seed ?? 42);
    const shape = { numUsers: train.numUsers, numItems: train.numItems };
    const L = biasLayout(shape);
    const p = new Float32Array(L.size);
    const g = new Float32Array(L.size);
    const adam = new Adam(L.size, { lr: this.lr });
    this.params = p;
    this.train = train;
    const pairs = positivePairs(train);
    const order = new Int32Array(train.nnz).map((_, k) => k);
    const cap = this.batchSize;
    const batch = newPairBatch(cap);
    const users = new RowSet(cap, train.numUsers);
    this.summary = await trainLoop({
      name: this.name,
      epochs: this.epochs,
      runEpoch: () => {
        rng.shuffle(order);
        let sum = 0;
        let batches = 0;
        for (let from = 0; from < order.length; from += cap) {
          fillPairBatch(train, pairs, order, from, Math.min(order.length, from + cap), rng, batch);
          sum += biasLossGrad(p, g, shape, batch, this.reg);
          batches++;
          adam.nextStep();
          for (let t = 0; t < batch.count; t++) users.add(batch.users[t]);
          adam.updateRows(p, g, L.userBias, 1, users.rows, users.count);
          users.clear();
          // Item biases are few; a dense update is as cheap as tracking rows.
          adam.updateRange(p, g, L.itemBias, shape.numItems + 1);
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
    const train = this.train;
    if (!p || !train) throw new Error("BiasOnly.scoreBlock: call fit first");
    const mode = resolveUserMode("BiasOnly.scoreBlock", this.userMode, context, train);
    const L = biasLayout(train);
    const ni = train.numItems;
    for (let u = start; u < end; u++) {
      const base = p[L.global] + (mode === "learned" ? p[L.userBias + u] : 0);
      const o = (u - start) * ni;
      for (let i = 0; i < ni; i++) out[o + i] = base + p[L.itemBias + i];
    }
  }

  hyperParameters(): HyperParameters {
    return {
      lr: this.lr, reg: this.reg, epochs: this.epochs, batchSize: this.batchSize,
      epochsRun: this.summary?.epochsRun ?? 0, bestEpoch: this.summary?.bestEpoch ?? 0,
    };
  }
}
