/**
 * Top-k eigenpairs of a symmetric positive semi-definite matrix, and the
 * truncated SVD built on them, by randomized subspace iteration (Halko,
 * Martinsson, Tropp, "Finding Structure with Randomness", SIAM Review 2011:
 * the randomized range finder with power iterations, Alg. 4.4, then the
 * Rayleigh–Ritz step of Alg. 5.3):
 *   Q ← orth(Ω),  Q ← orth(G·Q) `iterations` times,  T = QᵀGQ = W Θ Wᵀ,
 *   eigenvectors ≈ Q·W (first k columns), eigenvalues ≈ Θ.
 * The n × n products run on the ONNX backend (float32); the QR of the n × l
 * block runs here in float64 (Householder), the l × l eigenproblem on ml-matrix.
 *
 * The right singular vectors of A are the eigenvectors of AᵀA and σ² its
 * eigenvalues, so the graph-filter models (GF-CF, SVD-AE) decompose the item
 * Gram they form anyway; `truncatedSvd` does the same for a dense matrix.
 */
import { EigenvalueDecomposition, Matrix } from "ml-matrix";
import type { Backend } from "../onnx/backend.ts";
import { Rng } from "../random.ts";

export interface SubspaceIterationOptions {
  /** Extra columns beyond k in the iterated block (default 16): they speed convergence of the k-th pair. */
  oversample?: number;
  /** Multiplications by G after the random start (default 4). */
  iterations?: number;
  /** Seed of the Gaussian start (default 0). */
  seed?: number;
}

export interface Eigenpairs {
  /** The k largest eigenvalues, in decreasing order. */
  values: Float64Array;
  /** The matching eigenvectors, n × k row-major (column j belongs to values[j]). */
  vectors: Float32Array;
  n: number;
  k: number;
}

export interface TruncatedSvd {
  /** The k largest singular values, decreasing. */
  singularValues: Float64Array;
  /** Left singular vectors, rows × k row-major (zero columns where σ = 0). */
  left: Float32Array;
  /** Right singular vectors, cols × k row-major. */
  right: Float32Array;
  k: number;
}

function gaussian(rng: Rng): number {
  // Box–Muller; 1 − u keeps the logarithm finite.
  return Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
}

/**
 * An orthonormal basis of the columns of y (n × l), as n × l float32: thin
 * Householder QR in float64 on contiguous columns. Written here because
 * ml-matrix's QrDecomposition, element by element through get/set, took 28 s
 * for 3706 × 272 (ML-1M's item count) on this machine; this loop takes about 1 s.
 * Householder keeps Q orthonormal even where y is rank-deficient.
 */
function orthonormalize(y: Float32Array, n: number, l: number): Float32Array {
  const cols: Float64Array[] = Array.from({ length: l }, (_, c) => {
    const col = new Float64Array(n);
    for (let r = 0; r < n; r++) col[r] = y[r * l + c];
    return col;
  });
  const reflectors: (Float64Array | null)[] = [];
  for (let j = 0; j < l; j++) {
    const x = cols[j];
    let norm = 0;
    for (let r = j; r < n; r++) norm += x[r] * x[r];
    norm = Math.sqrt(norm);
    // v = x − α e_j with α = −sign(x_j)‖x‖ (no cancellation), then v/‖v‖.
    const alpha = x[j] >= 0 ? -norm : norm;
    const v = new Float64Array(n);
    let vv = 0;
    for (let r = j; r < n; r++) v[r] = x[r];
    v[j] -= alpha;
    for (let r = j; r < n; r++) vv += v[r] * v[r];
    if (vv === 0) {
      reflectors.push(null);
      continue;
    }
    const inv = 1 / Math.sqrt(vv);
    for (let r = j; r < n; r++) v[r] *= inv;
    reflectors.push(v);
    for (let c = j + 1; c < l; c++) applyReflector(v, cols[c], j, n);
  }
  // Q = H_0 ⋯ H_{l−1} applied to the first l unit vectors, last reflector first.
  const q: Float64Array[] = Array.from({ length: l }, (_, c) => {
    const e = new Float64Array(n);
    e[c] = 1;
    return e;
  });
  for (let j = l - 1; j >= 0; j--) {
    const v = reflectors[j];
    if (v) for (let c = j; c < l; c++) applyReflector(v, q[c], j, n);
  }
  const out = new Float32Array(n * l);
  for (let c = 0; c < l; c++) {
    const col = q[c];
    for (let r = 0; r < n; r++) out[r * l + c] = col[r];
  }
  return out;
}

