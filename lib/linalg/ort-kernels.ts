/**
 * The blocked Cholesky's kernels (cholesky.ts) on an ONNX Runtime backend: the
 * panels, products and substitution steps run as the engine's Gemm/MatMul
 * graphs (lib/onnx/graphs/cholesky.ts, linalg.ts).
 */
import type { Backend, Session } from "../onnx/backend.ts";
import type { GraphName } from "../onnx/graphs/index.ts";
import type { CholeskyKernels } from "./cholesky.ts";

function pair(a: number, b: number): { data: BigInt64Array; dims: number[] } {
  return { data: new BigInt64Array([BigInt(a), BigInt(b)]), dims: [2] };
}

/**
 * CholeskyKernels on an ONNX Runtime backend. Sessions are cached by the
 * backend; the scratch buffers (up to n²/4 + n·b floats) live as long as this
 * object, i.e. as long as the SpdSolver that made it.
 */
/** Rows of a panel per Gemm (see OrtCholeskyKernels.panel). */
export const PANEL_ROWS = 1024;

export class OrtCholeskyKernels implements CholeskyKernels {
  private panelSession?: Promise<Session>;
  private forwardSession?: Promise<Session>;
  private backwardSession?: Promise<Session>;
  private atSession?: Promise<Session>;
  private forwardUnitSession?: Promise<Session>;
  private backwardUnitSession?: Promise<Session>;

  constructor(readonly backend: Backend) {}

  private session(name: GraphName): Promise<Session> {
    return this.backend.session(name);
  }

  /**
   * The strided blocks are copied into contiguous scratch here (row `set`s run
   * at memcpy speed) and multiplied by one Gemm per chunk of PANEL_ROWS rows:
   * measured 77 → 129 GFLOP/s against cutting them out with Slice inside the
   * graph (n = 6040, j0 = 3072). Chunks bound the copy of L to PANEL_ROWS × j0
   * floats (whole, it peaks at n²/4: 35 MiB on ML-1M, 600 MiB for a
   * 25,000-user support).
   */
  async panel(k: Float32Array, l: Float32Array, n: number, j0: number, j1: number, out: Float32Array, range?: readonly [number, number]): Promise<void> {
    const [r0, r1] = range ?? [j0, n];
    const bj = j1 - j0;
    const chunk = Math.min(r1 - r0, PANEL_ROWS);
    const la = this.scratch("la", chunk * j0);
    const kp = this.scratch("kp", chunk * bj);
    // L[j0:j1, :j0], the Gemm's other factor, for every chunk.
    const lb = this.scratch("lb", bj * j0);
    for (let r = 0; r < bj; r++) lb.set(l.subarray((j0 + r) * n, (j0 + r) * n + j0), r * j0);
    for (let c0 = r0; c0 < r1; c0 += chunk) {
      const rows = Math.min(chunk, r1 - c0);
      for (let r = 0; r < rows; r++) la.set(l.subarray((c0 + r) * n, (c0 + r) * n + j0), r * j0);
      for (let r = 0; r < rows; r++) kp.set(k.subarray((c0 + r) * n + j0, (c0 + r) * n + j1), r * bj);
      await this.backend.gemmUpdate(kp.subarray(0, rows * bj), [rows, bj], la.subarray(0, rows * j0), [rows, j0], lb, [bj, j0], {
        out: out.subarray((c0 - r0) * bj, (c0 - r0 + rows) * bj),
      });
    }
  }

  /** Cut-out variant of `panel` (Slice inside the graph); kept for the benchmark's comparison. */
  async panelSliced(k: Float32Array, l: Float32Array, n: number, j0: number, j1: number, out: Float32Array): Promise<void> {
    this.panelSession ??= this.session("cholesky_panel");
    const s = await this.panelSession;
    await this.backend.run(
      s,
      {
        K: { data: k, dims: [n, n] },
        L: { data: l, dims: [n, n] },
        k_starts: pair(j0, j0),
        k_ends: pair(n, j1),
        la_starts: pair(j0, 0),
        la_ends: pair(n, j0),
        lb_starts: pair(j0, 0),
        lb_ends: pair(j1, j0),
      },
      { P: { data: out, dims: [n - j0, j1 - j0] } },
    );
  }

  private readonly scratchBuffers = new Map<string, Float32Array>();

  /** A reusable scratch view of `size` floats (grown on demand, to at least `capacity`). */
  private scratch(name: string, size: number, capacity = size): Float32Array {
    let buf = this.scratchBuffers.get(name);
    if (buf === undefined || buf.length < size) {
      buf = new Float32Array(Math.max(size, capacity));
      this.scratchBuffers.set(name, buf);
    }
    return buf.subarray(0, size);
  }

