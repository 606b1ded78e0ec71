/**
 * DISTILL-CF's loss and gradient in logits, fast: the same function as
 * objective.ts's `distillObjective` (see there for the stage equations), laid
 * out for big problems (ML-1M: μ = 500, I = 3706, batch = 6040 users).
 *
 * Precision split:
 * - batch-sized products run as float32 ONNX Runtime Gemms:
 *     dots_BS = X_B·X̂ᵀ, P = K_BS·α, dα = K_BSᵀ·dP, dK_BS = dP·αᵀ, dX̂ += Gᵀ·X_B
 *   (≈ 5 × 2·B·μ·I flops, 110 GFLOP per ML-1M step);
 * - the μ-sized inner solve stays float64: K(X̂, X̂)'s dots, A⁻¹ (Cholesky in
 *   TS, explicit inverse), α = A⁻¹X̂ and the solve backward (W = A⁻¹dα,
 *   dA = −Wαᵀ, (G_SS + G_SSᵀ)·X̂) as float64 ORT Gemms;
 * - per-entry NTK values and partials (ntk-grad.ts's `ntkGramPartials`) and the
 *   softmax loss in TS (float64 arithmetic on float32 storage);
 * - Gumbel sampling in fast-sample.ts (float64, table-based noise).
 *
 * The diagonal of K(X̂, X̂) must see q/n = 1 exactly (ntk-grad.ts): the row
 * norms of X̂ are taken from the same Gemm's diagonal, not summed separately.
 */
import type { Backend, DeviceTensor, TensorArg } from "../onnx/backend.ts";
import { gemmSpec, runGemm } from "../onnx/graphs/gemm.ts";
import { type GramPartials, ntkGramPartials, ntkSymmetricGramPartials } from "../ntk/ntk-grad.ts";
import { spdInverseGemm } from "../linalg/spd-inverse.ts";
import { ridgeAdjoint, ridgedSymmetric } from "./solve.ts";
import { cardinalityPenalty, cardinalityPenaltyOfSum, reconstructionLoss, type ReconstructionLoss } from "./loss.ts";
import type { FastSampleConfig } from "./fast-sample.ts";
import { SamplingPool } from "./sample-pool.ts";
import { blockGraphSpec } from "./block-graph.ts";
import { type DeviceSample, DeviceSampler } from "./device-sample.ts";
import { deviceSumSpec, deviceSupportBackwardSpec } from "./device-step-graphs.ts";

/** Real users as dense float32 rows (binary), with Σx² per row. */
export interface DenseBatch {
  rows: number;
  data: Float32Array;
  norms: Float64Array;
}

export function denseBatch(data: Float32Array, rows: number, items: number): DenseBatch {
  if (data.length !== rows * items) throw new Error(`denseBatch: ${data.length} values, expected ${rows}×${items}`);
  const norms = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let i = r * items; i < (r + 1) * items; i++) s += data[i] * data[i];
    norms[r] = s;
  }
  return { rows, data, norms };
}

export interface FastStepConfig {
  gamma: number;
  tau: number;
  seed: number;
  /** Outer step (noise stream). */
  step: number;
  lambda: number;
  lambda2: number;
  interactionsPerUser: number;
  depth: number;
  loss: ReconstructionLoss;
  /** Users per block in the batch stage (bounds memory: ~ 2·block·I floats; on the GPU device path at least GPU_BLOCK_ENTRIES / I). */
  batchBlock: number;
  /** The official key-splitting quirk (sample 1 repeats sample 0). */
  duplicateFirstSample?: boolean;
  /**
   * Learned regression targets Y (μ × I) of the inner solve, α = A⁻¹Y, kept
   * apart from the sampled inputs X̂ (as in KIP); absent: Y = X̂ (the paper).
   */
  targets?: Float64Array | null;
}

/** Seconds per stage of one step. */
export interface StepTimings {
  sampling: number;
  /** The fused batch graph (block-graph.ts): the batch's Gram, scores, softmax loss and their backward. */
  batch: number;
  gram: number;
  solve: number;
  loss: number;
  backward: number;
  samplingBackward: number;
}

export interface FastStepResult {
  loss: number;
  reconstruction: number;
  penalty: number;
  support: Float64Array;
  /** ∂loss/∂X̂ (μ × I), when the gradient was asked for. */
  dSupport: Float64Array | null;
  /** ∂loss/∂L (μ × I), when the gradient was asked for. */
  dLogits: Float64Array | null;
  /** ∂loss/∂Y (μ × I), with learned targets and the gradient. */
  dTargets: Float64Array | null;
  timings: StepTimings;
}

/**
 * The "softmax" loss of loss.ts on float32 scores, Σ_rows (lse(P_u)·Σ_i X_ui −
 * Σ_i X_ui P_ui) / normaliser, accumulated in float64; with `writeGradient`
 * P is overwritten by ∂/∂P = (softmax(P_u)·Σ_i X_ui − X_u) / normaliser.
 */
