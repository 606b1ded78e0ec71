/**
 * Learned regression targets (KIP-style summaries, issue 14 item 3): the
 * summary is a pair (X̂ rows as inputs, Y as targets), both μ × I.
 *
 * What a model trained on it uses:
 * - ∞-AE (kernel regression) uses both: K_SS = K(X̂, X̂), α = (K_SS +
 *   λ·tr(K_SS)/μ·I)⁻¹·Y, scores K(X_C, X̂)·α — `TargetedInfiniteAE` below,
 *   which DISTILL-CF's validation fits, and what the distillation optimises.
 * - EASE, its relatives and the finite-width models (MF, NeuMF, LightGCN,
 *   Mult-VAE) train on the X̂ rows alone, as users: EASE regresses its inputs
 *   on themselves under a zero diagonal and the autoencoders reconstruct their
 *   inputs, so a target apart from the input has no place in them. `infrec fit
 *   --train-on` reads the summary file (X̂) only; Y goes to a second file.
 *
 * The targets file (format 1), little-endian: magic "INFREC-TARGETS\n\0"
 * (16 bytes), uint32 header length H, H bytes of UTF-8 JSON (TargetsHeader),
 * then μ·I float32 values (row-major). Y is not confined to [0, 1].
 */
import { readFileSync } from "node:fs";
import type { InteractionMatrix } from "../data/matrix.ts";
import type { FitOptions, HyperParameters, Recommender } from "../models/model.ts";
import { ntkDotsWithGrad } from "../ntk/ntk-grad.ts";
import { spdInverseGemm } from "../linalg/spd-inverse.ts";
import { type Backend, getBackend } from "../onnx/backend.ts";
import { type GemmDType, runGemm } from "../onnx/graphs/gemm.ts";
import { crc32 } from "../util/checksum.ts";
import { writeFileAtomic } from "../util/files.ts";

/** Pivot / diagonal ratio below which the float64 factorisation counts as singular (as InfiniteAEFloat64). */
const MIN_PIVOT_RATIO = 1e-13;

export interface TargetedInfiniteAEOptions {
  lambda: number;
  depth: number;
  /** Y (μ × I) for the μ rows the model is fitted on. */
  targets: Float64Array;
  backend?: Backend;
}

/**
 * ∞-AE fitted on inputs X̂ (the training matrix) with separate regression
 * targets Y: α = A⁻¹Y. Float64 solve and scores, like InfiniteAEFloat64.
 */
export class TargetedInfiniteAE implements Recommender {
  readonly name = "inf-ae-targets";
  private backend?: Backend;
  private xs?: Float32Array;
  private normsS?: Float64Array;
  private alpha?: Float64Array;
  private n = 0;
  private items = 0;

  constructor(private readonly options: TargetedInfiniteAEOptions) {
    if (!(options.lambda >= 0) || !Number.isFinite(options.lambda)) throw new Error(`TargetedInfiniteAE: λ must be finite and ≥ 0, got ${options.lambda}`);
    this.backend = options.backend;
  }

  private async gemm<T extends Float32Array | Float64Array>(dtype: GemmDType, a: T, aDims: [number, number], b: T, bDims: [number, number], transB: boolean, out: T): Promise<T> {
    this.backend ??= await getBackend({ device: "cpu" });
    return runGemm(this.backend, dtype, a, aDims, false, b, bDims, transB, out);
  }

