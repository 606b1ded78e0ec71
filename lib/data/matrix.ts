/**
 * A sparse user × item interaction matrix in CSR form.
 *
 * Rows are users (dense indices 0..numUsers-1), columns items. Values are
 * Float32 (1 for an implicit positive, 2 where the official loader summed a
 * duplicate pair, fractions for DISTILL-CF summaries). Column indices inside a
 * row are sorted and unique. The matrix is never densified whole: callers ask
 * for dense row blocks with `denseRows`.
 */
export type DuplicatePolicy = "sum" | "binary";

/** A block's nonzero entries: flat indices (row·cols + col, distinct) and values, and the block's dims. */
export interface FlatEntries {
  indices: Int32Array;
  values: Float32Array;
  dims: [number, number];
}

export class InteractionMatrix {
  readonly numUsers: number;
  readonly numItems: number;
  /** Row pointers, length numUsers + 1. */
  readonly indptr: Int32Array;
  /** Column (item) indices, sorted within each row. */
  readonly indices: Int32Array;
  readonly values: Float32Array;

  constructor(
    numUsers: number,
    numItems: number,
    indptr: Int32Array,
    indices: Int32Array,
    values: Float32Array,
  ) {
    if (!Number.isInteger(numUsers) || numUsers < 0) throw new Error(`InteractionMatrix: bad numUsers ${numUsers}`);
    if (!Number.isInteger(numItems) || numItems < 0) throw new Error(`InteractionMatrix: bad numItems ${numItems}`);
    if (indptr.length !== numUsers + 1) {
      throw new Error(`InteractionMatrix: indptr has length ${indptr.length}, expected ${numUsers + 1}`);
    }
    if (indices.length !== values.length || indptr[numUsers] !== indices.length) {
      throw new Error(
        `InteractionMatrix: ${indices.length} indices, ${values.length} values, indptr ends at ${indptr[numUsers]}`,
      );
    }
    this.numUsers = numUsers;
    this.numItems = numItems;
    this.indptr = indptr;
    this.indices = indices;
    this.values = values;
  }

  /** Number of stored entries (distinct user–item pairs). */
  get nnz(): number {
    return this.indices.length;
  }

  /** Sum of all values: the number of interaction rows when duplicates are summed. */
  get total(): number {
    let s = 0;
    for (let i = 0; i < this.values.length; i++) s += this.values[i];
    return s;
  }

  rowNnz(user: number): number {
    return this.indptr[user + 1] - this.indptr[user];
  }

  /** Item indices of one user (a view, not a copy). */
  rowItems(user: number): Int32Array {
    return this.indices.subarray(this.indptr[user], this.indptr[user + 1]);
  }

  /** Values of one user's items (a view, not a copy). */
  rowValues(user: number): Float32Array {
    return this.values.subarray(this.indptr[user], this.indptr[user + 1]);
  }

  /** True when the user has the item (binary search in the sorted row). */
  has(user: number, item: number): boolean {
    let lo = this.indptr[user];
    let hi = this.indptr[user + 1] - 1;
    const idx = this.indices;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = idx[mid];
      if (v === item) return true;
      if (v < item) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }

  /**
   * Dense Float32 rows [start, end) as a row-major (end-start) × numItems block.
   * `out`, when given, must hold at least that many values; it is zeroed first.
   */
  denseRows(start: number, end: number, out?: Float32Array): Float32Array {
    if (start < 0 || end > this.numUsers || start > end) {
      throw new Error(`denseRows: range [${start}, ${end}) outside 0..${this.numUsers}`);
    }
    const n = (end - start) * this.numItems;
    const block = out ? out.subarray(0, n) : new Float32Array(n);
    if (out) block.fill(0);
    for (let u = start; u < end; u++) {
      const base = (u - start) * this.numItems;
      for (let p = this.indptr[u]; p < this.indptr[u + 1]; p++) block[base + this.indices[p]] = this.values[p];
    }
    return block;
  }