  /** Drops the scratch buffers (about (PANEL_ROWS + 2b)·n floats). */
  releaseScratch(): void {
    this.scratchBuffers.clear();
  }

  async updateInPlace(c: Float32Array, r: number, bq: number, a: Float32Array, b: Float32Array, bk: number): Promise<void> {
    await this.backend.gemmUpdate(c, [r, bq], a, [r, bk], b, [bq, bk], { out: c });
  }

  async mulTransposed(a: Float32Array, r: number, b: number, t: Float32Array, out: Float32Array): Promise<void> {
    await this.backend.matmul(a, [r, b], t, [b, b], { transB: true, out });
  }

  async forwardStep(
    l: Float32Array, n: number, i0: number, i1: number,
    xi: Float32Array, y: Float32Array, m: number, d: Float32Array, out: Float32Array,
  ): Promise<void> {
    const bi = i1 - i0;
    if (i0 === 0) {
      await this.backend.matmul(d, [bi, bi], xi, [bi, m], { out });
      return;
    }
    this.forwardSession ??= this.session("cholesky_forward_step");
    const s = await this.forwardSession;
    await this.backend.run(
      s,
      {
        L: { data: l, dims: [n, n] },
        X: { data: xi, dims: [bi, m] },
        Yprev: { data: y.subarray(0, i0 * m), dims: [i0, m] },
        D: { data: d, dims: [bi, bi] },
        l_starts: pair(i0, 0),
        l_ends: pair(i1, i0),
      },
      { Y: { data: out, dims: [bi, m] } },
    );
  }

  async backwardStep(
    l: Float32Array, n: number, i0: number, i1: number,
    yi: Float32Array, alphaTail: Float32Array, m: number, d: Float32Array, out: Float32Array,
  ): Promise<void> {
    const bi = i1 - i0;
    if (i1 === n) {
      this.atSession ??= this.session("matmul_at");
      const s = await this.atSession;
      await this.backend.run(s, { A: { data: d, dims: [bi, bi] }, B: { data: yi, dims: [bi, m] } }, { Y: { data: out, dims: [bi, m] } });
      return;
    }
    this.backwardSession ??= this.session("cholesky_backward_step");
    const s = await this.backwardSession;
    await this.backend.run(
      s,
      {
        L: { data: l, dims: [n, n] },
        Y: { data: yi, dims: [bi, m] },
        Atail: { data: alphaTail, dims: [n - i1, m] },
        D: { data: d, dims: [bi, bi] },
        l_starts: pair(i1, i0),
        l_ends: pair(n, i1),
      },
      { A: { data: out, dims: [bi, m] } },
    );
  }

  async forwardUnitStep(
    u: Float32Array, n: number, i0: number, i1: number,
    xi: Float32Array, z: Float32Array, m: number, out: Float32Array,
  ): Promise<void> {
    if (i0 === 0) {
      out.set(xi);
      return;
    }
    this.forwardUnitSession ??= this.session("cholesky_forward_unit_step");
    const s = await this.forwardUnitSession;
    const bi = i1 - i0;
    await this.backend.run(
      s,
      {
        U: { data: u, dims: [n, n] },
        X: { data: xi, dims: [bi, m] },
        Zprev: { data: z.subarray(0, i0 * m), dims: [i0, m] },
        u_starts: pair(i0, 0),
        u_ends: pair(i1, i0),
      },
      { Z: { data: out, dims: [bi, m] } },
    );
  }

  async backwardUnitStep(
    u: Float32Array, n: number, i0: number, i1: number,
    zi: Float32Array, alphaTail: Float32Array, m: number, w: Float32Array, out: Float32Array,
  ): Promise<void> {
    const bi = i1 - i0;
    if (i1 === n) {
      await this.backend.matmul(w, [bi, bi], zi, [bi, m], { out });
      return;
    }
    this.backwardUnitSession ??= this.session("cholesky_backward_unit_step");
    const s = await this.backwardUnitSession;
    await this.backend.run(
      s,
      {
        U: { data: u, dims: [n, n] },
        Z: { data: zi, dims: [bi, m] },
        Atail: { data: alphaTail, dims: [n - i1, m] },
        W: { data: w, dims: [bi, bi] },
        u_starts: pair(i1, i0),
        u_ends: pair(n, i1),
      },
      { A: { data: out, dims: [bi, m] } },
    );
  }
}

