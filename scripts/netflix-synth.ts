/**
 * A synthetic data set with the Netflix Prize's shape, for running the paper's
 * Netflix row where the real data cannot be had: 480,189 users × 17,770 movies,
 * 100,480,507 ratings, written as the Prize's `training_set/mv_0000001.txt …`
 * files (`1:`, then `CustomerID,Rating,YYYY-MM-DD` lines), which lib/data reads.
 *
 *   npx tsx scripts/netflix-synth.ts --out /tmp/netflix-synth [--scale 0.05] [--seed 1]
 *
 * Shape: per-movie counts are log-normal (σ 2, clipped to [3, 48.5% of users],
 * as Netflix's 3 … 232,944), users' activities log-normal (σ 1.25: Netflix's
 * per-user mean 209 is 2.2× its median 96), every user rates at least once,
 * and the totals are exact. Planted structure: users and movies each belong to
 * one of 40 taste groups (Zipf-sized); a user is (1 + β) = 21 times likelier to
 * rate a movie of their own group than another of the same popularity, and
 * rates those higher. `planted.json` records the groups; `synth.json` the
 * parameters and counts.
 *
 * `--scale s` multiplies the users and the ratings by s and the movies by √s,
 * so the mean ratings per user (209) stay and small sets are denser;
 * `--users/--items/--ratings` set the counts directly. The same options and
 * seed give the same bytes. Files are written into `<out>.tmp-…` and renamed
 * to `<out>` at the end, so `<out>` is never half written.
 */