export function softmaxLossInPlace(
  p: Float32Array,
  x: Float32Array,
  rows: number,
  items: number,
  normaliser: number,
  writeGradient: boolean,
): number {
  if (p.length < rows * items || x.length < rows * items) throw new Error(`softmaxLossInPlace: need ${rows}×${items} scores and targets`);
  if (!(normaliser > 0)) throw new Error(`softmaxLossInPlace: normaliser must be > 0, got ${normaliser}`);
  const inv = 1 / normaliser;
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const base = r * items;
    let max = -Infinity;
    for (let i = 0; i < items; i++) if (p[base + i] > max) max = p[base + i];
    let sumExp = 0;
    let sumX = 0;
    let dotXP = 0;
    for (let i = 0; i < items; i++) {
      const v = p[base + i];
      sumExp += Math.exp(v - max);
      const t = x[base + i];
      sumX += t;
      dotXP += t * v;
    }
    const lse = max + Math.log(sumExp);
    total += lse * sumX - dotXP;
    if (writeGradient) {
      for (let i = 0; i < items; i++) p[base + i] = (Math.exp(p[base + i] - lse) * sumX - x[base + i]) * inv;
    }
  }
  return total * inv;
}

function toF32(a: Float64Array): Float32Array {
  return Float32Array.from(a);
}

/** K(X̂, X̂) with its partials (supportGram). */
interface SupportGram {
  /** Σx² of each row of X̂ (the Gram's diagonal dots). */
  normsS: Float64Array;
  partials: GramPartials;
  /** K(X̂, X̂), float64 (partials.k). */
  kSS: Float64Array;
}

/** The inner solve's products (innerSolve). */
interface InnerSolve {
  /** (sym(K_SS) + c·I)⁻¹, float64, exactly symmetric. */
  aInv: Float64Array;
  /** α = A⁻¹X̂ (μ × I), float64. */
  alpha: Float64Array;
  alpha32: Float32Array;
  support32: Float32Array;
}

/** Gradients summed over the batch's blocks. */
interface BatchGradients {
  /** ∂loss/∂α (μ × I). */
  dAlpha: Float64Array;
  /** ∂loss/∂X̂ (μ × I), completed by the solve and Gram backward. */
  dSupport: Float64Array;
  /** g_j = Σ_i dK_BS,ij f_yy,ij: the gradient of X̂'s row norms from K_BS. */
  gradNormB: Float64Array;
  /** μ × I float32 Gemm outputs reused per block. */
  scratch: Float32Array;
  scratch2: Float32Array;
}

function batchGradients(mu: number, items: number): BatchGradients {
  return {
    dAlpha: new Float64Array(mu * items),
    dSupport: new Float64Array(mu * items),
    gradNormB: new Float64Array(mu),
    scratch: new Float32Array(mu * items),
    scratch2: new Float32Array(mu * items),
  };
}

/**
 * Loss of one block's scores. "softmax" runs in float32 in place (P becomes
 * dP, no float64 copies of rows × I); other losses go through loss.ts in
 * float64. dP32 is null without the gradient.
 */
function blockLoss(
  p: Float32Array,
  xB: Float32Array,
  rows: number,
  items: number,
  normaliser: number,
  loss: ReconstructionLoss,
  wantGradient: boolean,
): { value: number; dP32: Float32Array | null } {
  if (loss === "softmax") {
    const value = softmaxLossInPlace(p, xB, rows, items, normaliser, wantGradient);
    return { value, dP32: wantGradient ? p : null };
  }
  const dP = wantGradient ? new Float64Array(rows * items) : undefined;
  const value = reconstructionLoss(Float64Array.from(p), Float64Array.from(xB), rows, items, loss, normaliser, dP);
  return { value, dP32: dP ? Float32Array.from(dP) : null };
}

/** The row-norm term of the batch Gram backward: dX̂_j += 2·g_j·X̂_j. */
function addNormTerm(dSupport: Float64Array, gradNormB: Float64Array, support: Float64Array, mu: number, items: number): void {
  for (let j = 0; j < mu; j++) {
    const g2 = 2 * gradNormB[j];
    for (let i = j * items; i < (j + 1) * items; i++) dSupport[i] += g2 * support[i];
  }
}

/**
 * K(X̂, X̂)'s adjoint in its dots and row norms: G = (dK ⊙ f_xy) + (dK ⊙ f_xy)ᵀ
 * and h_i = Σ_j dK_ij f_xx,ij + Σ_j dK_ji f_yy,ji, so dX̂ += G·X̂ + 2·diag(h)·X̂.
 */
function gramAdjoint(dKss: Float64Array, ss: GramPartials, mu: number): { gSS: Float64Array; hg: Float64Array } {
  const gSS = new Float64Array(mu * mu);
  const hg = new Float64Array(mu);
  const fxxSS = ss.fxx;
  if (!fxxSS) throw new Error("fastSupportObjective: missing K_SS partials");
  for (let i = 0; i < mu; i++) {
    for (let j = 0; j < mu; j++) {
      const q = i * mu + j;
      const up = dKss[q];
      gSS[q] += up * ss.fxy[q];
      gSS[j * mu + i] += up * ss.fxy[q];
      hg[i] += up * fxxSS[q];
      hg[j] += up * ss.fyy[q];
    }
  }
  return { gSS, hg };
}

/** A host-side output of runDevice, as float32. */
function hostOutput(out: Record<string, TensorArg | DeviceTensor>, name: string): Float32Array {
  const t = out[name];
  if (!t || "dispose" in t) throw new Error(`fast step: the graph's ${name} must come to the host`);
  return t.data as Float32Array;
}

