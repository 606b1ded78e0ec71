/**
 * EASE (Steck, WWW 2019) and its closed-form relatives on the same solve:
 *   P = (G + Λ)⁻¹,  G = XᵀX,  Λ = λI + p/(1−p)·diag(G)
 *   B = I − P·diag(γ),  γ_j = max(Λ_jj, (1 − ξ)/P_jj)
 *   scores = X_C · B
 * - EASE: p = 0, ξ = 0 (zero diagonal: B_ij = −P_ij / P_jj).
 * - EDLAE (Steck, "Autoencoders that don't overfit towards the Identity",
 *   NeurIPS 2020): dropout p emphasised, zero diagonal (ξ = 0). DLAE: ξ = 1,
 *   i.e. B = P·G (no diagonal constraint).
 * - RLAE / RDLAE (Moon, Kim, Lee, "It's Enough: Relaxing Diagonal Constraints
 *   in Linear Autoencoders for Recommendation", SIGIR 2023): diag(B) ≤ ξ; the
 *   KKT conditions give γ_j above (the bound binds where 1 − Λ_jj·P_jj > ξ).
 * - DAN (Park et al., SIGIR 2025): user weights n_u^(−β) inside the Gram and
 *   B → diag(s)·B·diag(s)⁻¹, s_j = n_j^(1−α), after the solve (closed-form.ts).
 * The inverse runs on the same ONNX Cholesky path as ∞-AE. With fewer users
 * than items the same B is reached through the user Gram (user-side.ts),
 * never forming the m × m inverse.
 */
import type { InteractionMatrix } from "../../data/matrix.ts";
import { type Backend, type DeviceRequest, getBackend } from "../../onnx/backend.ts";
import { DEFAULT_MAX_RESIDUAL, restoreKernel, SpdSolver } from "../../linalg/spd-solver.ts";
import { type ItemGramOptions, sparseItemGram } from "../../linalg/item-gram.ts";
import type { FitOptions, HyperParameters, Recommender } from "../model.ts";
import { type FitScratch, ScratchSlot } from "../scratch.ts";
import type { RankedBlock, RankRequest } from "../../ranking/ranked-block.ts";
import { DeviceEASE } from "./device-engine.ts";
import { timed, type Timings } from "../timings.ts";
import { diagonalWeights, itemScales, itemSquareSums, ridgeDiagonal, scaleRows, userRowScales } from "./closed-form.ts";
import { type EASESide, fitUserSide, resolveSide, scoreUserSide, type UserSideWeights } from "./user-side.ts";

export interface EASEOptions {
  /** L2 strength λ added to the diagonal of XᵀX. */
  lambda: number;
  /** Emphasised dropout probability p ∈ [0, 1): adds p/(1−p)·diag(G) to Λ (EDLAE, DLAE; default 0). */
  dropout?: number;
  /** Upper bound ξ ∈ [0, 1] on diag(B) (default 0: EASE's zero diagonal; 1: unconstrained, DLAE). */
  diagonalBound?: number;
  /** DAN's user normalisation β ≥ 0: user u weighs n_u^(−β) in the Gram (default 0: none). */
  userExponent?: number;
  /** DAN's item normalisation α ∈ [0, 1]: B → diag(s)·B·diag(s)⁻¹, s_j = n_j^(1−α) (default 1: none). */
  itemExponent?: number;
  /** The model's name in reports (default "ease"; the registry names the family's members). */
  name?: string;
  device?: DeviceRequest;
  backend?: Backend;
  /** Scratch shared by one grid search: XᵀX is computed once for every λ. */
  scratch?: FitScratch;
  /** Seconds per phase (gram, factor, inverse, weights, score) are added here. */
  timings?: Timings;
  /** "host", "device" (device-resident, the λ grid batched; device-engine.ts) or "auto": device on webgpu/cuda. */
  engine?: "auto" | "host" | "device";
  /** The other λ of the grid, fitted in the same batch by the device engine. */
  lambdaBatch?: readonly number[];
  /** Item Gram or user Gram (Woodbury; default "auto": the smaller). The device engine is item-side. */
  side?: EASESide;
}

interface GramState {
  train: InteractionMatrix;
  /** DAN's β the Gram was weighted with (one Gram kept at a time; grids are β-major). */
  userExponent: number;
  g: Float32Array;
  solver: SpdSolver;
}

/** XᵀX of one training matrix, shared across a λ grid. */
const GRAM_SLOT = new ScratchSlot<GramState>("ease:gram");

/**
 * XᵀX (items × items) of a sparse matrix. Sparse outer products when the
 * rows are short (Σ nnz² small; lib/linalg/item-gram.ts, on workers when
 * large), a dense ORT product otherwise (summaries).
 */