import { cac } from "cac";
import { closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { SplitRandom } from "../lib/data/split.ts";
import { Progress } from "../lib/util/terminal.ts";

/** The Netflix Prize training set's counts. */
export const NETFLIX_SHAPE = Object.freeze({ users: 480_189, items: 17_770, ratings: 100_480_507 });
/** Netflix customer ids lie in 1 … 2,649,429. */
const NETFLIX_MAX_CUSTOMER_ID = 2_649_429;

export interface NetflixSynthOptions {
  users: number;
  items: number;
  ratings: number;
  seed: number;
  /** Taste groups planted in users and movies. */
  groups?: number;
  /** A user's extra affinity for their own group's movies (weight 1 + β). */
  groupBoost?: number;
}

export interface NetflixSynthSummary {
  users: number;
  items: number;
  ratings: number;
  seed: number;
  groups: number;
  groupBoost: number;
  /** Share of ratings where the user's group is the movie's. */
  inGroupShare: number;
  maxUserRatings: number;
  maxItemRatings: number;
  minItemRatings: number;
}

/** Counts for `--scale s`: users and ratings × s, movies × √s (at least 3 movies, ≥ 1 rating per user). */
export function scaledShape(scale: number): { users: number; items: number; ratings: number } {
  if (!(scale > 0 && scale <= 1)) throw new Error(`--scale must be in (0, 1], got ${scale}`);
  const users = Math.max(3, Math.round(NETFLIX_SHAPE.users * scale));
  const items = Math.max(3, Math.round(NETFLIX_SHAPE.items * Math.sqrt(scale)));
  const ratings = Math.min(Math.round(NETFLIX_SHAPE.ratings * scale), Math.floor(users * items * 0.5));
  return { users, items, ratings };
}

// ---------------------------------------------------------------- random numbers

class Random {
  private readonly bits: SplitRandom;
  constructor(seed: number) {
    this.bits = new SplitRandom(seed);
  }
  /** Uniform in (0, 1): never 0, so its log is finite. */
  uniform(): number {
    return (this.bits.nextUint32() + 0.5) / 4294967296;
  }
  below(n: number): number {
    return this.bits.below(n);
  }
  normal(): number {
    return Math.sqrt(-2 * Math.log(this.uniform())) * Math.cos(2 * Math.PI * this.uniform());
  }
}

/** Walker/Vose alias table: O(1) draws from fixed weights. */
class AliasTable {
  private readonly prob: Float64Array;
  private readonly alias: Int32Array;
  readonly total: number;
  constructor(weights: ArrayLike<number>) {
    const n = weights.length;
    this.prob = new Float64Array(n);
    this.alias = new Int32Array(n);
    let total = 0;
    for (let i = 0; i < n; i++) total += weights[i];
    this.total = total;
    const scaled = new Float64Array(n);
    const small = new Int32Array(n);
    const large = new Int32Array(n);
    let ns = 0;
    let nl = 0;
    for (let i = 0; i < n; i++) {
      scaled[i] = (weights[i] * n) / total;
      if (scaled[i] < 1) small[ns++] = i;
      else large[nl++] = i;
    }
    while (ns > 0 && nl > 0) {
      const s = small[--ns];
      const l = large[--nl];
      this.prob[s] = scaled[s];
      this.alias[s] = l;
      scaled[l] = scaled[l] + scaled[s] - 1;
      if (scaled[l] < 1) small[ns++] = l;
      else large[nl++] = l;
    }
    while (nl > 0) this.prob[large[--nl]] = 1;
    while (ns > 0) this.prob[small[--ns]] = 1; // rounding leftovers
  }
  draw(rng: Random): number {
    const i = rng.below(this.prob.length);
    return rng.uniform() < this.prob[i] ? i : this.alias[i];
  }
}

/** Indices of the `k` largest keys (k < keys.length), by quickselect; `keys` and `index` are permuted. */
function selectLargest(keys: Float64Array, index: Int32Array, length: number, k: number): Int32Array {
  let lo = 0;
  let hi = length - 1;
  const target = k - 1; // after partitioning, positions 0 … k-1 hold the k largest
  while (lo < hi) {
    const pivot = keys[(lo + hi) >>> 1];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (keys[i] > pivot) i++;
      while (keys[j] < pivot) j--;
      if (i <= j) {
        const tk = keys[i];
        keys[i] = keys[j];
        keys[j] = tk;
        const ti = index[i];
        index[i] = index[j];
        index[j] = ti;
        i++;
        j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else break;
  }
  return index.slice(0, k);
}

// ---------------------------------------------------------------- counts

/**
 * Integer per-movie counts summing exactly to `total`, each in [lo, cap],
 * proportional to `weights` where no bound binds (bisection on the scale,
 * then largest remainders).
 */
function allocateCounts(weights: Float64Array, total: number, lo: number, cap: number): Int32Array {
  const n = weights.length;
  const clipped = (m: number) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += Math.min(cap, Math.max(lo, m * weights[i]));
    return s;
  };
  let a = 0;
  let b = 1;
  while (clipped(b) < total) b *= 2;
  for (let it = 0; it < 200; it++) {
    const m = (a + b) / 2;
    if (clipped(m) < total) a = m;
    else b = m;
  }
  const counts = new Int32Array(n);
  const fraction = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const x = Math.min(cap, Math.max(lo, b * weights[i]));
    counts[i] = Math.floor(x);
    fraction[i] = x - counts[i];
    sum += counts[i];
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => fraction[y] - fraction[x] || x - y);
  for (let k = 0; sum < total; k = (k + 1) % n) {
    const i = order[k];
    if (counts[i] < cap) {
      counts[i]++;
      sum++;
    }
  }
  for (let k = n - 1; sum > total; k = (k - 1 + n) % n) {
    const i = order[k];
    if (counts[i] > lo) {
      counts[i]--;
      sum--;
    }
  }
  return counts;
}

// ---------------------------------------------------------------- text

const FIRST_DAY = Date.UTC(1999, 10, 11); // the Prize's first rating date
const LAST_DAY = Date.UTC(2005, 11, 31);
const DAY_MS = 86_400_000;

/** ASCII `YYYY-MM-DD` of every day in the Prize's period, 10 bytes each. */
function dateTable(): { days: number; bytes: Uint8Array } {
  const days = (LAST_DAY - FIRST_DAY) / DAY_MS + 1;
  const bytes = new Uint8Array(days * 10);
  for (let d = 0; d < days; d++) bytes.set(new TextEncoder().encode(new Date(FIRST_DAY + d * DAY_MS).toISOString().slice(0, 10)), d * 10);
  return { days, bytes };
}

