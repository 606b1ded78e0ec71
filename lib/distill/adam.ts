/**
 * Adam (Kingma & Ba) on a flat Float64Array of parameters, in place.
 *
 * Standard bias-corrected Adam by default: the update at the t-th call
 * (t = 1, 2, …) uses m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ), so the first update
 * moves each parameter by ≈ lr. The official DISTILL-CF code counts its steps
 * from 1 on top of that, i.e. it bias-corrects with t + 1; its first update is
 * then ≈ 0.744·lr (docs/protocol.md §4). Set `biasCorrectionOffset: 1` to reproduce it.
 */
export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Added to the step count in the bias corrections: 0 standard, 1 official quirk. */
  biasCorrectionOffset?: number;
}

export class Adam {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly biasCorrectionOffset: number;
  private readonly m: Float64Array;
  private readonly v: Float64Array;
  /** Number of updates applied so far. */
  steps = 0;

  constructor(size: number, options: AdamOptions) {
    this.lr = options.lr;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.eps = options.eps ?? 1e-8;
    this.biasCorrectionOffset = options.biasCorrectionOffset ?? 0;
    if (!(this.lr > 0)) throw new Error(`Adam: lr must be > 0, got ${this.lr}`);
    if (!(this.beta1 >= 0 && this.beta1 < 1) || !(this.beta2 >= 0 && this.beta2 < 1)) {
      throw new Error(`Adam: betas must lie in [0, 1), got ${this.beta1}, ${this.beta2}`);
    }
    if (!(this.eps >= 0)) throw new Error(`Adam: eps must be ≥ 0, got ${this.eps}`);
    if (!Number.isInteger(this.biasCorrectionOffset) || this.biasCorrectionOffset < 0) {
      throw new Error(`Adam: biasCorrectionOffset must be an integer ≥ 0, got ${this.biasCorrectionOffset}`);
    }
    this.m = new Float64Array(size);
    this.v = new Float64Array(size);
  }

  /** params ← params − lr·m̂/(√v̂ + eps), given ∂loss/∂params. */
  step(params: Float64Array, grad: Float64Array): void {
    if (params.length !== this.m.length || grad.length !== this.m.length) {
      throw new Error(`Adam.step: expected ${this.m.length} parameters and gradients, got ${params.length} and ${grad.length}`);
    }
    this.steps++;
    const t = this.steps + this.biasCorrectionOffset;
    const c1 = 1 / (1 - this.beta1 ** t);
    const c2 = 1 / (1 - this.beta2 ** t);
    const { m, v, beta1, beta2, lr, eps } = this;
    for (let p = 0; p < params.length; p++) {
      const g = grad[p];
      m[p] = beta1 * m[p] + (1 - beta1) * g;
      v[p] = beta2 * v[p] + (1 - beta2) * g * g;
      params[p] -= (lr * (m[p] * c1)) / (Math.sqrt(v[p] * c2) + eps);
    }
  }
}
