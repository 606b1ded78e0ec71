/** Central finite differences of async objectives (the distill option tests). */

/** Central differences of an async f at x, entry by entry, step h·max(1, |x_i|). */
export async function finiteDiffAsync(f: (x: Float64Array) => Promise<number>, x: Float64Array, h = 1e-5): Promise<Float64Array> {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const x0 = x[i];
    const step = h * Math.max(1, Math.abs(x0));
    x[i] = x0 + step;
    const fp = await f(x);
    x[i] = x0 - step;
    const fm = await f(x);
    x[i] = x0;
    g[i] = (fp - fm) / (2 * step);
  }
  return g;
}
