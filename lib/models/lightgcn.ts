/**
 * LightGCN (He et al. 2020). Layer-0 embeddings E⁰ for users and items are
 * the only parameters; E^{k+1} = Â E^k over the symmetric-normalised
 * bipartite graph Â_ui = w_ui / √(deg_u · deg_i) (deg = sum of weights, so
 * distilled fractional matrices work); the final embedding is the layer mean
 * F = (1/(K+1)) Σ_k E^k and x_ui = F_u·F_i. Loss: BPR on sampled negatives +
 * (reg/2)‖E⁰ rows of the batch‖². Because Â is symmetric, the gradient is
 * dE⁰ = (1/(K+1)) Σ_k Â^k dF — the same sparse products run backwards.
 *
 * Every step propagates the whole graph, so steps are costly and batches are
 * large (tens of thousands of triples): close to full-graph gradient descent.
 *
 * Fold-in for users outside the fitted graph: the user joins the graph with
 * its context row and E⁰_u = 0 (nothing learned for it); its layer k
 * embedding is Σ_i ĉ_ui E^{k−1}_i, ĉ_ui = w_ui/√(deg_u·deg_i) with deg_i from
 * the training graph, and the item embeddings are those of the fitted graph
 * (one new user barely changes them).
 */
import type { InteractionMatrix } from "../data/matrix.ts";
import { Rng } from "../random.ts";
import type { FitOptions, HyperParameters, Recommender } from "./model.ts";
import { Adam } from "./nn/adam.ts";
import { resolveUserMode, type UserMode } from "./nn/foldin.ts";
import { initNormal, logSigmoid, requireNonNegative, requirePositiveInt, sigmoid, type Vec } from "./nn/math.ts";
import { fillPairBatch, newPairBatch, type PairBatch, positivePairs, requireTrainable } from "./nn/negatives.ts";
import { type EarlyStopping, trainLoop, type TrainSummary } from "./nn/training.ts";

/** Â in both orientations: user-major (CSR of the train matrix) and item-major. */
export interface NormalizedGraph {
  numUsers: number;
  numItems: number;
  userPtr: Int32Array;
  userItems: Int32Array;
  userVals: Float64Array;
  itemPtr: Int32Array;
  itemUsers: Int32Array;
  itemVals: Float64Array;
  /** Weighted item degrees of the training graph. */
  itemDegree: Float64Array;
}

export function normalizedGraph(train: InteractionMatrix): NormalizedGraph {
  const nu = train.numUsers;
  const ni = train.numItems;
  const userDeg = new Float64Array(nu);
  const itemDeg = train.itemCounts();
  for (let u = 0; u < nu; u++) for (let q = train.indptr[u]; q < train.indptr[u + 1]; q++) userDeg[u] += train.values[q];
  const userVals = new Float64Array(train.nnz);
  const itemPtr = new Int32Array(ni + 1);
  for (let q = 0; q < train.nnz; q++) itemPtr[train.indices[q] + 1]++;
  for (let i = 0; i < ni; i++) itemPtr[i + 1] += itemPtr[i];
  const fill = itemPtr.slice(0, ni);
  const itemUsers = new Int32Array(train.nnz);
  const itemVals = new Float64Array(train.nnz);
  for (let u = 0; u < nu; u++) {
    for (let q = train.indptr[u]; q < train.indptr[u + 1]; q++) {
      const i = train.indices[q];
      const w = train.values[q];
      const a = w > 0 ? w / Math.sqrt(userDeg[u] * itemDeg[i]) : 0;
      userVals[q] = a;
      const at = fill[i]++;
      itemUsers[at] = u;
      itemVals[at] = a;
    }
  }
  return {
    numUsers: nu, numItems: ni, userPtr: train.indptr, userItems: train.indices, userVals, itemPtr, itemUsers, itemVals,
    itemDegree: itemDeg,
  };
}

/** dst = Â src for (numUsers + numItems) × d row-major tables, users first. */
export function propagate(graph: NormalizedGraph, src: Vec, dst: Vec, d: number): void {
  const { numUsers: nu, numItems: ni } = graph;
  dst.fill(0, 0, (nu + ni) * d);
  for (let u = 0; u < nu; u++) gather(graph.userPtr[u], graph.userPtr[u + 1], graph.userItems, graph.userVals, nu, src, dst, u * d, d);
  for (let i = 0; i < ni; i++) gather(graph.itemPtr[i], graph.itemPtr[i + 1], graph.itemUsers, graph.itemVals, 0, src, dst, (nu + i) * d, d);
}