/** A device-side output of runDevice. */
function deviceOutput(out: Record<string, TensorArg | DeviceTensor>, name: string): DeviceTensor {
  const t = out[name];
  if (!t || !("dispose" in t)) throw new Error(`fast step: the graph's ${name} must stay on the device`);
  return t;
}

/**
 * Values of one batch block on a GPU (rows × I): the device path's blocks hold
 * at least this many, so the block graph's tensors stay within 128 MiB each.
 */
export const GPU_BLOCK_ENTRIES = 2 ** 25;

/** Every stage at 0 s. */
export function emptyStepTimings(): StepTimings {
  return { sampling: 0, batch: 0, gram: 0, solve: 0, loss: 0, backward: 0, samplingBackward: 0 };
}

/** Adds the seconds since its previous lap (or its creation) to one stage of a StepTimings. */
class StageClock {
  private t = performance.now();

  constructor(private readonly timings: StepTimings) {}

  lap(stage: keyof StepTimings): void {
    const now = performance.now();
    this.timings[stage] += (now - this.t) / 1000;
    this.t = now;
  }
}

/** Options of FastDistillEngine. */
export interface FastEngineOptions {
  /** Worker threads for Gumbel sampling (default 2; 0 = this thread). */
  samplingWorkers?: number;
  /**
   * Keep the forward's noise E_k (γ·μ·I float32; ML-1M: 1.48 GB) for the
   * backward instead of regenerating it, when it needs at most this many
   * bytes (default DEFAULT_STORE_NOISE_BYTES; 0 = always regenerate, memory O(μ·I)).
   * With device sampling the store is device memory (a GPU's, on a GPU).
   */
  storeNoiseBytes?: number;
  /**
   * Where the Gumbel sampling runs: "workers" (CPU threads, fast-sample.ts's
   * noise; the default) or "device" (graphs on the backend's device,
   * device-sample.ts, with device-noise.ts's stream: a different draw of the
   * noise for the same seed).
   */
  sampling?: "workers" | "device";
  /** Most values in one chunk of device sampling's noise (DeviceSampler's chunkEntries). */
  deviceChunkEntries?: number;
  /**
   * Precision of the μ × I products of the inner solve and its backward
   * (α = A⁻¹X̂, W = A⁻¹dα, W·αᵀ, X̂X̂ᵀ, G·X̂): "float64" on the host (the
   * default with sampling workers) or "float32" as graphs (deviceObjective;
   * always so with device sampling, as WebGPU has no float64). K_SS, its
   * partials and A⁻¹ stay float64 either way. Default "float32": on ML-1M
   * on 2 cores 1.70–1.74 s per step against 1.88–2.08 s (alternating runs),
   * dL within 1.3e-6 of the float64 reference at λ = 1e-5 (tests/distill/device-sample.test.ts).
   */
  innerPrecision?: "float64" | "float32";
}

/**
 * 2 GiB: on ML-1M (1.48 GB of float32 noise) storing beats regenerating even
 * with the WebAssembly kernel: 2.29 s against 2.56 s per step idle on this
 * 2-core machine (forward 1.11 + backward 0.34 s against 0.85 + 0.85 s), at
 * 2.8 GB peak RSS against 1.4 GB. Larger problems regenerate (memory O(μ·I)).
 */
export const DEFAULT_STORE_NOISE_BYTES = 2 ** 31;

/**
 * One DISTILL-CF step's loss and gradient on a backend (which caches the
 * graphs' sessions), with its pool of sampling workers; one instance per run.
 */
export class FastDistillEngine {
  readonly sampling: SamplingPool;
  /** The device sampler (options.sampling "device"), else null. */
  readonly deviceSampler: DeviceSampler | null;
  /** The softmax step's μ × I products as float32 graphs (options.innerPrecision). */
  private readonly float32Inner: boolean;
  /** On a GPU: the batch's blocks (XB, NB), uploaded once per batch. */
  private resident: { batch: DenseBatch; blocks: Map<number, { xb: DeviceTensor; nb: DeviceTensor }> } | null = null;

  constructor(readonly backend: Backend, options: FastEngineOptions = {}) {
    const onDevice = options.sampling === "device";
    if (options.sampling !== undefined && options.sampling !== "workers" && !onDevice) {
      throw new Error(`FastDistillEngine: sampling must be "workers" or "device", got ${JSON.stringify(options.sampling)}`);
    }
    this.sampling = new SamplingPool(onDevice ? 0 : (options.samplingWorkers ?? 2), options.storeNoiseBytes ?? DEFAULT_STORE_NOISE_BYTES);
    if (options.innerPrecision !== undefined && options.innerPrecision !== "float64" && options.innerPrecision !== "float32") {
      throw new Error(`FastDistillEngine: innerPrecision must be "float64" or "float32", got ${JSON.stringify(options.innerPrecision)}`);
    }
    this.float32Inner = onDevice || options.innerPrecision !== "float64";
    this.deviceSampler = onDevice
      ? new DeviceSampler(backend, { chunkEntries: options.deviceChunkEntries, storeNoiseBytes: options.storeNoiseBytes ?? DEFAULT_STORE_NOISE_BYTES })
      : null;
  }

  /** Whether the batch stage keeps its inputs on the device (a GPU backend). */
  private get gpu(): boolean {
    return this.backend.device === "webgpu" || this.backend.device === "cuda";
  }

