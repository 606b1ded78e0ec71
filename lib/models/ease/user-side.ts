/**
 * The EASE family (model.ts) through the n × n user Gram, for catalogues larger
 * than the user count (Douban: 2,666 users, 34,893 items; an item-side λ took
 * ~22 minutes here).
 *
 * With X the n × m training matrix and Λ diagonal, the Woodbury identity gives
 *   P = (XᵀX + Λ)⁻¹ = Λ⁻¹ − Λ⁻¹Xᵀ(I + XΛ⁻¹Xᵀ)⁻¹XΛ⁻¹.
 * With D = (XΛ⁻¹Xᵀ + I)⁻¹·XΛ⁻¹ (one n × n factor, one n × m solve):
 *   P_jj = (1 − q_j)/Λ_jj,   q_j = Σ_u X_uj·D_uj
 *   (c·P)_j = c_j/Λ_jj − ((c ⊘ Λ)·Xᵀ·D)_j,   c·B = c − (c·P) ⊙ γ
 * DAN's user weights scale X's rows (X̂ = diag(n_u^(−β/2))·X stands for X above);
 * its item scales wrap the scores: c·B' = ((c ⊙ s)·B) ⊘ s.
 * Exact, not an approximation. For Λ = λI (no dropout) D = (XXᵀ + λI)⁻¹X, so the
 * plain Gram XXᵀ is shared by the whole λ grid; scoring costs 2·n·m per user
 * instead of m².
 */
import type { InteractionMatrix } from "../../data/matrix.ts";
import type { Backend } from "../../onnx/backend.ts";
import { DEFAULT_MAX_RESIDUAL, restoreKernel, SpdSolver } from "../../linalg/spd-solver.ts";
import { type FitScratch, ScratchSlot } from "../scratch.ts";
import { timed, type Timings } from "../timings.ts";
import { diagonalWeights, itemScales, itemSquareSums, ridgeDiagonal, scaleRows, userRowScales } from "./closed-form.ts";

/** Which Gram EASE inverts: the m × m item Gram or, through Woodbury, the n × n user Gram. */
export type EASESide = "auto" | "items" | "users";

/** "auto": the user Gram when there are fewer users than items (n³ + n²m against m³ flops). */
export function resolveSide(side: EASESide, numUsers: number, numItems: number): "items" | "users" {
  if (side !== "auto" && side !== "items" && side !== "users") throw new Error(`EASE: side must be auto, items or users, got '${String(side)}'`);
  if (side !== "auto") return side;
  return numUsers < numItems ? "users" : "items";
}

interface UserGramState {
  train: InteractionMatrix;
  userExponent: number;
  /** X dense, n × m (the support the scores are expressed through). */
  support: Float32Array;
  /** K = XXᵀ, n × n. */
  gram: Float32Array;
  solver: SpdSolver;
}

/** X and XXᵀ of one training matrix, shared across a λ grid. */
const USER_GRAM_SLOT = new ScratchSlot<UserGramState>("ease:user-gram");

/** What scoring needs for one fit: the support X, D, 1/Λ and γ. */
export interface UserSideWeights {
  numUsers: number;
  numItems: number;
  support: Float32Array;
  /** D = (XΛ⁻¹Xᵀ + I)⁻¹·XΛ⁻¹, n × m. */
  solved: Float32Array;
  /** 1/Λ_jj, float32 (it scales context rows before a float32 product). */
  inverseRidge: Float32Array;
  /** γ_j of B = I − P·diag(γ), float64. */
  gamma: Float64Array;
  /** DAN's s_j = n_j^(1−α) (undefined: α = 1). */
  itemScales?: Float32Array;
}

export interface UserSideParameters {
  lambda: number;
  dropout: number;
  diagonalBound: number;
  userExponent: number;
  itemExponent: number;
}