/** dst[o…o+d) += Σ_q vals[q] · src row (shift + idx[q]), four neighbours per pass (one store per four multiply-adds). */
function gather(
  from: number, to: number, idx: Int32Array, vals: Float64Array, shift: number, src: Vec, dst: Vec, o: number, d: number,
): void {
  let q = from;
  for (; q + 4 <= to; q += 4) {
    const a0 = vals[q];
    const a1 = vals[q + 1];
    const a2 = vals[q + 2];
    const a3 = vals[q + 3];
    const s0 = (shift + idx[q]) * d;
    const s1 = (shift + idx[q + 1]) * d;
    const s2 = (shift + idx[q + 2]) * d;
    const s3 = (shift + idx[q + 3]) * d;
    for (let k = 0; k < d; k++) dst[o + k] += a0 * src[s0 + k] + a1 * src[s1 + k] + a2 * src[s2 + k] + a3 * src[s3 + k];
  }
  for (; q < to; q++) {
    const a = vals[q];
    const s = (shift + idx[q]) * d;
    for (let k = 0; k < d; k++) dst[o + k] += a * src[s + k];
  }
}

/** Intermediate tables are float64 whatever the parameters are (no float32 rounding on every store, which V8 runs faster). */
function like(_p: Vec, n: number): Float64Array {
  return new Float64Array(n);
}

/** The layer mean F = (1/(K+1)) Σ_k Â^k E⁰; `layers`, when given, receives E⁰…E^K. */
export function layerMean(p: Vec, graph: NormalizedGraph, d: number, K: number, layers?: Vec[]): Vec {
  const n = (graph.numUsers + graph.numItems) * d;
  const final = like(p, n);
  let cur: Vec = p.subarray(0, n);
  layers?.push(cur);
  final.set(cur);
  for (let k = 1; k <= K; k++) {
    const next = like(p, n);
    propagate(graph, cur, next, d);
    for (let t = 0; t < n; t++) final[t] += next[t];
    layers?.push(next);
    cur = next;
  }
  const s = 1 / (K + 1);
  for (let t = 0; t < n; t++) final[t] *= s;
  return final;
}

/** Mean BPR loss of the batch on the layer-mean embeddings plus the E⁰ ridge; gradient added into g. */
export function lightgcnLossGrad(
  p: Vec, g: Vec, graph: NormalizedGraph, d: number, K: number, batch: PairBatch, reg: number,
): number {
  const nu = graph.numUsers;
  const n = (nu + graph.numItems) * d;
  const F = layerMean(p, graph, d, K);
  const dF = like(p, n);
  const inv = 1 / batch.count;
  let total = 0;
  for (let t = 0; t < batch.count; t++) {
    const uo = batch.users[t] * d;
    const io = (nu + batch.pos[t]) * d;
    const jo = (nu + batch.neg[t]) * d;
    let x = 0;
    let r2 = 0;
    for (let k = 0; k < d; k++) {
      x += F[uo + k] * (F[io + k] - F[jo + k]);
      r2 += p[uo + k] * p[uo + k] + p[io + k] * p[io + k] + p[jo + k] * p[jo + k];
    }
    const w = batch.weights[t];
    total -= w * logSigmoid(x);
    total += 0.5 * reg * r2;
    const c = -w * sigmoid(-x) * inv;
    const r = reg * inv;
    for (let k = 0; k < d; k++) {
      dF[uo + k] += c * (F[io + k] - F[jo + k]);
      dF[io + k] += c * F[uo + k];
      dF[jo + k] -= c * F[uo + k];
      g[uo + k] += r * p[uo + k];
      g[io + k] += r * p[io + k];
      g[jo + k] += r * p[jo + k];
    }
  }
  // dE⁰ = (1/(K+1)) Σ_k Â^k dF (Â is symmetric).
  const s = 1 / (K + 1);
  let cur = dF;
  for (let t = 0; t < n; t++) g[t] += s * cur[t];
  for (let k = 1; k <= K; k++) {
    const next = like(p, n);
    propagate(graph, cur, next, d);
    for (let t = 0; t < n; t++) g[t] += s * next[t];
    cur = next;
  }
  return total * inv;
}

export interface LightGcnConfig {
  dim?: number;
  layers?: number;
  lr?: number;
  reg?: number;
  epochs?: number;
  /** BPR triples per step; every step propagates the whole graph, so keep it large. */
  batchSize?: number;
  initStd?: number;
  userMode?: UserMode;
  earlyStopping?: EarlyStopping;
}

export class LightGcn implements Recommender {
  readonly name = "lightgcn";
  readonly dim: number;
  readonly layers: number;
  readonly lr: number;
  readonly reg: number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly initStd: number;
  readonly userMode: UserMode;
  earlyStopping?: EarlyStopping;
  summary: TrainSummary | null = null;
  private params: Float32Array | null = null;
  private graph: NormalizedGraph | null = null;
  private train: InteractionMatrix | null = null;
  /** Cached E⁰…E^K and F of the current parameters (null after an update). */
  private cache: { layers: Vec[]; final: Vec } | null = null;