  /** Stops the sampling workers and frees device memory. */
  async close(): Promise<void> {
    this.deviceSampler?.dispose();
    this.dropResident();
    await this.sampling.close();
  }

  private dropResident(): void {
    if (!this.resident) return;
    for (const b of this.resident.blocks.values()) {
      b.xb.dispose();
      b.nb.dispose();
    }
    this.resident = null;
  }

  /** Block [start, end) of the batch on the device, uploaded on first use (one batch kept at a time). */
  private async residentBlock(batch: DenseBatch, start: number, end: number, items: number): Promise<{ xb: DeviceTensor; nb: DeviceTensor }> {
    if (this.resident?.batch !== batch) {
      this.dropResident();
      this.resident = { batch, blocks: new Map() };
    }
    const key = start * 0x100000 + end;
    let b = this.resident.blocks.get(key);
    if (!b) {
      const rows = end - start;
      b = {
        // A view: the host backends wrap it without copying; a GPU copies it once.
        xb: await this.backend.upload({ data: batch.data.subarray(start * items, end * items), dims: [rows, items] }),
        nb: await this.backend.upload({ data: Float32Array.from(batch.norms.subarray(start, end)), dims: [rows, 1] }),
      };
      this.resident.blocks.set(key, b);
    }
    return b;
  }

  /**
   * Loss (and gradients) of the support X̂ itself; `timings` gets
   * gram/solve/loss/backward. The stages, each a method below:
   *   supportGram → innerSolve → per block of users: blockGram → blockScores →
   *   blockLoss → blockBackward; then (with the gradient) addNormTerm →
   *   solveBackward → supportGramBackward.
   */
  async supportObjective(
    support: Float64Array,
    mu: number,
    items: number,
    batch: DenseBatch,
    cfg: FastStepConfig,
    wantGradient: boolean,
    timings: StepTimings,
  ): Promise<{ loss: number; reconstruction: number; penalty: number; dSupport: Float64Array | null; dTargets: Float64Array | null }> {
    if (support.length !== mu * items) throw new Error(`fastSupportObjective: support has ${support.length} values, expected ${mu}×${items}`);
    if (batch.data.length !== batch.rows * items) throw new Error(`fastSupportObjective: batch has ${batch.data.length} values, expected ${batch.rows}×${items}`);
    if (batch.rows < 1) throw new Error("fastSupportObjective: the batch has no users");
    if (!(cfg.lambda >= 0) || !Number.isFinite(cfg.lambda)) throw new Error(`fastSupportObjective: lambda must be a finite number ≥ 0, got ${cfg.lambda}`);
    const clock = new StageClock(timings);

    const gram = await this.supportGram(support, mu, items, cfg.depth, wantGradient);
    clock.lap("gram");
    const targets = cfg.targets ?? null;
    if (targets && targets.length !== mu * items) throw new Error(`fastSupportObjective: targets have ${targets.length} values, expected ${mu}×${items}`);
    const solve = await this.innerSolve(support, targets ?? support, mu, items, gram.kSS, cfg.lambda);
    clock.lap("solve");

    // Batch stage, in blocks of users.
    let reconstruction = 0;
    const grads = wantGradient ? batchGradients(mu, items) : null;
    const block = Math.max(1, Math.min(cfg.batchBlock, batch.rows));
    if (cfg.loss === "softmax") {
      // The whole batch stage as one graph per block (block-graph.ts).
      const normsS32 = Float32Array.from(gram.normsS);
      // On a GPU X̂ and α cross once per step, not once per block.
      const shared = this.gpu
        ? { s: await this.backend.upload({ data: solve.support32, dims: [mu, items] }), a: await this.backend.upload({ data: solve.alpha32, dims: [mu, items] }) }
        : null;
      try {
        for (let start = 0; start < batch.rows; start += block) {
          const end = Math.min(batch.rows, start + block);
          reconstruction += await this.fusedBlock(grads, batch, start, end, solve, normsS32, mu, items, cfg.depth, shared);
          clock.lap("batch");
        }
      } finally {
        shared?.s.dispose();
        shared?.a.dispose();
      }
    }
    const scores = new Float32Array(cfg.loss === "softmax" ? 0 : block * items);
    for (let start = 0; cfg.loss !== "softmax" && start < batch.rows; start += block) {
      const end = Math.min(batch.rows, start + block);
      const rows = end - start;
      const xB = batch.data.subarray(start * items, end * items);
      const bs = await this.blockGram(xB, rows, batch.norms.subarray(start, end), solve.support32, gram.normsS, mu, items, cfg.depth);
      clock.lap("gram");
      const p = await this.blockScores(bs.k as Float32Array, rows, mu, solve.alpha32, items, scores.subarray(0, rows * items));
      clock.lap("loss");
      const loss = blockLoss(p, xB, rows, items, batch.rows, cfg.loss, wantGradient);
      reconstruction += loss.value;
      clock.lap("loss");
      if (!grads || !loss.dP32) continue;
      await this.blockBackward(grads, bs, xB, rows, mu, items, solve.alpha32, loss.dP32);
      clock.lap("backward");
    }
    const penalty = cardinalityPenalty(support, mu, cfg.lambda2, cfg.interactionsPerUser);
    if (!grads) {
      return { loss: reconstruction + penalty.value, reconstruction, penalty: penalty.value, dSupport: null, dTargets: null };
    }
    addNormTerm(grads.dSupport, grads.gradNormB, support, mu, items);
    const dTargets = targets ? new Float64Array(mu * items) : null;
    const dKss = await this.solveBackward(grads, solve, mu, items, cfg.lambda, dTargets ?? grads.dSupport);
    clock.lap("solve");
    await this.supportGramBackward(grads.dSupport, dKss, gram.partials, support, mu, items, penalty.gradient);
    clock.lap("backward");
    return { loss: reconstruction + penalty.value, reconstruction, penalty: penalty.value, dSupport: grads.dSupport, dTargets };
  }