export async function itemGram(x: InteractionMatrix, backend: Backend, options: ItemGramOptions = {}): Promise<Float32Array> {
  const m = x.numItems;
  let pairs = 0;
  for (let u = 0; u < x.numUsers; u++) pairs += x.rowNnz(u) ** 2;
  // ~1 ns per sparse update against ~1e11 flop/s for the dense product.
  if (pairs * 1e-9 < (2 * x.numUsers * m * m) / 1e11) return sparseItemGram(x, options);
  // Dense: Xᵀ·X in blocks of users, accumulated.
  const g = new Float32Array(m * m);
  const block = Math.max(1, Math.floor((1 << 24) / m));
  // One block (a summary's few hundred rows) is written straight into G: no second m × m array.
  const part = x.numUsers > block ? new Float32Array(m * m) : g;
  for (let u0 = 0; u0 < x.numUsers; u0 += block) {
    const u1 = Math.min(x.numUsers, u0 + block);
    const rows = x.denseRows(u0, u1);
    const xt = transpose(rows, u1 - u0, m);
    await backend.matmul(xt, [m, u1 - u0], rows, [u1 - u0, m], { out: part });
    if (part !== g) for (let i = 0; i < g.length; i++) g[i] += part[i];
  }
  return g;
}

function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c];
  return t;
}

export class EASE implements Recommender {
  readonly name: string;
  readonly lambda: number;
  readonly dropout: number;
  readonly diagonalBound: number;
  readonly userExponent: number;
  readonly itemExponent: number;
  private backend?: Backend;
  private weights?: Float32Array;
  private userSide?: UserSideWeights;
  private numItems = 0;
  private device?: DeviceEASE;

  constructor(private readonly options: EASEOptions) {
    if (!Number.isFinite(options.lambda) || options.lambda <= 0) throw new Error(`EASE: λ must be finite and > 0, got ${options.lambda}`);
    const p = options.dropout ?? 0;
    if (!(p >= 0 && p < 1)) throw new Error(`EASE: dropout p must be in [0, 1), got ${options.dropout}`);
    const xi = options.diagonalBound ?? 0;
    if (!(xi >= 0 && xi <= 1)) throw new Error(`EASE: the diagonal bound ξ must be in [0, 1], got ${options.diagonalBound}`);
    const beta = options.userExponent ?? 0;
    if (!(beta >= 0 && Number.isFinite(beta))) throw new Error(`EASE: the user exponent β must be finite and ≥ 0, got ${options.userExponent}`);
    const alpha = options.itemExponent ?? 1;
    if (!(alpha >= 0 && alpha <= 1)) throw new Error(`EASE: the item exponent α must be in [0, 1], got ${options.itemExponent}`);
    this.userExponent = beta;
    this.itemExponent = alpha;
    this.lambda = options.lambda;
    this.dropout = p;
    this.diagonalBound = xi;
    this.name = options.name ?? "ease";
    this.backend = options.backend;
  }

  /** The plain EASE closed form (the device engine implements only this one). */
  private isPlainEASE(): boolean {
    return this.dropout === 0 && this.diagonalBound === 0 && this.userExponent === 0 && this.itemExponent === 1;
  }

  private async getBackend(): Promise<Backend> {
    this.backend ??= await getBackend({ device: this.options.device ?? "cpu" });
    return this.backend;
  }

