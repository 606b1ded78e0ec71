/**
 * Large Float32Array scratch handed from one call to the next. First-touching
 * fresh memory is not free: in the VMs infrec was measured on, a new 90 MB
 * array cost 0.35 s of page faults before the first useful write (more than
 * the work done on it), while refilling a reused one takes a few ms.
 *
 *   const buf = pool.take(n);        // length ≥ n, contents undefined
 *   try { … buf.subarray(0, n) … } finally { pool.give(buf); }
 *
 * Concurrent callers get different buffers; at most `keep` idle buffers are held.
 */
export class Float32ScratchPool {
  private idle: Float32Array[] = [];

  constructor(private readonly keep = 2) {}

  /** A buffer of at least `size` floats: an idle one when one is large enough, else a new one. */
  take(size: number): Float32Array {
    if (!Number.isInteger(size) || size < 0) throw new Error(`Float32ScratchPool.take: bad size ${size}`);
    let best = -1;
    for (let i = 0; i < this.idle.length; i++) {
      if (this.idle[i].length >= size && (best < 0 || this.idle[i].length < this.idle[best].length)) best = i;
    }
    if (best < 0) return new Float32Array(size);
    return this.idle.splice(best, 1)[0];
  }

  /** Returns a buffer from take(); the largest `keep` idle buffers are kept. */
  give(buf: Float32Array): void {
    if (this.idle.includes(buf)) return;
    this.idle.push(buf);
    this.idle.sort((a, b) => b.length - a.length);
    this.idle.length = Math.min(this.idle.length, this.keep);
  }
}