  /**
   * Users [start, end) of the batch through the fused graph (softmax loss):
   * returns their share of the reconstruction loss and, with `grads`, adds
   * their dα, dX̂ (the K_BS term) and K_BS's row-norm gradient.
   */
  private async fusedBlock(
    grads: BatchGradients | null,
    batch: DenseBatch,
    start: number,
    end: number,
    solve: InnerSolve,
    normsS32: Float32Array,
    mu: number,
    items: number,
    depth: number,
    shared: { s: DeviceTensor; a: DeviceTensor } | null,
  ): Promise<number> {
    const rows = end - start;
    if (shared) return this.fusedBlockOnDevice(grads, batch, start, end, shared, normsS32, mu, items, depth);
    const session = await this.backend.session(blockGraphSpec(depth, grads !== null));
    const feeds = {
      XB: { data: batch.data.subarray(start * items, end * items), dims: [rows, items] },
      S: { data: solve.support32, dims: [mu, items] },
      A: { data: solve.alpha32, dims: [mu, items] },
      NB: { data: Float32Array.from(batch.norms.subarray(start, end)), dims: [rows, 1] },
      NS: { data: normsS32, dims: [1, mu] },
      INV: { data: new Float32Array([1 / batch.rows]), dims: [1] },
    };
    const outputs: Record<string, { data: Float32Array; dims: number[] }> = { ROWLOSS: { data: new Float32Array(rows), dims: [rows] } };
    if (grads) {
      outputs.DA = { data: grads.scratch, dims: [mu, items] };
      outputs.DS = { data: grads.scratch2, dims: [mu, items] };
      outputs.GN = { data: new Float32Array(mu), dims: [mu] };
    }
    await this.backend.run(session, feeds, outputs);
    let loss = 0;
    for (const v of outputs.ROWLOSS.data) loss += v;
    if (grads) {
      const { dAlpha, dSupport, gradNormB, scratch, scratch2 } = grads;
      for (let q = 0; q < scratch.length; q++) {
        dAlpha[q] += scratch[q];
        dSupport[q] += scratch2[q];
      }
      const gn = outputs.GN.data;
      for (let j = 0; j < mu; j++) gradNormB[j] += gn[j];
    }
    return loss / batch.rows;
  }

  /** fusedBlock on a GPU: the block's rows stay on the device between steps; X̂ and α are the step's device copies. */
  private async fusedBlockOnDevice(
    grads: BatchGradients | null,
    batch: DenseBatch,
    start: number,
    end: number,
    shared: { s: DeviceTensor; a: DeviceTensor },
    normsS32: Float32Array,
    mu: number,
    items: number,
    depth: number,
  ): Promise<number> {
    const rows = end - start;
    const { xb, nb } = await this.residentBlock(batch, start, end, items);
    const session = await this.backend.session(blockGraphSpec(depth, grads !== null));
    const out = await this.backend.runDevice(session, {
      XB: xb,
      S: shared.s,
      A: shared.a,
      NB: nb,
      NS: { data: normsS32, dims: [1, mu] },
      INV: { data: new Float32Array([1 / batch.rows]), dims: [1] },
    });
    const host = (name: string): Float32Array => hostOutput(out, name);
    let loss = 0;
    const rowLoss = host("ROWLOSS");
    for (let i = 0; i < rows; i++) loss += rowLoss[i];
    if (grads) {
      const da = host("DA");
      const ds = host("DS");
      const { dAlpha, dSupport, gradNormB } = grads;
      for (let q = 0; q < da.length; q++) {
        dAlpha[q] += da[q];
        dSupport[q] += ds[q];
      }
      const gn = host("GN");
      for (let j = 0; j < mu; j++) gradNormB[j] += gn[j];
    }
    return loss / batch.rows;
  }

  /**
   * Gram stage of the support: K(X̂, X̂) in float64 with its NTK partials (fxx
   * only with the gradient). The norms are the Gemm's own diagonal, so the
   * diagonal sees q/n = 1 exactly.
   */
  private async supportGram(support: Float64Array, mu: number, items: number, depth: number, wantGradient: boolean): Promise<SupportGram> {
    const dotsSS = await runGemm(this.backend, "float64", support, [mu, items], false, support, [mu, items], true, new Float64Array(mu * mu));
    const normsS = new Float64Array(mu);
    for (let i = 0; i < mu; i++) normsS[i] = dotsSS[i * mu + i];
    // K_SS from its upper triangle: the float64 Gemm's X̂X̂ᵀ is exactly symmetric (checked on ML-1M sizes), so this is bit for bit the full evaluation at half the cost.
    const partials = ntkSymmetricGramPartials(dotsSS, mu, normsS, items, depth, wantGradient);
    return { normsS, partials, kSS: partials.k as Float64Array };
  }

