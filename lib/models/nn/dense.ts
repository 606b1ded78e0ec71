/**
 * Fully connected layers over row-major batches, written i-k-j so the inner
 * loop runs along contiguous memory. W is stored in×out row-major inside a
 * flat parameter vector at `w`, the bias (out) at `b`.
 */
import type { Vec } from "./math.ts";

/** y[batch×out] = x[batch×in] · W + bias. */
export function denseForward(
  x: Vec, batch: number, inDim: number, outDim: number, p: Vec, w: number, b: number, y: Vec,
): void {
  for (let r = 0; r < batch; r++) {
    const yo = r * outDim;
    for (let j = 0; j < outDim; j++) y[yo + j] = p[b + j];
    const xo = r * inDim;
    let k = 0;
    // Four input rows per pass: one load/store of y per four multiply-adds.
    for (; k + 4 <= inDim; k += 4) {
      const x0 = x[xo + k];
      const x1 = x[xo + k + 1];
      const x2 = x[xo + k + 2];
      const x3 = x[xo + k + 3];
      const w0 = w + k * outDim;
      const w1 = w0 + outDim;
      const w2 = w1 + outDim;
      const w3 = w2 + outDim;
      for (let j = 0; j < outDim; j++) y[yo + j] += x0 * p[w0 + j] + x1 * p[w1 + j] + x2 * p[w2 + j] + x3 * p[w3 + j];
    }
    for (; k < inDim; k++) {
      const xv = x[xo + k];
      const wo = w + k * outDim;
      for (let j = 0; j < outDim; j++) y[yo + j] += xv * p[wo + j];
    }
  }
}

/**
 * Backward of denseForward: accumulates dW into g[w…] and dbias into g[b…];
 * writes dx (batch×in) when given.
 */
export function denseBackward(
  x: Vec, dy: Vec, batch: number, inDim: number, outDim: number, p: Vec, w: number, b: number, g: Vec, dx: Vec | null,
): void {
  for (let r = 0; r < batch; r++) {
    const yo = r * outDim;
    for (let j = 0; j < outDim; j++) g[b + j] += dy[yo + j];
    if (!dx) continue;
    const xo = r * inDim;
    let k = 0;
    // Four independent dot products per pass hide the add latency.
    for (; k + 4 <= inDim; k += 4) {
      const w0 = w + k * outDim;
      const w1 = w0 + outDim;
      const w2 = w1 + outDim;
      const w3 = w2 + outDim;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let j = 0; j < outDim; j++) {
        const d = dy[yo + j];
        s0 += d * p[w0 + j];
        s1 += d * p[w1 + j];
        s2 += d * p[w2 + j];
        s3 += d * p[w3 + j];
      }
      dx[xo + k] = s0;
      dx[xo + k + 1] = s1;
      dx[xo + k + 2] = s2;
      dx[xo + k + 3] = s3;
    }
    for (; k < inDim; k++) {
      const wo = w + k * outDim;
      let s = 0;
      for (let j = 0; j < outDim; j++) s += dy[yo + j] * p[wo + j];
      dx[xo + k] = s;
    }
  }
  // dW += xᵀ dy, four batch rows per pass: one load/store of dW per four multiply-adds.
  let r = 0;
  for (; r + 4 <= batch; r += 4) {
    const y0 = r * outDim;
    const y1 = y0 + outDim;
    const y2 = y1 + outDim;
    const y3 = y2 + outDim;
    for (let k = 0; k < inDim; k++) {
      const x0 = x[r * inDim + k];
      const x1 = x[(r + 1) * inDim + k];
      const x2 = x[(r + 2) * inDim + k];
      const x3 = x[(r + 3) * inDim + k];
      const wo = w + k * outDim;
      for (let j = 0; j < outDim; j++) g[wo + j] += x0 * dy[y0 + j] + x1 * dy[y1 + j] + x2 * dy[y2 + j] + x3 * dy[y3 + j];
    }
  }
  for (; r < batch; r++) {
    const yo = r * outDim;
    for (let k = 0; k < inDim; k++) {
      const xv = x[r * inDim + k];
      const wo = w + k * outDim;
      for (let j = 0; j < outDim; j++) g[wo + j] += xv * dy[yo + j];
    }
  }
}

export type Activation = "tanh" | "relu" | "identity";

/** Applies the activation in place on a[0, n). */
export function activate(kind: Activation, a: Vec, n: number): void {
  if (kind === "tanh") for (let k = 0; k < n; k++) a[k] = Math.tanh(a[k]);
  else if (kind === "relu") for (let k = 0; k < n; k++) a[k] = a[k] > 0 ? a[k] : 0;
}

/** d(pre-activation) from d(output) given the activation's output y, in place on d. */
export function activateBackward(kind: Activation, y: Vec, d: Vec, n: number): void {
  if (kind === "tanh") for (let k = 0; k < n; k++) d[k] *= 1 - y[k] * y[k];
  else if (kind === "relu") for (let k = 0; k < n; k++) if (y[k] <= 0) d[k] = 0;
}
