/**
 * Matrix factorisation for implicit feedback: x_ui = p_u·q_i + b_i + b_u + g,
 * trained with Adam on sampled negatives under BPR (Rendle et al. 2009,
 * default) or a pointwise logistic loss. Stored values act as weights on the
 * positive term, so fractional (distilled) matrices train as they are.
 *
 * Users outside the fitted matrix are folded in by the implicit-ALS ridge
 * solve over the item factors (nn/foldin.ts); b_u is constant per user and
 * does not change a ranking, so it is dropped for them.
 */
import type { InteractionMatrix } from "../data/matrix.ts";
import { Rng } from "../random.ts";
import type { FitOptions, HyperParameters, Recommender } from "./model.ts";
import { Adam, RowSet } from "./nn/adam.ts";
import { itemGram, resolveUserMode, ridgeFoldIn, type RidgeFoldInOptions, type UserMode } from "./nn/foldin.ts";
import { initNormal, logSigmoid, requireNonNegative, requirePositiveInt, sigmoid, type Vec } from "./nn/math.ts";
import { fillPairBatch, newPairBatch, type PairBatch, positivePairs, requireTrainable } from "./nn/negatives.ts";
import { type EarlyStopping, trainLoop, type TrainSummary } from "./nn/training.ts";

export type MfLoss = "bpr" | "logistic";

export interface MfShape {
  numUsers: number;
  numItems: number;
  dim: number;
}

/** Offsets of the blocks inside the flat parameter vector. */
export function mfLayout(s: MfShape): { user: number; item: number; itemBias: number; userBias: number; global: number; size: number } {
  const item = s.numUsers * s.dim;
  const itemBias = item + s.numItems * s.dim;
  const userBias = itemBias + s.numItems;
  const global = userBias + s.numUsers;
  return { user: 0, item, itemBias, userBias, global, size: global + 1 };
}

function mfScore(p: Vec, L: ReturnType<typeof mfLayout>, d: number, u: number, i: number): number {
  let s = p[L.itemBias + i] + p[L.userBias + u] + p[L.global];
  const uo = L.user + u * d;
  const io = L.item + i * d;
  for (let k = 0; k < d; k++) s += p[uo + k] * p[io + k];
  return s;
}

/**
 * Mean loss of a batch; accumulates its gradient into g. BPR:
 * −w log σ(x_ui − x_uj); logistic: −w log σ(x_ui) − log σ(−x_uj). Both add
 * (reg/2)(‖p_u‖² + ‖q_i‖² + ‖q_j‖² + b_i² + b_j² + b_u²) per tuple.
 */
export function mfLossGrad(p: Vec, g: Vec, shape: MfShape, batch: PairBatch, loss: MfLoss, reg: number): number {
  const d = shape.dim;
  const L = mfLayout(shape);
  const inv = 1 / batch.count;
  let total = 0;
  for (let t = 0; t < batch.count; t++) {
    const u = batch.users[t];
    const i = batch.pos[t];
    const j = batch.neg[t];
    const w = batch.weights[t];
    const xi = mfScore(p, L, d, u, i);
    const xj = mfScore(p, L, d, u, j);
    let ci: number; // dL/dx_ui
    let cj: number; // dL/dx_uj
    if (loss === "bpr") {
      total -= w * logSigmoid(xi - xj);
      ci = -w * sigmoid(-(xi - xj));
      cj = -ci;
    } else {
      total -= w * logSigmoid(xi) + logSigmoid(-xj);
      ci = -w * sigmoid(-xi);
      cj = sigmoid(xj);
    }
    ci *= inv;
    cj *= inv;
    const r = reg * inv;
    const uo = L.user + u * d;
    const io = L.item + i * d;
    const jo = L.item + j * d;
    for (let k = 0; k < d; k++) {
      const pu = p[uo + k];
      const qi = p[io + k];
      const qj = p[jo + k];
      g[uo + k] += ci * qi + cj * qj + r * pu;
      g[io + k] += ci * pu + r * qi;
      g[jo + k] += cj * pu + r * qj;
      total += 0.5 * reg * (pu * pu + qi * qi + qj * qj);
    }
    const bi = p[L.itemBias + i];
    const bj = p[L.itemBias + j];
    const bu = p[L.userBias + u];
    g[L.itemBias + i] += ci + r * bi;
    g[L.itemBias + j] += cj + r * bj;
    g[L.userBias + u] += ci + cj + r * bu;
    g[L.global] += ci + cj;
    total += 0.5 * reg * (bi * bi + bj * bj + bu * bu);
  }
  return total * inv;
}

export interface MfConfig {
  dim?: number;
  loss?: MfLoss;
  lr?: number;
  reg?: number;
  epochs?: number;
  batchSize?: number;
  /** Negatives per positive per epoch (default 1). */
  negatives?: number;
  initStd?: number;
  userMode?: UserMode;
  foldIn?: Partial<RidgeFoldInOptions>;
  earlyStopping?: EarlyStopping;
}

export class MatrixFactorization implements Recommender {
  readonly name = "mf";
  readonly dim: number;
  readonly loss: MfLoss;
  readonly lr: number;
  readonly reg: number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly negatives: number;
  readonly initStd: number;
  readonly userMode: UserMode;
  readonly foldIn: RidgeFoldInOptions;
  earlyStopping?: EarlyStopping;
  summary: TrainSummary | null = null;
  private params: Float32Array | null = null;
  private train: InteractionMatrix | null = null;
  private gram: Float64Array | null = null;