  /**
   * The nonzero entries of rows [start, end) as flat indices into the dense
   * block ((u − start)·numItems + item) and values: what denseRows would
   * write, for a device to densify (Backend.uploadSparse).
   */
  flatEntries(start: number, end: number): FlatEntries {
    if (start < 0 || end > this.numUsers || start > end) {
      throw new Error(`flatEntries: range [${start}, ${end}) outside 0..${this.numUsers}`);
    }
    const from = this.indptr[start];
    const count = this.indptr[end] - from;
    const indices = new Int32Array(count);
    for (let u = start; u < end; u++) {
      const base = (u - start) * this.numItems;
      for (let p = this.indptr[u]; p < this.indptr[u + 1]; p++) indices[p - from] = base + this.indices[p];
    }
    return { indices, values: this.values.slice(from, from + count), dims: [end - start, this.numItems] };
  }

  /** flatEntries for an arbitrary list of users, in that order. */
  flatEntriesOf(users: ArrayLike<number>): FlatEntries {
    let count = 0;
    for (let r = 0; r < users.length; r++) {
      const u = users[r];
      if (!(u >= 0 && u < this.numUsers)) throw new Error(`flatEntriesOf: user ${u} outside 0..${this.numUsers - 1}`);
      count += this.indptr[u + 1] - this.indptr[u];
    }
    const indices = new Int32Array(count);
    const values = new Float32Array(count);
    let at = 0;
    for (let r = 0; r < users.length; r++) {
      const u = users[r];
      const base = r * this.numItems;
      for (let p = this.indptr[u]; p < this.indptr[u + 1]; p++, at++) {
        indices[at] = base + this.indices[p];
        values[at] = this.values[p];
      }
    }
    return { indices, values, dims: [users.length, this.numItems] };
  }

  /** Dense rows for an arbitrary list of users, in that order. */
  denseRowsOf(users: ArrayLike<number>, out?: Float32Array): Float32Array {
    const n = users.length * this.numItems;
    const block = out ? out.subarray(0, n) : new Float32Array(n);
    if (out) block.fill(0);
    for (let r = 0; r < users.length; r++) {
      const u = users[r];
      if (u < 0 || u >= this.numUsers) throw new Error(`denseRowsOf: user ${u} outside 0..${this.numUsers - 1}`);
      const base = r * this.numItems;
      for (let p = this.indptr[u]; p < this.indptr[u + 1]; p++) block[base + this.indices[p]] = this.values[p];
    }
    return block;
  }

  /** Interactions per item (sum of values per column), as float64. */
  itemCounts(): Float64Array {
    const c = new Float64Array(this.numItems);
    for (let p = 0; p < this.indices.length; p++) c[this.indices[p]] += this.values[p];
    return c;
  }

  /** Number of users per item (stored entries per column). */
  itemUserCounts(): Int32Array {
    const c = new Int32Array(this.numItems);
    for (let p = 0; p < this.indices.length; p++) c[this.indices[p]]++;
    return c;
  }

  /** A new matrix holding only the given users' rows, in that order. */
  selectUsers(users: ArrayLike<number>): InteractionMatrix {
    let nnz = 0;
    for (let r = 0; r < users.length; r++) nnz += this.rowNnz(users[r]);
    const indptr = new Int32Array(users.length + 1);
    const indices = new Int32Array(nnz);
    const values = new Float32Array(nnz);
    let q = 0;
    for (let r = 0; r < users.length; r++) {
      const u = users[r];
      if (u < 0 || u >= this.numUsers) throw new Error(`selectUsers: user ${u} outside 0..${this.numUsers - 1}`);
      const a = this.indptr[u];
      const b = this.indptr[u + 1];
      indices.set(this.indices.subarray(a, b), q);
      values.set(this.values.subarray(a, b), q);
      q += b - a;
      indptr[r + 1] = q;
    }
    return new InteractionMatrix(users.length, this.numItems, indptr, indices, values);
  }

  /** Element-wise sum with a matrix of the same shape (e.g. train + validation context). */
  add(other: InteractionMatrix): InteractionMatrix {
    if (other.numUsers !== this.numUsers || other.numItems !== this.numItems) {
      throw new Error(
        `add: shapes differ (${this.numUsers}×${this.numItems} vs ${other.numUsers}×${other.numItems})`,
      );
    }
    const indptr = new Int32Array(this.numUsers + 1);
    const indices = new Int32Array(this.nnz + other.nnz);
    const values = new Float32Array(this.nnz + other.nnz);
    let q = 0;
    for (let u = 0; u < this.numUsers; u++) {
      let a = this.indptr[u];
      const ae = this.indptr[u + 1];
      let b = other.indptr[u];
      const be = other.indptr[u + 1];
      while (a < ae || b < be) {
        const ia = a < ae ? this.indices[a] : Infinity;
        const ib = b < be ? other.indices[b] : Infinity;
        if (ia === ib) {
          indices[q] = ia;
          values[q++] = this.values[a++] + other.values[b++];
        } else if (ia < ib) {
          indices[q] = ia;
          values[q++] = this.values[a++];
        } else {
          indices[q] = ib;
          values[q++] = other.values[b++];
        }
      }
      indptr[u + 1] = q;
    }
    return new InteractionMatrix(this.numUsers, this.numItems, indptr, indices.slice(0, q), values.slice(0, q));
  }