  /**
   * Inner solve (float64): A = sym(K_SS) + c·I with c = λ·tr(K_SS)/μ, its
   * explicit inverse and α = A⁻¹Y (Y = X̂ unless targets are learned); also
   * float32 copies of α and X̂ for the batch Gemms.
   */
  private async innerSolve(support: Float64Array, targets: Float64Array, mu: number, items: number, kSS: Float64Array, lambda: number): Promise<InnerSolve> {
    const { a } = ridgedSymmetric(kSS, mu, lambda);
    const aInv = await spdInverseGemm(this.backend, a, mu);
    const alpha = await runGemm(this.backend, "float64", aInv, [mu, mu], false, targets, [mu, items], false, new Float64Array(mu * items));
    return { aInv, alpha, alpha32: toF32(alpha), support32: toF32(support) };
  }

  /** Gram stage of one block of users: K(X_B, X̂) in float32 (dots by a float32 Gemm) with fxy and fyy. */
  private async blockGram(
    xB: Float32Array,
    rows: number,
    normsB: Float64Array,
    support32: Float32Array,
    normsS: Float64Array,
    mu: number,
    items: number,
    depth: number,
  ): Promise<GramPartials> {
    const dotsBS = await runGemm(this.backend, "float32", xB, [rows, items], false, support32, [mu, items], true, new Float32Array(rows * mu));
    return ntkGramPartials(dotsBS, rows, mu, normsB, normsS, items, depth, false, false);
  }

  /** Scores of one block: P = K_BS·α (float32 Gemm) written into `p` (rows × I), which is returned. */
  private async blockScores(kBS: Float32Array, rows: number, mu: number, alpha32: Float32Array, items: number, p: Float32Array): Promise<Float32Array> {
    return runGemm(this.backend, "float32", kBS, [rows, mu], false, alpha32, [mu, items], false, p);
  }