  constructor(config: MfConfig = {}) {
    const where = "MatrixFactorization";
    this.dim = requirePositiveInt(where, "dim", config.dim ?? 64);
    this.loss = config.loss ?? "bpr";
    if (this.loss !== "bpr" && this.loss !== "logistic") throw new Error(`${where}: unknown loss '${String(this.loss)}'`);
    this.lr = config.lr ?? 1e-3;
    this.reg = requireNonNegative(where, "reg", config.reg ?? 1e-4);
    this.epochs = requirePositiveInt(where, "epochs", config.epochs ?? 20);
    this.batchSize = requirePositiveInt(where, "batchSize", config.batchSize ?? 1024);
    this.negatives = requirePositiveInt(where, "negatives", config.negatives ?? 1);
    this.initStd = requireNonNegative(where, "initStd", config.initStd ?? 0.1);
    this.userMode = config.userMode ?? "auto";
    this.foldIn = { unobservedWeight: config.foldIn?.unobservedWeight ?? 0.01, lambda: config.foldIn?.lambda ?? 1 };
    this.earlyStopping = config.earlyStopping;
  }

  get shape(): MfShape {
    if (!this.train) throw new Error("MatrixFactorization: call fit first");
    return { numUsers: this.train.numUsers, numItems: this.train.numItems, dim: this.dim };
  }

  async fit(train: InteractionMatrix, options: FitOptions = {}): Promise<void> {
    requireTrainable("MatrixFactorization.fit", train);
    const rng = new Rng(options.seed ?? 42);
    const shape: MfShape = { numUsers: train.numUsers, numItems: train.numItems, dim: this.dim };
    const L = mfLayout(shape);
    const p = new Float32Array(L.size);
    initNormal(rng, p, L.user, L.itemBias, this.initStd);
    const g = new Float32Array(L.size);
    const adam = new Adam(L.size, { lr: this.lr });
    this.train = train;
    this.params = p;
    this.gram = null;
    const pairs = positivePairs(train);
    const order = new Int32Array(train.nnz).map((_, k) => k);
    const cap = this.batchSize;
    const batch = newPairBatch(cap);
    const users = new RowSet(cap, train.numUsers);
    const items = new RowSet(2 * cap, train.numItems);
    const d = this.dim;
    const step = (): number => {
      const l = mfLossGrad(p, g, shape, batch, this.loss, this.reg);
      adam.nextStep();
      for (let t = 0; t < batch.count; t++) {
        users.add(batch.users[t]);
        items.add(batch.pos[t]);
        items.add(batch.neg[t]);
      }
      adam.updateRows(p, g, L.user, d, users.rows, users.count);
      adam.updateRows(p, g, L.userBias, 1, users.rows, users.count);
      adam.updateRows(p, g, L.item, d, items.rows, items.count);
      adam.updateRows(p, g, L.itemBias, 1, items.rows, items.count);
      adam.updateRange(p, g, L.global, 1);
      users.clear();
      items.clear();
      return l;
    };
    this.summary = await trainLoop({
      name: this.name,
      epochs: this.epochs,
      runEpoch: () => {
        rng.shuffle(order);
        let sum = 0;
        let batches = 0;
        for (let r = 0; r < this.negatives; r++) {
          for (let from = 0; from < order.length; from += cap) {
            fillPairBatch(train, pairs, order, from, Math.min(order.length, from + cap), rng, batch);
            sum += step();
            batches++;
          }
        }
        this.gram = null;
        return sum / batches;
      },
      snapshot: () => p.slice(),
      restore: (s) => {
        p.set(s);
        this.gram = null;
      },
      earlyStopping: this.earlyStopping,
      onProgress: options.onProgress,
    });
  }

  async scoreBlock(context: InteractionMatrix, start: number, end: number, out: Float32Array): Promise<void> {
    const p = this.params;
    const train = this.train;
    if (!p || !train) throw new Error("MatrixFactorization.scoreBlock: call fit first");
    const mode = resolveUserMode("MatrixFactorization.scoreBlock", this.userMode, context, train);
    const { dim: d } = this;
    const ni = train.numItems;
    const L = mfLayout(this.shape);
    const user = new Float32Array(d);
    const work = new Float64Array(d * d + d);
    if (mode === "foldin" && !this.gram) this.gram = itemGram(p, L.item, ni, d);
    for (let u = start; u < end; u++) {
      let bias = p[L.global];
      if (mode === "learned") {
        user.set(p.subarray(L.user + u * d, L.user + (u + 1) * d));
        bias += p[L.userBias + u];
      } else if (context.rowNnz(u) === 0) {
        user.fill(0);
      } else {
        ridgeFoldIn(p, L.item, d, this.gram!, context.rowItems(u), context.rowValues(u), this.foldIn, user, work);
      }
      const o = (u - start) * ni;
      for (let i = 0; i < ni; i++) {
        let s = bias + p[L.itemBias + i];
        const io = L.item + i * d;
        for (let k = 0; k < d; k++) s += user[k] * p[io + k];
        out[o + i] = s;
      }
    }
  }

  hyperParameters(): HyperParameters {
    return {
      dim: this.dim, loss: this.loss, lr: this.lr, reg: this.reg, epochs: this.epochs, batchSize: this.batchSize,
      negatives: this.negatives, epochsRun: this.summary?.epochsRun ?? 0, bestEpoch: this.summary?.bestEpoch ?? 0,
    };
  }
}