  constructor(config: LightGcnConfig = {}) {
    const where = "LightGcn";
    this.dim = requirePositiveInt(where, "dim", config.dim ?? 64);
    this.layers = requirePositiveInt(where, "layers", config.layers ?? 3);
    this.lr = config.lr ?? 0.01;
    this.reg = requireNonNegative(where, "reg", config.reg ?? 1e-4);
    this.epochs = requirePositiveInt(where, "epochs", config.epochs ?? 50);
    this.batchSize = requirePositiveInt(where, "batchSize", config.batchSize ?? 65536);
    this.initStd = requireNonNegative(where, "initStd", config.initStd ?? 0.1);
    this.userMode = config.userMode ?? "auto";
    this.earlyStopping = config.earlyStopping;
  }

  async fit(train: InteractionMatrix, options: FitOptions = {}): Promise<void> {
    requireTrainable("LightGcn.fit", train);
    const rng = new Rng(options.seed ?? 42);
    const d = this.dim;
    const graph = normalizedGraph(train);
    const size = (train.numUsers + train.numItems) * d;
    const p = new Float32Array(size);
    initNormal(rng, p, 0, size, this.initStd);
    const g = new Float64Array(size);
    const adam = new Adam(size, { lr: this.lr });
    this.params = p;
    this.graph = graph;
    this.train = train;
    this.cache = null;
    const pairs = positivePairs(train);
    const order = new Int32Array(train.nnz).map((_, k) => k);
    const cap = Math.min(this.batchSize, train.nnz);
    const batch = newPairBatch(cap);
    this.summary = await trainLoop({
      name: this.name,
      epochs: this.epochs,
      runEpoch: () => {
        rng.shuffle(order);
        let sum = 0;
        let batches = 0;
        for (let from = 0; from < order.length; from += cap) {
          fillPairBatch(train, pairs, order, from, Math.min(order.length, from + cap), rng, batch);
          sum += lightgcnLossGrad(p, g, graph, d, this.layers, batch, this.reg);
          batches++;
          adam.nextStep();
          adam.updateRange(p, g, 0, size);
        }
        this.cache = null;
        return sum / batches;
      },
      snapshot: () => p.slice(),
      restore: (s) => {
        p.set(s);
        this.cache = null;
      },
      earlyStopping: this.earlyStopping,
      onProgress: options.onProgress,
    });
  }

  private embeddings(): { layers: Vec[]; final: Vec } {
    if (!this.cache) {
      const layers: Vec[] = [];
      const final = layerMean(this.params!, this.graph!, this.dim, this.layers, layers);
      this.cache = { layers, final };
    }
    return this.cache;
  }

  async scoreBlock(context: InteractionMatrix, start: number, end: number, out: Float32Array): Promise<void> {
    const train = this.train;
    const graph = this.graph;
    if (!train || !graph) throw new Error("LightGcn.scoreBlock: call fit first");
    const mode = resolveUserMode("LightGcn.scoreBlock", this.userMode, context, train);
    const { layers, final } = this.embeddings();
    const d = this.dim;
    const K = this.layers;
    const nu = train.numUsers;
    const ni = train.numItems;
    const user = new Float64Array(d);
    for (let u = start; u < end; u++) {
      if (mode === "learned") {
        for (let k = 0; k < d; k++) user[k] = final[u * d + k];
      } else {
        user.fill(0);
        const items = context.rowItems(u);
        const vals = context.rowValues(u);
        let deg = 0;
        for (let t = 0; t < vals.length; t++) deg += vals[t];
        for (let t = 0; t < items.length; t++) {
          const degI = graph.itemDegree[items[t]];
          if (!(degI > 0) || !(vals[t] > 0)) continue;
          const c = vals[t] / Math.sqrt(deg * degI) / (K + 1);
          for (let layer = 0; layer < K; layer++) {
            const src = layers[layer];
            const o = (nu + items[t]) * d;
            for (let k = 0; k < d; k++) user[k] += c * src[o + k];
          }
        }
      }
      const o = (u - start) * ni;
      for (let i = 0; i < ni; i++) {
        const io = (nu + i) * d;
        let s = 0;
        for (let k = 0; k < d; k++) s += user[k] * final[io + k];
        out[o + i] = s;
      }
    }
  }

  hyperParameters(): HyperParameters {
    return {
      dim: this.dim, layers: this.layers, lr: this.lr, reg: this.reg, epochs: this.epochs, batchSize: this.batchSize,
      epochsRun: this.summary?.epochsRun ?? 0, bestEpoch: this.summary?.bestEpoch ?? 0,
    };
  }
}