  /**
   * Backward through one block's scores and Gram (float32 Gemms): dα += K_BSᵀ·dP;
   * dK_BS = dP·αᵀ, then G = dK ⊙ f_xy and g_j += Σ_i dK_ij f_yy (the norm
   * term, applied by addNormTerm); dX̂ += Gᵀ·X_B.
   */
  private async blockBackward(
    grads: BatchGradients,
    bs: GramPartials,
    xB: Float32Array,
    rows: number,
    mu: number,
    items: number,
    alpha32: Float32Array,
    dP32: Float32Array,
  ): Promise<void> {
    const { dAlpha, dSupport, gradNormB, scratch } = grads;
    await runGemm(this.backend, "float32", bs.k as Float32Array, [rows, mu], true, dP32, [rows, items], false, scratch);
    for (let q = 0; q < scratch.length; q++) dAlpha[q] += scratch[q];
    const dK = await runGemm(this.backend, "float32", dP32, [rows, items], false, alpha32, [mu, items], true, new Float32Array(rows * mu));
    const fxy = bs.fxy;
    const fyy = bs.fyy;
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < mu; j++) {
        const q = i * mu + j;
        gradNormB[j] += dK[q] * fyy[q];
        dK[q] = dK[q] * fxy[q];
      }
    }
    await runGemm(this.backend, "float32", dK, [rows, mu], true, xB, [rows, items], false, scratch);
    for (let q = 0; q < scratch.length; q++) dSupport[q] += scratch[q];
  }

  /**
   * Solve backward (float64): W = A⁻¹dα, dY += W (dY is dX̂ unless the
   * targets are learned), dA = −Wαᵀ; returns dK_SS = sym(dA) + (λ/μ)·tr(dA)·I.
   */
  private async solveBackward(grads: BatchGradients, solve: InnerSolve, mu: number, items: number, lambda: number, dTargets: Float64Array): Promise<Float64Array> {
    const w = await runGemm(this.backend, "float64", solve.aInv, [mu, mu], false, grads.dAlpha, [mu, items], false, new Float64Array(mu * items));
    for (let q = 0; q < w.length; q++) dTargets[q] += w[q];
    const wAlphaT = await runGemm(this.backend, "float64", w, [mu, items], false, solve.alpha, [mu, items], true, new Float64Array(mu * mu));
    return ridgeAdjoint(wAlphaT, mu, lambda);
  }

  /**
   * Gram backward of K(X̂, X̂) in both arguments (float64), plus the
   * penalty's constant gradient: dX̂ += (G + Gᵀ)·X̂ + 2·diag(h + g)·X̂ + ∂penalty.
   */
  private async supportGramBackward(
    dSupport: Float64Array,
    dKss: Float64Array,
    ss: GramPartials,
    support: Float64Array,
    mu: number,
    items: number,
    penaltyGradient: number,
  ): Promise<void> {
    const { gSS, hg } = gramAdjoint(dKss, ss, mu);
    const gx = await runGemm(this.backend, "float64", gSS, [mu, mu], false, support, [mu, items], false, new Float64Array(mu * items));
    for (let j = 0; j < mu; j++) {
      const h2 = 2 * hg[j];
      for (let i = j * items; i < (j + 1) * items; i++) dSupport[i] += gx[i] + h2 * support[i] + penaltyGradient;
    }
  }

  /**
   * The step's loss and ∂loss/∂X̂ with every μ × I and batch-sized array on the
   * device (device sampling, softmax loss, Y = X̂): X̂ stays where the sampler
   * made it, α = A⁻¹X̂, the batch graph, W = A⁻¹·dα and the assembly of dX̂
   * run there in float32; the host gets and sends μ × μ matrices only: the
   * dots X̂X̂ᵀ (K_SS and its partials in float64 from them), A⁻¹ (float64
   * Cholesky, sent as float32), W·αᵀ and the Gram adjoint G. Returns dX̂ on the
   * device (the caller frees it).
   */
  private async deviceObjective(
    sample: DeviceSample,
    mu: number,
    items: number,
    batch: DenseBatch,
    cfg: FastStepConfig,
    wantGradient: boolean,
    timings: StepTimings,
  ): Promise<{ loss: number; reconstruction: number; penalty: number; dx: DeviceTensor | null }> {
    if (batch.rows < 1) throw new Error("fastSupportObjective: the batch has no users");
    if (!(cfg.lambda >= 0) || !Number.isFinite(cfg.lambda)) throw new Error(`fastSupportObjective: lambda must be a finite number ≥ 0, got ${cfg.lambda}`);
    const be = this.backend;
    const clock = new StageClock(timings);
    const xhat = sample.device;
    const dots = Float64Array.from(hostOutput(await be.runDevice(await be.session(gemmSpec("float32", false, true)), { A: xhat, B: xhat }), "Y"));
    const normsS = new Float64Array(mu);
    for (let i = 0; i < mu; i++) normsS[i] = dots[i * mu + i];
    const partials = ntkSymmetricGramPartials(dots, mu, normsS, items, cfg.depth, wantGradient);
    clock.lap("gram");
    const aInv = await spdInverseGemm(be, ridgedSymmetric(partials.k as Float64Array, mu, cfg.lambda).a, mu);
    const aInv32 = { data: Float32Array.from(aInv), dims: [mu, mu] };
    const product = await be.session(gemmSpec("float32", false, false), { deviceOutputs: true });
    const alpha = deviceOutput(await be.runDevice(product, { A: aInv32, B: xhat }), "Y");
    clock.lap("solve");

    let reconstruction = 0;
    let dAlpha: DeviceTensor | null = null;
    let dS: DeviceTensor | null = null;
    const gradNormB = new Float64Array(mu);
    const normsS32 = Float32Array.from(normsS);
    const blockSession = await be.session(blockGraphSpec(cfg.depth, wantGradient), { deviceOutputs: wantGradient ? ["DA", "DS"] : [] });
    const sum = await be.session(deviceSumSpec(), { deviceOutputs: true });
    const accumulate = async (acc: DeviceTensor | null, part: DeviceTensor): Promise<DeviceTensor> => {
      if (acc === null) return part;
      const next = deviceOutput(await be.runDevice(sum, { A: acc, B: part }), "Y");
      acc.dispose();
      part.dispose();
      return next;
    };
    // On a GPU blocks of up to 2^25 values (ML-1M: all 6040 users at once) cost one run, not several.
    const block = Math.max(1, Math.min(this.gpu ? Math.max(cfg.batchBlock, Math.floor(GPU_BLOCK_ENTRIES / items)) : cfg.batchBlock, batch.rows));
    for (let start = 0; start < batch.rows; start += block) {
      const end = Math.min(batch.rows, start + block);
      const { xb, nb } = await this.residentBlock(batch, start, end, items);
      const out = await be.runDevice(blockSession, {
        XB: xb,
        S: xhat,
        A: alpha,
        NB: nb,
        NS: { data: normsS32, dims: [1, mu] },
        INV: { data: new Float32Array([1 / batch.rows]), dims: [1] },
      });
      const rowLoss = hostOutput(out, "ROWLOSS");
      let blockLoss = 0;
      for (let i = 0; i < end - start; i++) blockLoss += rowLoss[i];
      reconstruction += blockLoss / batch.rows;
      if (wantGradient) {
        dAlpha = await accumulate(dAlpha, deviceOutput(out, "DA"));
        dS = await accumulate(dS, deviceOutput(out, "DS"));
        const gn = hostOutput(out, "GN");
        for (let j = 0; j < mu; j++) gradNormB[j] += gn[j];
      }
    }
    clock.lap("batch");
    const penalty = cardinalityPenaltyOfSum(sample.total, mu, cfg.lambda2, cfg.interactionsPerUser);
    const result = { loss: reconstruction + penalty.value, reconstruction, penalty: penalty.value };
    if (!wantGradient || dAlpha === null || dS === null) {
      alpha.dispose();
      return { ...result, dx: null };
    }
    // Solve backward: W = A⁻¹·dα on the device, W·αᵀ (μ × μ) to the host.
    const w = deviceOutput(await be.runDevice(product, { A: aInv32, B: dAlpha }), "Y");
    dAlpha.dispose();
    const wAlphaT = hostOutput(await be.runDevice(await be.session(gemmSpec("float32", false, true)), { A: w, B: alpha }), "Y");
    alpha.dispose();
    const dKss = ridgeAdjoint(wAlphaT, mu, cfg.lambda);
    clock.lap("solve");
    const { gSS, hg } = gramAdjoint(dKss, partials, mu);
    const c = new Float32Array(mu);
    for (let j = 0; j < mu; j++) c[j] = 2 * (hg[j] + gradNormB[j]);
    const dx = deviceOutput(
      await be.runDevice(await be.session(deviceSupportBackwardSpec(), { deviceOutputs: true }), {
        DS: dS,
        W: w,
        XHAT: xhat,
        GSS: { data: Float32Array.from(gSS), dims: [mu, mu] },
        C: { data: c, dims: [mu, 1] },
        PEN: { data: new Float32Array([penalty.gradient]), dims: [1] },
      }),
      "DX",
    );
    dS.dispose();
    w.dispose();
    clock.lap("backward");
    return { ...result, dx };
  }

  /** Whether `step` takes deviceObjective (softmax loss, Y = X̂, float32 inner products). */
  private onDevicePath(cfg: FastStepConfig): boolean {
    return this.float32Inner && cfg.loss === "softmax" && !cfg.targets;
  }

  /** X̂ for the logits and the noise of `cfg.step` (no loss). */
  async sampleSupport(logits: Float64Array, mu: number, items: number, cfg: FastSampleConfig): Promise<Float64Array> {
    if (this.deviceSampler) return this.deviceSampler.forward(logits, mu, items, cfg);
    return Float64Array.from((await this.sampling.sample(logits, mu, items, cfg)).support);
  }

  /**
   * Loss (and gradient) in the logits L for the noise of `cfg.step`.
   * `onSample` sees X̂ before the loss is computed; returning false cancels
   * the step (the result is then null).
   */
  async step(
    logits: Float64Array,
    mu: number,
    items: number,
    batch: DenseBatch,
    cfg: FastStepConfig,
    wantGradient = true,
    onSample?: (support: Float64Array) => Promise<boolean | void>,
  ): Promise<FastStepResult | null> {
    const timings = emptyStepTimings();
    const sampleCfg: FastSampleConfig = { gamma: cfg.gamma, tau: cfg.tau, seed: cfg.seed, step: cfg.step, duplicateFirstSample: cfg.duplicateFirstSample };
    if (this.onDevicePath(cfg)) return this.deviceStep(logits, mu, items, batch, cfg, sampleCfg, wantGradient, timings, onSample);
    let t = performance.now();
    const support = this.deviceSampler
      ? await this.deviceSampler.forward(logits, mu, items, sampleCfg)
      : Float64Array.from((await this.sampling.sample(logits, mu, items, sampleCfg)).support);
    timings.sampling = (performance.now() - t) / 1000;
    // E.g. validation of X̂ = sample(L, stream t): the candidate the previous step produced.
    if (onSample && (await onSample(support)) === false) return null;
    const inner = await this.supportObjective(support, mu, items, batch, cfg, wantGradient, timings);
    let dLogits: Float64Array | null = null;
    if (inner.dSupport) {
      t = performance.now();
      dLogits = this.deviceSampler ? await this.deviceSampler.backward(inner.dSupport) : await this.sampling.backward(mu, items, sampleCfg, inner.dSupport);
      timings.samplingBackward = (performance.now() - t) / 1000;
    }
    return { ...inner, support, dLogits, timings };
  }

  /**
   * step() through deviceObjective (onDevicePath). With device sampling dX̂
   * never leaves the device (dSupport is null); with sampling workers X̂ is
   * uploaded (free on the CPU backends) and dX̂ downloaded for their backward.
   */
  private async deviceStep(
    logits: Float64Array,
    mu: number,
    items: number,
    batch: DenseBatch,
    cfg: FastStepConfig,
    sampleCfg: FastSampleConfig,
    wantGradient: boolean,
    timings: StepTimings,
    onSample?: (support: Float64Array) => Promise<boolean | void>,
  ): Promise<FastStepResult | null> {
    const sampler = this.deviceSampler;
    let t = performance.now();
    let sample: DeviceSample;
    if (sampler) sample = await sampler.forwardDevice(logits, mu, items, sampleCfg);
    else {
      const sampled = (await this.sampling.sample(logits, mu, items, sampleCfg)).support;
      const support = new Float64Array(sampled.length);
      const x32 = new Float32Array(sampled.length);
      let total = 0;
      for (let i = 0; i < sampled.length; i++) {
        const v = sampled[i];
        support[i] = v;
        x32[i] = v;
        total += v;
      }
      sample = { support, total, device: await this.backend.upload({ data: x32, dims: [mu, items] }) };
    }
    timings.sampling = (performance.now() - t) / 1000;
    try {
      if (onSample && (await onSample(sample.support)) === false) return null;
      const inner = await this.deviceObjective(sample, mu, items, batch, cfg, wantGradient, timings);
      let dLogits: Float64Array | null = null;
      let dSupport: Float64Array | null = null;
      if (inner.dx) {
        t = performance.now();
        try {
          if (sampler) dLogits = await sampler.backwardDevice(inner.dx);
          else {
            dSupport = Float64Array.from((await this.backend.download(inner.dx)) as Float32Array);
            dLogits = await this.sampling.backward(mu, items, sampleCfg, dSupport);
          }
        } finally {
          inner.dx.dispose();
        }
        timings.samplingBackward = (performance.now() - t) / 1000;
      }
      return { loss: inner.loss, reconstruction: inner.reconstruction, penalty: inner.penalty, support: sample.support, dSupport, dLogits, dTargets: null, timings };
    } finally {
      // The sampler owns its X̂; an uploaded one is this step's.
      if (!sampler) sample.device.dispose();
    }
  }
}
