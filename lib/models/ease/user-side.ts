/**
 * EASE through the n × n user Gram, for catalogues larger than the user count
 * (Douban: 2,666 users, 34,893 items; an item-side λ took ~22 minutes here).
 *
 * With X the n × m training matrix, K = XXᵀ and M = (K + λI)⁻¹, the Woodbury
 * identity gives P = (XᵀX + λI)⁻¹ = (I − XᵀMX)/λ. With D = MX (one n × m solve):
 *   diag(P)_j = (1 − q_j)/λ,   q_j = Σ_u X_uj·D_uj
 *   c·B = c − (c − (c·Xᵀ)·D) ⊘ (1 − q)        (B = I − P·diag(P)⁻¹, zero diagonal)
 * Exact, not an approximation: one n × n factorisation and one n × m solve per
 * λ instead of an m × m inverse, and scoring costs 2·n·m per user instead of m².
 */
import type { InteractionMatrix } from "../../data/matrix.ts";
import type { Backend } from "../../onnx/backend.ts";
import { DEFAULT_MAX_RESIDUAL, SpdSolver } from "../../linalg/spd-solver.ts";
import { type FitScratch, ScratchSlot } from "../scratch.ts";
import { timed, type Timings } from "../timings.ts";

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
  /** X dense, n × m (the support the scores are expressed through). */
  support: Float32Array;
  /** K = XXᵀ, n × n. */
  gram: Float32Array;
  solver: SpdSolver;
}

/** X and XXᵀ of one training matrix, shared across a λ grid. */
const USER_GRAM_SLOT = new ScratchSlot<UserGramState>("ease:user-gram");

/** What scoring needs for one λ: the support X, D = (K + λI)⁻¹X and 1/(1 − q). */
export interface UserSideWeights {
  numUsers: number;
  numItems: number;
  support: Float32Array;
  solved: Float32Array;
  /** 1 / (1 − q_j) = 1 / (λ·P_jj), float64. */
  inverseDiagonal: Float64Array;
}

export async function fitUserSide(
  train: InteractionMatrix,
  lambda: number,
  backend: Backend,
  options: { scratch?: FitScratch; timings?: Timings; onProgress?: (fraction: number, phase: string) => void } = {},
): Promise<UserSideWeights> {
  const n = train.numUsers;
  const m = train.numItems;
  let state = options.scratch?.get(USER_GRAM_SLOT, "");
  if (!state || state.train !== train) {
    const support = train.denseRows(0, n);
    const gram = await timed(options.timings, "gram", () => backend.matmul(support, [n, m], support, [n, m], { transB: true }));
    state = { train, support, gram, solver: new SpdSolver(backend) };
    options.scratch?.set(USER_GRAM_SLOT, "", state);
  }
  options.onProgress?.(0.2, "gram");
  const st = state;
  const factor = await timed(options.timings, "factor", () => st.solver.factor(st.gram, n, lambda));
  options.onProgress?.(0.4, "factor");
  const solved = await timed(options.timings, "solve", () => factor.solve(st.support, m, undefined, { maxResidual: DEFAULT_MAX_RESIDUAL }));
  options.onProgress?.(0.9, "solve");
  const q = new Float64Array(m);
  const x = st.support;
  for (let u = 0; u < n; u++) {
    // Only the user's interactions contribute to q (X is sparse).
    const items = train.rowItems(u);
    const row = u * m;
    for (let a = 0; a < items.length; a++) q[items[a]] += x[row + items[a]] * solved[row + items[a]];
  }
  const inverseDiagonal = new Float64Array(m);
  for (let j = 0; j < m; j++) {
    const pjj = 1 - q[j]; // λ·P_jj ∈ (0, 1]: P is positive definite
    if (!(pjj > 0)) throw new Error(`EASE (user side): λ·P_jj = ${pjj} for item ${j} at λ = ${lambda}; the solve lost precision — use side "items" or a larger λ`);
    inverseDiagonal[j] = 1 / pjj;
  }
  return { numUsers: n, numItems: m, support: x, solved, inverseDiagonal };
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
  const cx = await backend.matmul(c, [rows, m], w.support, [n, m], { transB: true });
  const t = out.subarray(0, rows * m);
  await backend.matmul(cx, [rows, n], w.solved, [n, m], { out: t });
  const inv = w.inverseDiagonal;
  for (let r = 0; r < rows; r++) {
    const o = r * m;
    for (let j = 0; j < m; j++) t[o + j] = c[o + j] - (c[o + j] - t[o + j]) * inv[j];
  }
}