/** x ← (I − 2vvᵀ)x on rows from..n−1 (v is zero above `from`). */
function applyReflector(v: Float64Array, x: Float64Array, from: number, n: number): void {
  let dot = 0;
  for (let r = from; r < n; r++) dot += v[r] * x[r];
  dot *= 2;
  if (dot === 0) return;
  for (let r = from; r < n; r++) x[r] -= dot * v[r];
}

function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c];
  return t;
}

/**
 * The k largest eigenpairs of a symmetric PSD matrix g (n × n, row-major).
 * With k + oversample ≥ n the block spans everything and the result is exact
 * up to float32 rounding; otherwise it converges like (θ_{l+1}/θ_k)^iterations.
 */
export async function topEigenpairs(
  g: Float32Array, n: number, k: number, backend: Backend, options: SubspaceIterationOptions = {},
): Promise<Eigenpairs> {
  if (g.length !== n * n) throw new Error(`topEigenpairs: ${g.length} values for a ${n} × ${n} matrix`);
  if (!Number.isInteger(k) || k < 1 || k > n) throw new Error(`topEigenpairs: k must be an integer in 1..${n}, got ${k}`);
  const oversample = options.oversample ?? 16;
  const iterations = options.iterations ?? 4;
  if (!Number.isInteger(oversample) || oversample < 0) throw new Error(`topEigenpairs: oversample must be a non-negative integer, got ${oversample}`);
  if (!Number.isInteger(iterations) || iterations < 0) throw new Error(`topEigenpairs: iterations must be a non-negative integer, got ${iterations}`);
  const l = Math.min(n, k + oversample);
  const rng = new Rng(options.seed ?? 0);
  const start = new Float32Array(n * l);
  for (let i = 0; i < start.length; i++) start[i] = gaussian(rng);
  let q = orthonormalize(start, n, l);
  const y = new Float32Array(n * l);
  for (let t = 0; t < iterations; t++) {
    await backend.matmul(g, [n, n], q, [n, l], { out: y });
    q = orthonormalize(y, n, l);
  }
  // Rayleigh–Ritz: T = Qᵀ(GQ), symmetrised in float64 against rounding.
  await backend.matmul(g, [n, n], q, [n, l], { out: y });
  const tq = await backend.matmul(transpose(q, n, l), [l, n], y, [n, l]);
  const t = new Matrix(l, l);
  for (let i = 0; i < l; i++) for (let j = 0; j < l; j++) t.set(i, j, 0.5 * (tq[i * l + j] + tq[j * l + i]));
  const eig = new EigenvalueDecomposition(t, { assumeSymmetric: true });
  const order = eig.realEigenvalues.map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0]).slice(0, k);
  const w = new Float32Array(l * k);
  const vecs = eig.eigenvectorMatrix;
  for (let r = 0; r < l; r++) for (let c = 0; c < k; c++) w[r * k + c] = vecs.get(r, order[c][1]);
  const vectors = await backend.matmul(q, [n, l], w, [l, k]);
  return { values: Float64Array.from(order, ([v]) => v), vectors, n, k };
}

/**
 * Rank-k truncated SVD of a dense matrix a (rows × cols, row-major) through the
 * top eigenpairs of aᵀa: V, σ = √θ, U = A·V·Σ⁻¹ (columns with σ = 0 left zero).
 */
export async function truncatedSvd(
  a: Float32Array, rows: number, cols: number, k: number, backend: Backend, options: SubspaceIterationOptions = {},
): Promise<TruncatedSvd> {
  if (a.length !== rows * cols) throw new Error(`truncatedSvd: ${a.length} values for a ${rows} × ${cols} matrix`);
  if (!Number.isInteger(k) || k < 1 || k > Math.min(rows, cols)) throw new Error(`truncatedSvd: k must be an integer in 1..${Math.min(rows, cols)}, got ${k}`);
  const at = transpose(a, rows, cols);
  const gram = await backend.matmul(at, [cols, rows], at, [cols, rows], { transB: true });
  const { values, vectors } = await topEigenpairs(gram, cols, k, backend, options);
  const singularValues = values.map((v) => Math.sqrt(Math.max(0, v)));
  const left = await backend.matmul(a, [rows, cols], vectors, [cols, k]);
  // Below this σ the direction is rounding noise of the float32 Gram: no left vector.
  const floor = singularValues[0] * 1e-3;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < k; c++) left[r * k + c] = singularValues[c] > floor ? left[r * k + c] / singularValues[c] : 0;
  }
  return { singularValues, left, right: vectors, k };
}