/** Buffered writes of ASCII bytes to one file descriptor. */
class ByteWriter {
  private readonly buffer = new Uint8Array(1 << 22);
  private used = 0;
  /** The file written to; set before each file, flushed before it changes. */
  fd = -1;
  reserve(n: number): void {
    if (this.used + n > this.buffer.length) this.flush();
  }
  byte(b: number): void {
    this.buffer[this.used++] = b;
  }
  bytes(src: Uint8Array, start: number, end: number): void {
    for (let p = start; p < end; p++) this.buffer[this.used++] = src[p];
  }
  text(s: string): void {
    this.reserve(s.length);
    for (let p = 0; p < s.length; p++) this.buffer[this.used++] = s.charCodeAt(p);
  }
  flush(): void {
    let off = 0;
    while (off < this.used) off += writeSync(this.fd, this.buffer, off, this.used - off);
    this.used = 0;
  }
}

// ---------------------------------------------------------------- generator

/**
 * Writes the data set into `out` (which must not exist): `training_set/`
 * with one `mv_NNNNNNN.txt` per movie, `synth.json`, `planted.json`.
 */
export function generateNetflixSynth(out: string, options: NetflixSynthOptions, onProgress?: (fraction: number, message: string) => void): NetflixSynthSummary {
  const { users: U, items: I, ratings: R, seed } = options;
  const G = options.groups ?? 40;
  const beta = options.groupBoost ?? 20;
  for (const [name, v] of [["users", U], ["items", I], ["ratings", R], ["groups", G]] as const) {
    if (!(Number.isInteger(v) && v >= 1)) throw new Error(`${name} must be a positive integer, got ${v}`);
  }
  if (!(Number.isInteger(seed))) throw new Error(`seed must be an integer, got ${seed}`);
  if (!(beta >= 0 && Number.isFinite(beta))) throw new Error(`groupBoost must be ≥ 0, got ${beta}`);
  if (R < U) throw new Error(`every user rates at least once, so ratings (${R}) must be ≥ users (${U})`);
  if (R > U * I * 0.9) throw new Error(`ratings (${R}) must be at most 90% of users × items (${U * I})`);
  if (existsSync(out)) throw new Error(`${out} exists; give a new folder`);
  const rng = new Random(seed);

  // Groups: Zipf-sized shares, the same prior for users and movies.
  const groupPrior = Float64Array.from({ length: G }, (_, g) => 1 / Math.sqrt(g + 1));
  const groupTable = new AliasTable(groupPrior);
  const userGroup = new Int32Array(U);
  const activity = new Float64Array(U);
  for (let u = 0; u < U; u++) {
    userGroup[u] = groupTable.draw(rng);
    activity[u] = Math.exp(1.25 * rng.normal());
  }
  const itemGroup = new Int32Array(I);
  const popularity = new Float64Array(I);
  const releaseDay = new Int32Array(I);
  const { days, bytes: dateBytes } = dateTable();
  for (let i = 0; i < I; i++) {
    itemGroup[i] = groupTable.draw(rng);
    popularity[i] = Math.exp(2 * rng.normal());
    releaseDay[i] = Math.floor(0.8 * days * rng.uniform());
  }

  // Exact per-movie counts: Netflix's fewest is 3, its most 48.5% of users.
  const lo = Math.max(1, Math.min(3, Math.floor(R / I)));
  let cap = Math.ceil(0.485 * U);
  if (cap * I < 1.5 * R) cap = U;
  const itemCount = allocateCounts(popularity, R, lo, cap);

  // Users by group, with alias tables over activity (global and per group).
  const groupStart = new Int32Array(G + 1);
  for (let u = 0; u < U; u++) groupStart[userGroup[u] + 1]++;
  for (let g = 0; g < G; g++) groupStart[g + 1] += groupStart[g];
  const groupMembers = new Int32Array(U);
  const fill = groupStart.slice(0, G);
  for (let u = 0; u < U; u++) groupMembers[fill[userGroup[u]]++] = u;
  const allUsers = new AliasTable(activity);
  const groupUsers = Array.from({ length: G }, (_, g) => {
    const members = groupMembers.subarray(groupStart[g], groupStart[g + 1]);
    return members.length > 0 ? { members, table: new AliasTable(Array.from(members, (u) => activity[u])) } : null;
  });

  // Every user's first rating: a movie drawn by remaining count, boosted in-group.
  const itemsOfGroup = Array.from({ length: G }, () => [] as number[]);
  for (let i = 0; i < I; i++) itemsOfGroup[itemGroup[i]].push(i);
  const allItems = new AliasTable(Float64Array.from(itemCount));
  const groupItems = itemsOfGroup.map((list) => (list.length > 0 ? { list, table: new AliasTable(list.map((i) => itemCount[i])) } : null));
  const firstItem = new Int32Array(U);
  const firstCount = new Int32Array(I);
  for (let u = 0; u < U; u++) {
    const gi = groupItems[userGroup[u]];
    const inShare = gi ? (beta * gi.table.total) / (allItems.total + beta * gi.table.total) : 0;
    let i = -1;
    for (let attempt = 0; attempt < 1000 && i < 0; attempt++) {
      const c = gi && rng.uniform() < inShare ? gi.list[gi.table.draw(rng)] : allItems.draw(rng);
      if (firstCount[c] < itemCount[c]) i = c;
    }
    if (i < 0) i = firstCount.findIndex((n, c) => n < itemCount[c]);
    firstItem[u] = i;
    firstCount[i]++;
  }
  const firstStart = new Int32Array(I + 1);
  for (let i = 0; i < I; i++) firstStart[i + 1] = firstStart[i] + firstCount[i];
  const firstUsers = new Int32Array(U);
  const firstFill = firstStart.slice(0, I);
  for (let u = 0; u < U; u++) firstUsers[firstFill[firstItem[u]]++] = u;

  // Customer ids: U distinct ids spread over the Prize's id range (scaled), increasing with the user index.
  const idRange = Math.max(U, Math.round((NETFLIX_MAX_CUSTOMER_ID * U) / NETFLIX_SHAPE.users));
  const idPool = Int32Array.from({ length: idRange }, (_, k) => k + 1);
  for (let k = 0; k < U; k++) {
    const j = k + rng.below(idRange - k);
    const t = idPool[k];
    idPool[k] = idPool[j];
    idPool[j] = t;
  }
  const customerId = idPool.slice(0, U).sort();
  const idText = Array.from(customerId, String);
  const idBytes = new TextEncoder().encode(idText.join(""));
  const idStart = new Int32Array(U + 1);
  for (let u = 0; u < U; u++) idStart[u + 1] = idStart[u] + idText[u].length;

  // Ratings 1–5: in-group ones skew higher (Netflix overall: 5%, 10%, 29%, 34%, 23%).
  const inGroupStars = new AliasTable([0.02, 0.05, 0.2, 0.38, 0.35]);
  const outGroupStars = new AliasTable([0.06, 0.12, 0.32, 0.32, 0.18]);

  const tmp = `${out}.tmp-${process.pid}-${Date.now()}`;
  const folder = join(tmp, "training_set");
  mkdirSync(folder, { recursive: true });
  const stamp = new Int32Array(U).fill(-1);
  const chosen = new Int32Array(cap);
  const keys = new Float64Array(U);
  const keyIndex = new Int32Array(U);
  const userRatings = new Int32Array(U);
  const w = new ByteWriter();
  let inGroup = 0;
  let written = 0;
  try {
    for (let i = 0; i < I; i++) {
      const h = itemGroup[i];
      let n = 0;
      for (let p = firstStart[i]; p < firstStart[i + 1]; p++) {
        stamp[firstUsers[p]] = i;
        chosen[n++] = firstUsers[p];
      }
      const need = itemCount[i] - n;
      const gu = groupUsers[h];
      const inShare = gu ? (beta * gu.table.total) / (allUsers.total + beta * gu.table.total) : 0;
      // Few users: draw from the mixture and reject repeats. Many: weighted
      // sampling without replacement over everyone (Efraimidis–Spirakis keys).
      let drawn = 0;
      if (need > 0 && need * 64 <= U) {
        for (let attempt = 0; drawn < need && attempt < 50 * need + 1000; attempt++) {
          const u = gu && rng.uniform() < inShare ? gu.members[gu.table.draw(rng)] : allUsers.draw(rng);
          if (stamp[u] === i) continue;
          stamp[u] = i;
          chosen[n++] = u;
          drawn++;
        }
      }
      if (drawn < need) {
        let m = 0;
        for (let u = 0; u < U; u++) {
          if (stamp[u] === i) continue;
          const w = activity[u] * (userGroup[u] === h ? 1 + beta : 1);
          keys[m] = Math.log(rng.uniform()) / w;
          keyIndex[m++] = u;
        }
        const picked = selectLargest(keys, keyIndex, m, need - drawn);
        for (const u of picked) chosen[n++] = u;
      }
      const users = chosen.subarray(0, n).sort();
      const fd = openSync(join(folder, `mv_${String(i + 1).padStart(7, "0")}.txt`), "w");
      try {
        w.fd = fd;
        w.text(`${i + 1}:\n`);
        const span = days - releaseDay[i];
        for (let p = 0; p < n; p++) {
          const u = users[p];
          const same = userGroup[u] === h;
          if (same) inGroup++;
          userRatings[u]++;
          const stars = 1 + (same ? inGroupStars : outGroupStars).draw(rng);
          // Later dates likelier: Netflix's rating volume grew over the period.
          const day = releaseDay[i] + Math.min(span - 1, Math.floor(span * Math.sqrt(rng.uniform())));
          w.reserve(idStart[u + 1] - idStart[u] + 14);
          w.bytes(idBytes, idStart[u], idStart[u + 1]);
          w.byte(44);
          w.byte(48 + stars);
          w.byte(44);
          w.bytes(dateBytes, day * 10, day * 10 + 10);
          w.byte(10);
        }
        w.flush();
      } finally {
        closeSync(fd);
      }
      written += n;
      if (i % 64 === 0 || i === I - 1) onProgress?.(written / R, `movie ${i + 1}/${I}`);
    }
    if (written !== R) throw new Error(`internal: wrote ${written} ratings, expected ${R}`);
    let maxUser = 0;
    for (let u = 0; u < U; u++) maxUser = Math.max(maxUser, userRatings[u]);
    let maxItem = 0;
    let minItem = Infinity;
    for (let i = 0; i < I; i++) {
      maxItem = Math.max(maxItem, itemCount[i]);
      minItem = Math.min(minItem, itemCount[i]);
    }
    const summary: NetflixSynthSummary = {
      users: U, items: I, ratings: R, seed, groups: G, groupBoost: beta,
      inGroupShare: inGroup / R, maxUserRatings: maxUser, maxItemRatings: maxItem, minItemRatings: minItem,
    };
    writeFileSync(join(tmp, "synth.json"), JSON.stringify(summary, null, 2) + "\n");
    // Groups by customer id and by movie id (movie i + 1), for checking what models find.
    writeFileSync(join(tmp, "planted.json"), JSON.stringify({ customerIds: Array.from(customerId), userGroups: Array.from(userGroup), itemGroups: Array.from(itemGroup) }) + "\n");
    renameSync(tmp, out);
    return summary;
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

if ((import.meta as { main?: boolean }).main ?? (typeof process !== "undefined" && process.argv[1]?.endsWith("netflix-synth.ts"))) {
  const cli = cac("netflix-synth");
  cli
    .option("--out <dir>", "New folder to write (training_set/mv_*.txt, synth.json, planted.json)")
    .option("--scale <s>", "Users and ratings × s, movies × √s (1 = Netflix's size)", { default: 1 })
    .option("--users <n>", "Users (overrides --scale)")
    .option("--items <n>", "Movies (overrides --scale)")
    .option("--ratings <n>", "Ratings (overrides --scale)")
    .option("--seed <n>", "Random seed", { default: 1 })
    .option("--groups <n>", "Planted taste groups", { default: 40 })
    .option("--group-boost <b>", "Own-group affinity: weight 1 + b", { default: 20 })
    .help();
  const { options } = cli.parse();
  if (!options.help) {
    try {
      if (!options.out) throw new Error("--out is required");
      const shape = scaledShape(Number(options.scale));
      const pick = (v: unknown, d: number) => (v === undefined ? d : Number(v));
      const progress = new Progress("netflix-synth");
      const started = Date.now();
      const summary = generateNetflixSynth(String(options.out), {
        users: pick(options.users, shape.users),
        items: pick(options.items, shape.items),
        ratings: pick(options.ratings, shape.ratings),
        seed: Number(options.seed),
        groups: Number(options.groups),
        groupBoost: Number(options.groupBoost),
      }, (f, m) => progress.update(f, m));
      progress.done();
      const seconds = (Date.now() - started) / 1000;
      console.log(JSON.stringify({ ...summary, out: String(options.out), seconds, maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024) }));
    } catch (e) {
      console.error(`netflix-synth: ${(e as Error).message}`);
      process.exitCode = 1;
    }
  }
}
