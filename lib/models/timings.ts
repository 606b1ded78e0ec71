/** Per-phase wall-clock accounting for benchmarks: seconds are added to `timings[phase]`. */
export type Timings = Record<string, number>;

export async function timed<T>(timings: Timings | undefined, phase: string, work: () => Promise<T>): Promise<T> {
  if (!timings) return work();
  const t0 = performance.now();
  try {
    return await work();
  } finally {
    timings[phase] = (timings[phase] ?? 0) + (performance.now() - t0) / 1000;
  }
}