  async fit(train: InteractionMatrix, _options: FitOptions = {}): Promise<void> {
    const n = train.numUsers;
    const m = train.numItems;
    const { targets, depth, lambda } = this.options;
    if (targets.length !== n * m) throw new Error(`TargetedInfiniteAE.fit: ${targets.length} targets for ${n}×${m} inputs`);
    const xs = train.denseRows(0, n);
    const x64 = Float64Array.from(xs);
    const dots = await this.gemm("float64", x64, [n, m], x64, [n, m], true, new Float64Array(n * n));
    // Norms from the Gemm's own diagonal, so K's diagonal sees q/n = 1 exactly.
    const norms = new Float64Array(n);
    for (let i = 0; i < n; i++) norms[i] = dots[i * n + i];
    const k = new Float64Array(n * n);
    const res = new Float64Array(4);
    const tape = new Float64Array(4 * depth);
    let trace = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) k[i * n + j] = ntkDotsWithGrad(dots[i * n + j], norms[i], norms[j], m, depth, res, tape)[0];
      trace += k[i * n + i];
    }
    this.backend ??= await getBackend({ device: "cpu" });
    const inv = await spdInverseGemm(this.backend, k, n, { shift: (lambda * trace) / n, minPivotRatio: MIN_PIVOT_RATIO });
    this.alpha = await this.gemm("float64", inv, [n, n], targets, [n, m], false, new Float64Array(n * m));
    this.xs = xs;
    this.normsS = norms;
    this.n = n;
    this.items = m;
  }

  async scoreBlock(context: InteractionMatrix, start: number, end: number, out: Float32Array): Promise<void> {
    if (!this.alpha || !this.xs || !this.normsS) throw new Error("TargetedInfiniteAE.scoreBlock: call fit first");
    const m = this.items;
    if (context.numItems !== m) throw new Error(`TargetedInfiniteAE.scoreBlock: context has ${context.numItems} items, model ${m}`);
    const rows = end - start;
    const n = this.n;
    const depth = this.options.depth;
    const ctx = context.denseRows(start, end);
    const dots = await this.gemm("float32", ctx, [rows, m], this.xs, [n, m], true, new Float32Array(rows * n));
    const kcs = new Float64Array(rows * n);
    const res = new Float64Array(4);
    const tape = new Float64Array(4 * depth);
    for (let r = 0; r < rows; r++) {
      let norm = 0;
      for (let i = r * m; i < (r + 1) * m; i++) norm += ctx[i] * ctx[i];
      for (let j = 0; j < n; j++) kcs[r * n + j] = ntkDotsWithGrad(dots[r * n + j], norm, this.normsS[j], m, depth, res, tape)[0];
    }
    const scores = await this.gemm("float64", kcs, [rows, n], this.alpha, [n, m], false, new Float64Array(rows * m));
    for (let i = 0; i < rows * m; i++) out[i] = scores[i];
  }

  hyperParameters(): HyperParameters {
    return { lambda: this.options.lambda, depth: this.options.depth, targets: "learned" };
  }
}

export const TARGETS_FORMAT_VERSION = 1;
const MAGIC = new TextEncoder().encode("INFREC-TARGETS\n\0");

export interface TargetsHeader {
  formatVersion: number;
  dataset: string;
  mu: number;
  items: number;
  /** The summary file these targets belong to (its rows are the inputs). */
  summary: string;
  /** CRC-32 of the value bytes. */
  checksum: number;
}

/** Writes Y (μ × I) as float32 beside its summary (temp file, then rename). */
export function saveTargets(path: string, header: Omit<TargetsHeader, "formatVersion" | "checksum">, values: ArrayLike<number>): void {
  if (values.length !== header.mu * header.items) throw new Error(`saveTargets: ${values.length} values, expected ${header.mu}×${header.items}`);
  const v = Float32Array.from(values);
  const bytes = new Uint8Array(v.buffer);
  const json = new TextEncoder().encode(JSON.stringify({ ...header, formatVersion: TARGETS_FORMAT_VERSION, checksum: crc32(bytes) }));
  const out = new Uint8Array(MAGIC.length + 4 + json.length + bytes.length);
  out.set(MAGIC, 0);
  new DataView(out.buffer).setUint32(MAGIC.length, json.length, true);
  out.set(json, MAGIC.length + 4);
  out.set(bytes, MAGIC.length + 4 + json.length);
  writeFileAtomic(path, out);
}

export function loadTargets(path: string): { header: TargetsHeader; values: Float32Array } {
  const bytes = readFileSync(path);
  if (bytes.length < MAGIC.length + 4 || MAGIC.some((b, i) => bytes[i] !== b)) throw new Error(`${path}: not an infrec targets file (bad magic)`);
  const h = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(MAGIC.length, true);
  const start = MAGIC.length + 4 + h;
  if (bytes.length < start) throw new Error(`${path}: truncated header`);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(MAGIC.length + 4, start))) as TargetsHeader;
  if (header.formatVersion !== TARGETS_FORMAT_VERSION) throw new Error(`${path}: targets format ${String(header.formatVersion)} is not supported (this build reads ${TARGETS_FORMAT_VERSION})`);
  const expected = 4 * header.mu * header.items;
  if (bytes.length - start !== expected) throw new Error(`${path}: ${bytes.length - start} value bytes, expected ${expected}`);
  const data = new Uint8Array(expected);
  data.set(bytes.subarray(start));
  if (crc32(data) !== header.checksum) throw new Error(`${path}: checksum mismatch: the file is corrupt`);
  return { header, values: new Float32Array(data.buffer) };
}