  async fit(train: InteractionMatrix, options: FitOptions = {}): Promise<void> {
    if (train.nnz === 0) throw new Error("EASE.fit: the training matrix has no interactions");
    const backend = await this.getBackend();
    const m = train.numItems;
    this.device?.dispose();
    this.device = undefined;
    this.userSide = undefined;
    const side = resolveSide(this.options.side ?? "auto", train.numUsers, m);
    const engine = this.options.engine ?? "auto";
    if (engine !== "auto" && engine !== "host" && engine !== "device") throw new Error(`EASE: engine must be auto, host or device, got '${String(engine)}'`);
    if (engine === "device" && !this.isPlainEASE()) throw new Error(`${this.name}: the device engine implements plain EASE only (no dropout, diagonal bound or normalisation); use --engine host`);
    if (this.isPlainEASE() && (engine === "device" || (engine === "auto" && (backend.device === "webgpu" || backend.device === "cuda")))) {
      this.weights = undefined;
      this.device = await DeviceEASE.fit({
        backend, train, lambda: this.lambda, lambdaBatch: this.options.lambdaBatch, scratch: this.options.scratch,
        maxResidual: DEFAULT_MAX_RESIDUAL, timings: this.options.timings,
      });
      this.numItems = m;
      options.onProgress?.(1, "weights");
      return;
    }
    if (side === "users") {
      this.weights = undefined;
      this.userSide = await fitUserSide(train, {
        lambda: this.lambda, dropout: this.dropout, diagonalBound: this.diagonalBound, userExponent: this.userExponent, itemExponent: this.itemExponent,
      }, backend, {
        scratch: this.options.scratch, timings: this.options.timings, onProgress: options.onProgress,
      });
      this.numItems = m;
      options.onProgress?.(1, "weights");
      return;
    }
    let state = this.options.scratch?.get(GRAM_SLOT, "");
    if (!state || state.train !== train || state.userExponent !== this.userExponent) {
      if (state) state.g = new Float32Array(0); // the old Gram goes before the new one is allocated
      const weighted = this.userExponent === 0 ? train : scaleRows(train, userRowScales(train, this.userExponent));
      state = { train, userExponent: this.userExponent, g: await timed(this.options.timings, "gram", () => itemGram(weighted, backend, { onProgress: (f) => options.onProgress?.(0.2 * f, "gram") })), solver: state?.solver ?? new SpdSolver(backend) };
      this.options.scratch?.set(GRAM_SLOT, "", state);
    }
    options.onProgress?.(0.2, "gram");
    // (G + λI)⁻¹ as the solve of (G + λI)·P = I in place; L is written over G's
    // lower triangle (SpdSolver.factorInPlace) so only G and P are item × item.
    const st = state;
    const ridge = ridgeDiagonal(itemSquareSums(train), this.lambda, this.dropout);
    // Λ is not a multiple of I: the solver adds λ, the dropout term goes onto G's
    // diagonal in place for this fit (restored exactly after) rather than into an m × m copy.
    const g = st.g;
    const savedDiagonal = this.dropout > 0 ? Float32Array.from({ length: m }, (_, j) => g[j * m + j]) : undefined;
    if (savedDiagonal) for (let j = 0; j < m; j++) g[j * m + j] += ridge[j] - this.lambda;
    let p: Float32Array;
    try {
      const factor = await timed(this.options.timings, "factor", () => st.solver.factorInPlace(g, m, this.lambda));
      options.onProgress?.(0.5, "factor");
      this.weights = undefined; // a refit's old weights can go before P is allocated
      // P starts as I and is solved in place: no identity or solution blocks beside G and P.
      p = new Float32Array(m * m);
      for (let j = 0; j < m; j++) p[j * m + j] = 1;
      const inverse = p;
      await timed(this.options.timings, "inverse", () => factor.solve(inverse, m, inverse, { maxResidual: DEFAULT_MAX_RESIDUAL }));
      options.onProgress?.(0.95, "inverse");
    } finally {
      restoreKernel(g); // G whole again (with this fit's dropout diagonal, undone next)
      if (savedDiagonal) for (let j = 0; j < m; j++) g[j * m + j] = savedDiagonal[j];
    }
    // B = I − P·diag(γ), written over P (EASE: B_ij = −P_ij / P_jj, zero diagonal).
    const gamma = diagonalWeights(ridge, Float64Array.from({ length: m }, (_, j) => p[j * m + j]), this.diagonalBound);
    for (let i = 0; i < m; i++) {
      const row = i * m;
      for (let j = 0; j < m; j++) p[row + j] = (i === j ? 1 : 0) - p[row + j] * gamma[j];
    }
    if (this.diagonalBound === 0) for (let j = 0; j < m; j++) p[j * m + j] = 0; // exactly, not 1 − P_jj/P_jj
    if (this.itemExponent !== 1) {
      // DAN: B_ij · s_i / s_j.
      const sc = itemScales(train, this.itemExponent);
      for (let i = 0; i < m; i++) {
        const row = i * m;
        for (let j = 0; j < m; j++) p[row + j] *= sc[i] / sc[j];
      }
    }
    this.weights = p;
    this.numItems = m;
    options.onProgress?.(1, "weights");
  }

  /** Ranks on the device engine (only k indices per user come back); null on the host engine. */
  ranksOnDevice(): boolean {
    return this.device !== undefined;
  }

  async rankBlock(request: RankRequest): Promise<RankedBlock | null> {
    return this.device ? this.device.rankBlock(request) : null;
  }

  async scoreBlock(context: InteractionMatrix, start: number, end: number, out: Float32Array): Promise<void> {
    if (this.device) return this.device.scoreBlock(context, start, end, out);
    if (this.userSide) {
      if (context.numItems !== this.numItems) throw new Error(`EASE.scoreBlock: context has ${context.numItems} items, model ${this.numItems}`);
      const w = this.userSide;
      return timed(this.options.timings, "score", async () => scoreUserSide(w, context, start, end, out, await this.getBackend()));
    }
    const b = this.weights;
    if (!b) throw new Error("EASE.scoreBlock: call fit first");
    const m = this.numItems;
    if (context.numItems !== m) throw new Error(`EASE.scoreBlock: context has ${context.numItems} items, model ${m}`);
    const rows = end - start;
    const backend = await this.getBackend();
    await timed(this.options.timings, "score", () =>
      backend.matmul(context.denseRows(start, end), [rows, m], b, [m, m], { out: out.subarray(0, rows * m) })
    );
  }

  hyperParameters(): HyperParameters {
    if (this.isPlainEASE()) return { lambda: this.lambda };
    const out: HyperParameters = { lambda: this.lambda, dropout: this.dropout, xi: this.diagonalBound };
    if (this.userExponent !== 0 || this.itemExponent !== 1) Object.assign(out, { alpha: this.itemExponent, beta: this.userExponent });
    return out;
  }

  /** Drops the item × item weights (a grid search disposes the candidates it does not keep). */
  dispose(): void {
    this.weights = undefined;
    this.userSide = undefined;
    this.device?.dispose();
    this.device = undefined;
  }
}