  /** Same pattern with every value set to 1. */
  binarized(): InteractionMatrix {
    return new InteractionMatrix(
      this.numUsers,
      this.numItems,
      this.indptr,
      this.indices,
      new Float32Array(this.values.length).fill(1),
    );
  }

  /**
   * Build from (user, item, value) triplets in any order. Repeated pairs are
   * summed (`sum`, the official loader's behaviour) or set to 1 (`binary`).
   */
  static fromTriplets(
    numUsers: number,
    numItems: number,
    users: ArrayLike<number>,
    items: ArrayLike<number>,
    values?: ArrayLike<number>,
    duplicates: DuplicatePolicy = "sum",
  ): InteractionMatrix {
    const n = users.length;
    if (items.length !== n || (values && values.length !== n)) {
      throw new Error(`fromTriplets: ${n} users, ${items.length} items, ${values?.length ?? n} values`);
    }
    const counts = new Int32Array(numUsers + 1);
    for (let r = 0; r < n; r++) {
      const u = users[r];
      const i = items[r];
      if (!(u >= 0 && u < numUsers && Number.isInteger(u))) throw new Error(`fromTriplets: user index ${u} at row ${r} outside 0..${numUsers - 1}`);
      if (!(i >= 0 && i < numItems && Number.isInteger(i))) throw new Error(`fromTriplets: item index ${i} at row ${r} outside 0..${numItems - 1}`);
      if (values && !Number.isFinite(values[r])) throw new Error(`fromTriplets: value ${values[r]} at row ${r} is not finite`);
      counts[u + 1]++;
    }
    for (let u = 0; u < numUsers; u++) counts[u + 1] += counts[u];
    // Two stable counting sorts, by item then by user: the rows come out grouped by
    // user with items ascending and duplicates in input order (so "sum" adds them in
    // that order). O(n + users + items); ML-1M's three splits took 0.15 s on the GPU
    // machine's host with a native sort per row.
    const itemAt = new Int32Array(numItems + 1);
    for (let r = 0; r < n; r++) itemAt[items[r] + 1]++;
    for (let i = 0; i < numItems; i++) itemAt[i + 1] += itemAt[i];
    const byItem = new Int32Array(n);
    for (let r = 0; r < n; r++) byItem[itemAt[items[r]]++] = r;
    const fill = counts.slice(0, numUsers);
    const order = new Int32Array(n);
    for (let x = 0; x < n; x++) {
      const r = byItem[x];
      order[fill[users[r]]++] = r;
    }
    // Merge duplicates.
    const indptr = new Int32Array(numUsers + 1);
    const indices = new Int32Array(n);
    const vals = new Float32Array(n);
    let q = 0;
    for (let u = 0; u < numUsers; u++) {
      let last = -1;
      for (let x = counts[u]; x < counts[u + 1]; x++) {
        const r = order[x];
        const it = items[r];
        const v = values ? Math.fround(values[r]) : 1; // float32 first, as stored
        if (it === last) {
          if (duplicates === "sum") vals[q - 1] += v;
        } else {
          indices[q] = it;
          vals[q++] = duplicates === "sum" ? v : 1;
          last = it;
        }
      }
      indptr[u + 1] = q;
    }
    return new InteractionMatrix(numUsers, numItems, indptr, indices.slice(0, q), vals.slice(0, q));
  }

  /** An empty matrix of the given shape. */
  static empty(numUsers: number, numItems: number): InteractionMatrix {
    return new InteractionMatrix(numUsers, numItems, new Int32Array(numUsers + 1), new Int32Array(0), new Float32Array(0));
  }
}
