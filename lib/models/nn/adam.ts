/**
 * Adam over one flat parameter vector. Embedding tables are updated lazily
 * (only the rows a batch touched, as TensorFlow's LazyAdam), dense layers as
 * whole ranges. Each update also zeroes the gradient it consumed, so a
 * caller accumulates into `grad`, updates, and the buffer is clean again.
 */
import type { Vec } from "./math.ts";

export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
}

export class Adam {
  readonly lr: number;
  private readonly b1: number;
  private readonly b2: number;
  private readonly eps: number;
  private readonly m: Float32Array;
  private readonly v: Float32Array;
  private t = 0;
  private c1 = 1;
  private c2 = 1;

  constructor(size: number, options: AdamOptions) {
    if (!(options.lr > 0)) throw new Error(`Adam: lr must be > 0, got ${options.lr}`);
    this.lr = options.lr;
    this.b1 = options.beta1 ?? 0.9;
    this.b2 = options.beta2 ?? 0.999;
    this.eps = options.eps ?? 1e-8;
    this.m = new Float32Array(size);
    this.v = new Float32Array(size);
  }

  /** Advances the step counter; call once per batch before the updates. */
  nextStep(): void {
    this.t++;
    this.c1 = 1 - Math.pow(this.b1, this.t);
    this.c2 = 1 - Math.pow(this.b2, this.t);
  }

  /** Updates params[offset, offset+len) and zeroes that part of grad. */
  updateRange(params: Vec, grad: Vec, offset: number, len: number): void {
    const { m, v, b1, b2, eps } = this;
    const step = this.lr / this.c1;
    const c2 = this.c2;
    for (let k = offset; k < offset + len; k++) {
      const g = grad[k];
      grad[k] = 0;
      const mk = (m[k] = b1 * m[k] + (1 - b1) * g);
      const vk = (v[k] = b2 * v[k] + (1 - b2) * g * g);
      params[k] -= (step * mk) / (Math.sqrt(vk / c2) + eps);
    }
  }

  /** Updates the listed rows (distinct) of a rows × cols table starting at `offset`. */
  updateRows(params: Vec, grad: Vec, offset: number, cols: number, rows: ArrayLike<number>, count = rows.length): void {
    for (let r = 0; r < count; r++) this.updateRange(params, grad, offset + rows[r] * cols, cols);
  }
}

/** Collects distinct row ids (e.g. the users of a batch) with an O(1) membership mark. */
export class RowSet {
  readonly rows: Int32Array;
  count = 0;
  private readonly mark: Uint8Array;

  constructor(capacity: number, universe: number) {
    this.rows = new Int32Array(capacity);
    this.mark = new Uint8Array(universe);
  }

  add(row: number): void {
    if (this.mark[row]) return;
    this.mark[row] = 1;
    this.rows[this.count++] = row;
  }

  clear(): void {
    for (let r = 0; r < this.count; r++) this.mark[this.rows[r]] = 0;
    this.count = 0;
  }
}