export async function fitUserSide(
  train: InteractionMatrix,
  params: UserSideParameters,
  backend: Backend,
  options: { scratch?: FitScratch; timings?: Timings; onProgress?: (fraction: number, phase: string) => void } = {},
): Promise<UserSideWeights> {
  const n = train.numUsers;
  const m = train.numItems;
  let state = options.scratch?.get(USER_GRAM_SLOT, "");
  if (!state || state.train !== train || state.userExponent !== params.userExponent) {
    const weighted = params.userExponent === 0 ? train : scaleRows(train, userRowScales(train, params.userExponent));
    const support = weighted.denseRows(0, n);
    const gram = await timed(options.timings, "gram", () => backend.matmul(support, [n, m], support, [n, m], { transB: true }));
    state = { train, userExponent: params.userExponent, support, gram, solver: new SpdSolver(backend) };
    options.scratch?.set(USER_GRAM_SLOT, "", state);
  }
  options.onProgress?.(0.2, "gram");
  const st = state;
  const x = st.support;
  const ridge = ridgeDiagonal(itemSquareSums(train), params.lambda, params.dropout);
  const inverseRidge = Float32Array.from(ridge, (v) => 1 / v);
  let solved: Float32Array;
  if (params.dropout === 0) {
    // Λ = λI: D = (XXᵀ + λI)⁻¹X with the grid's shared Gram, factored over itself
    // (SpdSolver.factorInPlace) and whole again for the next λ.
    try {
      const factor = await timed(options.timings, "factor", () => st.solver.factorInPlace(st.gram, n, params.lambda));
      options.onProgress?.(0.4, "factor");
      solved = await timed(options.timings, "solve", () => factor.solve(x, m, undefined, { maxResidual: DEFAULT_MAX_RESIDUAL }));
    } finally {
      restoreKernel(st.gram);
    }
  } else {
    // Λ varies per item: the Gram of XΛ^(−1/2) and a shift of 1, for this (λ, p) only.
    const scaled = new Float32Array(n * m);
    const root = inverseRidge.map(Math.sqrt);
    for (let u = 0; u < n; u++) for (let j = 0; j < m; j++) scaled[u * m + j] = x[u * m + j] * root[j];
    const gram = await timed(options.timings, "gram", () => backend.matmul(scaled, [n, m], scaled, [n, m], { transB: true }));
    for (let u = 0; u < n; u++) for (let j = 0; j < m; j++) scaled[u * m + j] = x[u * m + j] * inverseRidge[j];
    const factor = await timed(options.timings, "factor", () => st.solver.factorInPlace(gram, n, 1)); // this fit's own Gram
    options.onProgress?.(0.4, "factor");
    solved = await timed(options.timings, "solve", () => factor.solve(scaled, m, undefined, { maxResidual: DEFAULT_MAX_RESIDUAL }));
  }
  options.onProgress?.(0.9, "solve");
  const q = new Float64Array(m);
  for (let u = 0; u < n; u++) {
    // Only the user's interactions contribute to q (X is sparse).
    const items = train.rowItems(u);
    const row = u * m;
    for (let a = 0; a < items.length; a++) q[items[a]] += x[row + items[a]] * solved[row + items[a]];
  }
  const pDiagonal = new Float64Array(m);
  for (let j = 0; j < m; j++) {
    const scaled = 1 - q[j]; // Λ_jj·P_jj ∈ (0, 1]: P is positive definite
    if (!(scaled > 0)) throw new Error(`EASE (user side): Λ·P_jj = ${scaled} for item ${j} at λ = ${params.lambda}; the solve lost precision — use side "items" or a larger λ`);
    pDiagonal[j] = scaled / ridge[j];
  }
  const gamma = diagonalWeights(ridge, pDiagonal, params.diagonalBound);
  const scales = params.itemExponent === 1 ? undefined : Float32Array.from(itemScales(train, params.itemExponent));
  return { numUsers: n, numItems: m, support: x, solved, inverseRidge, gamma, itemScales: scales };
}

/** Scores c·B for context rows [start, end) into `out` ((end − start) × m). */
export async function scoreUserSide(
  w: UserSideWeights,
  context: InteractionMatrix,
  start: number,
  end: number,
  out: Float32Array,
  backend: Backend,
): Promise<void> {
  const { numUsers: n, numItems: m } = w;
  const rows = end - start;
  const c = context.denseRows(start, end);
  const sc = w.itemScales;
  if (sc) for (let r = 0; r < rows; r++) for (let j = 0; j < m; j++) c[r * m + j] *= sc[j];
  const scaled = new Float32Array(rows * m);
  for (let r = 0; r < rows; r++) for (let j = 0; j < m; j++) scaled[r * m + j] = c[r * m + j] * w.inverseRidge[j];
  const cx = await backend.matmul(scaled, [rows, m], w.support, [n, m], { transB: true });
  const t = out.subarray(0, rows * m);
  await backend.matmul(cx, [rows, n], w.solved, [n, m], { out: t });
  const gamma = w.gamma;
  for (let r = 0; r < rows; r++) {
    const o = r * m;
    // (c·P)_j = c_j/Λ_jj − t_j; c·B = c − (c·P) ⊙ γ.
    for (let j = 0; j < m; j++) t[o + j] = c[o + j] - (scaled[o + j] - t[o + j]) * gamma[j];
    if (sc) for (let j = 0; j < m; j++) t[o + j] /= sc[j];
  }
}
