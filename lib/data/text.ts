/**
 * Readers for raw interaction logs: MovieLens `::` files, CSV/TSV, RecBole
 * `.inter` atomic files and the Netflix Prize per-movie format.
 *
 * Files are parsed line by line from fixed-size chunks, so memory grows with
 * the number of rows (a few typed-array bytes each) and distinct ids, not with
 * the file's size in characters. Ids are interned: each row stores an index
 * into `userIds` / `itemIds`.
 */
import { closeSync, openSync, readdirSync, readSync, statSync } from "node:fs";
import { join } from "node:path";

export type InteractionFormat = "movielens" | "csv" | "tsv" | "recbole" | "netflix";

/** A flat list of interactions in columnar form. */
export interface RawInteractions {
  /** Where the rows came from (the path as given), for messages. */
  readonly source: string;
  /** Distinct original user ids, in order of first appearance. */
  readonly userIds: readonly string[];
  /** Distinct original item ids, in order of first appearance. */
  readonly itemIds: readonly string[];
  /** Per row: index into `userIds`. */
  readonly users: Int32Array;
  /** Per row: index into `itemIds`. */
  readonly items: Int32Array;
  /** Per row rating, or null when the file has none. */
  readonly ratings: Float32Array | null;
  /** Per row timestamp in seconds since the Unix epoch, or null when the file has none. */
  readonly timestamps: Float64Array | null;
}

/** A column given by header name or by 0-based position. */
export type ColumnRef = string | number;

/**
 * Which columns hold what (CSV/TSV and RecBole files). Names need a header;
 * positions also work without one, and then only the columns given are read
 * (e.g. Amazon ratings-only files: `{ item: 0, user: 1, rating: 2, timestamp: 3 }`).
 */
export interface ColumnSpec {
  user?: ColumnRef;
  item?: ColumnRef;
  rating?: ColumnRef;
  timestamp?: ColumnRef;
}

const COLUMN_ROLES = ["user", "item", "rating", "timestamp"] as const;

/**
 * Parses a column list such as `user,item,rating,ts` or `1,0,2,3`: names or
 * 0-based positions of the user, item, rating and timestamp columns, in that
 * order. Trailing ones may be left out and an empty entry skips one
 * (`userId,movieId,,timestamp` reads no rating). An error for fewer than two
 * entries, more than four, a missing user or item, or a repeated column.
 */
export function parseColumnList(text: string): ColumnSpec {
  const parts = text.split(",").map((p) => p.trim());
  if (parts.length < 2 || parts.length > 4) {
    throw new Error(`columns: expected 2 to 4 comma-separated names or positions (user,item[,rating[,timestamp]]), got ${JSON.stringify(text)}`);
  }
  const spec: ColumnSpec = {};
  const seen = new Set<string>();
  parts.forEach((part, k) => {
    const role = COLUMN_ROLES[k];
    if (part === "") {
      if (role === "user" || role === "item") throw new Error(`columns: the ${role} column is missing in ${JSON.stringify(text)}`);
      return;
    }
    const ref: ColumnRef = /^\d+$/.test(part) ? Number(part) : part;
    const key = typeof ref === "number" ? `#${ref}` : norm(ref);
    if (seen.has(key)) throw new Error(`columns: ${JSON.stringify(part)} is given twice in ${JSON.stringify(text)}`);
    seen.add(key);
    spec[role] = ref;
  });
  return spec;
}

/** Checks a delimiter option; returns it. */
function checkDelimiter(delimiter: string): string {
  if (delimiter.length !== 1 || (delimiter !== "\t" && /["\s]/.test(delimiter))) {
    throw new Error(`delimiter must be one character other than a quote, a space or a line break, got ${JSON.stringify(delimiter)}`);
  }
  return delimiter;
}

export interface ReadOptions {
  /** Default "auto": by extension, then by the first line's content. */
  format?: InteractionFormat | "auto";
  /** Keep only rows with rating ≥ this (implicit feedback from explicit ratings). */
  minRating?: number;
  /**
   * CSV/TSV only: the field delimiter, one character other than a quote, a
   * space or a line break (a tab is fine); detected from the first line (tab, comma or
   * semicolon) when absent. Given with format "auto", the file is read as CSV.
   */
  delimiter?: string;
  /** CSV/TSV only: whether the first line is a header; detected when absent. */
  header?: boolean;
  /**
   * Columns by name or position, overriding the built-in name lists and order
   * (CSV/TSV, RecBole; positions only for MovieLens `::` files).
   */
  columns?: ColumnSpec;
  /** Bytes read per chunk (tests use small chunks to exercise chunk boundaries). */
  chunkBytes?: number;
}

/** A problem in an input file; `line` is 1-based, 0 when it concerns the whole file. */
export class InteractionFileError extends Error {
  readonly file: string;
  readonly line: number;
  constructor(file: string, line: number, problem: string) {
    super(line > 0 ? `${file}:${line}: ${problem}` : `${file}: ${problem}`);
    this.name = "InteractionFileError";
    this.file = file;
    this.line = line;
  }
}

// ---------------------------------------------------------------- lines

/**
 * Calls `onLine` for every line of a UTF-8 text file (without the line break
 * and a trailing `\r`; a leading BOM is dropped). Reads `chunkBytes` at a time.
 */
export function forEachLine(
  path: string,
  onLine: (line: string, lineNumber: number) => void,
  chunkBytes = 1 << 20,
): void {
  const fd = openForReading(path);
  try {
    const buffer = new Uint8Array(Math.max(16, chunkBytes));
    const decoder = new TextDecoder("utf-8");
    let carry = "";
    let lineNumber = 0;
    let first = true;
    const emit = (line: string) => {
      lineNumber++;
      if (first) {
        first = false;
        if (line.charCodeAt(0) === 0xfeff) line = line.slice(1);
      }
      if (line.charCodeAt(line.length - 1) === 13) line = line.slice(0, -1);
      onLine(line, lineNumber);
    };
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, null);
      const text = n > 0 ? decoder.decode(buffer.subarray(0, n), { stream: true }) : decoder.decode();
      const chunk = carry + text;
      let start = 0;
      for (let nl = chunk.indexOf("\n"); nl >= 0; nl = chunk.indexOf("\n", start)) {
        emit(chunk.slice(start, nl));
        start = nl + 1;
      }
      carry = chunk.slice(start);
      if (n === 0) break;
    }
    if (carry.length > 0) emit(carry);
  } finally {
    closeSync(fd);
  }
}

function openForReading(path: string): number {
  try {
    return openSync(path, "r");
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "ENOENT") throw new InteractionFileError(path, 0, "file not found");
    if (code === "EISDIR") throw new InteractionFileError(path, 0, "is a directory, not a file");
    throw new InteractionFileError(path, 0, `cannot open: ${(e as Error).message}`);
  }
}

/** The first `maxBytes` of a file as text (for format sniffing). */
function readHead(path: string, maxBytes = 1 << 16): string {
  const fd = openForReading(path);
  try {
    const buffer = new Uint8Array(maxBytes);
    const n = readSync(fd, buffer, 0, maxBytes, 0);
    return new TextDecoder("utf-8").decode(buffer.subarray(0, n)).replace(/^\uFEFF/, "");
  } finally {
    closeSync(fd);
  }
}

// ---------------------------------------------------------------- builder

class Int32Growable {
  data = new Int32Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) this.data = grow(this.data, new Int32Array(this.data.length * 2));
    this.data[this.length++] = v;
  }
  take(): Int32Array {
    return this.data.slice(0, this.length);
  }
}

class Float32Growable {
  data = new Float32Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) this.data = grow(this.data, new Float32Array(this.data.length * 2));
    this.data[this.length++] = v;
  }
  take(): Float32Array {
    return this.data.slice(0, this.length);
  }
}

class Float64Growable {
  data = new Float64Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) this.data = grow(this.data, new Float64Array(this.data.length * 2));
    this.data[this.length++] = v;
  }
  take(): Float64Array {
    return this.data.slice(0, this.length);
  }
}

function grow<T extends Int32Array | Float32Array | Float64Array>(old: T, bigger: T): T {
  bigger.set(old);
  return bigger;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Copies a string so that an interned id does not keep the whole chunk it was
 * sliced from alive (V8 keeps substrings of 13+ characters as views).
 */
function detached(s: string): string {
  return s.length < 13 ? s : decoder.decode(encoder.encode(s));
}

/** Accumulates rows, interning ids; applies the rating threshold on the fly. */
export class RawInteractionsBuilder {
  readonly source: string;
  private readonly userIndex = new Map<string, number>();
  private readonly itemIndex = new Map<string, number>();
  private readonly userIds: string[] = [];
  private readonly itemIds: string[] = [];
  private readonly users = new Int32Growable();
  private readonly items = new Int32Growable();
  private ratings: Float32Growable | null = null;
  private timestamps: Float64Growable | null = null;
  private readonly minRating: number | undefined;
  private columnsSet = false;
  /** Rows seen, including those the threshold dropped. */
  rowsRead = 0;

  constructor(source: string, minRating?: number) {
    if (minRating !== undefined && !Number.isFinite(minRating)) {
      throw new Error(`minRating must be a finite number, got ${minRating}`);
    }
    this.source = source;
    this.minRating = minRating;
  }

  /** Declares which optional columns the rows carry; call once before `add`. */
  setColumns(hasRatings: boolean, hasTimestamps: boolean): void {
    if (this.columnsSet) return;
    this.columnsSet = true;
    if (this.minRating !== undefined && !hasRatings) {
      throw new InteractionFileError(this.source, 0, `a rating threshold (${this.minRating}) was given but the file has no rating column`);
    }
    this.ratings = hasRatings ? new Float32Growable() : null;
    this.timestamps = hasTimestamps ? new Float64Growable() : null;
  }

  /** Adds one row; `rating` / `timestamp` are ignored when the column was not declared. */
  add(user: string, item: string, rating = NaN, timestamp = NaN): void {
    if (!this.columnsSet) this.setColumns(!Number.isNaN(rating), !Number.isNaN(timestamp));
    this.rowsRead++;
    if (this.minRating !== undefined && !(rating >= this.minRating)) return;
    let u = this.userIndex.get(user);
    if (u === undefined) {
      u = this.userIds.length;
      const id = detached(user);
      this.userIds.push(id);
      this.userIndex.set(id, u);
    }
    let i = this.itemIndex.get(item);
    if (i === undefined) {
      i = this.itemIds.length;
      const id = detached(item);
      this.itemIds.push(id);
      this.itemIndex.set(id, i);
    }
    this.users.push(u);
    this.items.push(i);
    this.ratings?.push(rating);
    this.timestamps?.push(timestamp);
  }

  /** The rows gathered; an error when there are none. */
  finish(): RawInteractions {
    if (this.rowsRead === 0) throw new InteractionFileError(this.source, 0, "no interactions (empty file?)");
    if (this.users.length === 0) {
      throw new InteractionFileError(
        this.source,
        0,
        `no interactions with rating >= ${this.minRating} (of ${this.rowsRead} read)`,
      );
    }
    return {
      source: this.source,
      userIds: this.userIds,
      itemIds: this.itemIds,
      users: this.users.take(),
      items: this.items.take(),
      ratings: this.ratings ? this.ratings.take() : null,
      timestamps: this.timestamps ? this.timestamps.take() : null,
    };
  }
}

/** Builds RawInteractions from row objects (for tests and programmatic input). */
export function rawFromRows(
  rows: readonly { user: string; item: string; rating?: number; timestamp?: number }[],
  source = "<rows>",
): RawInteractions {
  const b = new RawInteractionsBuilder(source);
  if (rows.length > 0) b.setColumns(rows[0].rating !== undefined, rows[0].timestamp !== undefined);
  rows.forEach((r, k) => {
    if (r.rating !== undefined && !Number.isFinite(r.rating)) throw new Error(`${source}: row ${k}: rating ${r.rating} is not finite`);
    b.add(r.user, r.item, r.rating ?? NaN, r.timestamp ?? NaN);
  });
  return b.finish();
}

/** Keeps the rows with rating ≥ threshold, dropping ids no kept row uses. */
export function filterByRating(raw: RawInteractions, threshold: number): RawInteractions {
  if (!raw.ratings) throw new Error(`${raw.source}: a rating threshold (${threshold}) was given but there are no ratings`);
  const b = new RawInteractionsBuilder(raw.source, threshold);
  b.setColumns(true, raw.timestamps !== null);
  for (let r = 0; r < raw.users.length; r++) {
    b.add(raw.userIds[raw.users[r]], raw.itemIds[raw.items[r]], raw.ratings[r], raw.timestamps ? raw.timestamps[r] : NaN);
  }
  return b.finish();
}

// ---------------------------------------------------------------- fields

/** Throws an error located at the current line. */
export type Fail = (problem: string) => never;

export function parseRating(field: string, fail: Fail, what = "rating"): number {
  const s = field.trim();
  if (s === "") fail(`empty ${what}`);
  const v = Number(s);
  if (Number.isNaN(v)) fail(s.toLowerCase() === "nan" ? `${what} is NaN` : `non-numeric ${what} "${s}"`);
  if (!Number.isFinite(v)) fail(`${what} "${s}" is not finite`);
  return v;
}

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** YYYY-MM-DD (UTC midnight) or an ISO date-time (UTC unless it names a zone), in seconds. */
function parseDate(s: string): number {
  const m = DATE_ONLY.exec(s);
  if (m) {
    const y = Number(m[1]);
    const mo = Number(m[2]);
    const d = Number(m[3]);
    const ms = Date.UTC(y, mo - 1, d);
    const back = new Date(ms);
    if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return NaN;
    return ms / 1000;
  }
  if (DATE_TIME.test(s)) {
    let iso = s.replace(" ", "T");
    if (!/(Z|[+-]\d{2}:?\d{2})$/.test(iso)) iso += "Z";
    return Date.parse(iso) / 1000;
  }
  return NaN;
}

/** A timestamp field: a number (taken as seconds) or a date. */
export function parseTimestamp(field: string, fail: Fail): number {
  const s = field.trim();
  if (s === "") fail("empty timestamp");
  const v = Number(s);
  if (Number.isFinite(v)) return v;
  const t = parseDate(s);
  if (!Number.isFinite(t)) fail(`timestamp "${s}" is neither a number nor a date (YYYY-MM-DD)`);
  return t;
}

export function checkId(field: string, what: string, fail: Fail): string {
  const s = field.trim();
  if (s === "") fail(`empty ${what} id`);
  return s;
}

/** Splits one delimited line; handles "quoted" fields with "" escapes. Unquoted fields are trimmed. */
export function splitDelimited(line: string, delimiter: string, fail: Fail): string[] {
  if (line.indexOf('"') < 0) {
    const parts = line.split(delimiter);
    for (let k = 0; k < parts.length; k++) parts[k] = parts[k].trim();
    return parts;
  }
  const fields: string[] = [];
  let k = 0;
  const n = line.length;
  for (;;) {
    while (k < n && (line[k] === " " || (line[k] === "\t" && delimiter !== "\t"))) k++;
    if (line[k] === '"') {
      let value = "";
      k++;
      for (;;) {
        const q = line.indexOf('"', k);
        if (q < 0) fail("unterminated quoted field (quoted line breaks are not supported)");
        value += line.slice(k, q);
        if (line[q + 1] === '"') {
          value += '"';
          k = q + 2;
        } else {
          k = q + 1;
          break;
        }
      }
      while (k < n && line[k] !== delimiter && /\s/.test(line[k])) k++;
      if (k < n && line[k] !== delimiter) fail(`unexpected character '${line[k]}' after a closing quote`);
      fields.push(value);
    } else {
      const d = line.indexOf(delimiter, k);
      const end = d < 0 ? n : d;
      const value = line.slice(k, end).trim();
      if (value.includes('"')) fail(`stray quote in unquoted field ${JSON.stringify(value)}`);
      fields.push(value);
      k = end;
    }
    if (k >= n) return fields;
    k++; // skip the delimiter
    if (k === n) {
      fields.push("");
      return fields;
    }
  }
}

// ---------------------------------------------------------------- column names

const norm = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, "");
const USER_NAMES = new Set(["user", "userid", "users", "uid", "customerid", "reviewerid", "visitorid"]);
const ITEM_NAMES = new Set([
  "item", "itemid", "items", "iid", "movie", "movieid", "productid", "product", "asin", "bookid", "isbn", "trackid",
  "songid", "artistid", "businessid", "gameid", "appid",
]);
const RATING_NAMES = new Set(["rating", "ratings", "score", "stars", "overall", "preference", "value"]);
const TIMESTAMP_NAMES = new Set(["timestamp", "time", "ts", "date", "datetime", "unixreviewtime", "created"]);

/** 0-based positions of the columns read. */
export interface ColumnIndices {
  user: number;
  item: number;
  rating: number; // -1 when absent
  timestamp: number; // -1 when absent
}

/**
 * Finds columns in a header (`names` normalised); explicit refs win over the
 * built-in name lists. Returns null when user or item is not found; an
 * explicitly named column that is missing is an error.
 */
function columnsByName(names: readonly string[], explicit: ColumnSpec | undefined, fail: Fail): ColumnIndices | null {
  const find = (want: ColumnRef | undefined, known: Set<string>): number => {
    if (typeof want === "number") return want;
    if (want !== undefined) {
      const at = names.indexOf(norm(want));
      if (at < 0) fail(`header has no column "${want}" (columns: ${names.join(", ")})`);
      return at;
    }
    return names.findIndex((n) => known.has(n));
  };
  const user = find(explicit?.user, USER_NAMES);
  const item = find(explicit?.item, ITEM_NAMES);
  if (user < 0 || item < 0 || user === item) return null;
  return { user, item, rating: find(explicit?.rating, RATING_NAMES), timestamp: find(explicit?.timestamp, TIMESTAMP_NAMES) };
}

/**
 * Column positions from a header's names (as written): explicit names or
 * positions first, then the known names (userId, movieId, rating, timestamp, …);
 * -1 for an absent rating or timestamp. Fails when user or item is not found.
 */
export function columnsFromHeader(header: readonly string[], explicit: ColumnSpec | undefined, fail: Fail): ColumnIndices {
  for (const ref of Object.values(explicit ?? {})) {
    if (typeof ref === "number" && !(Number.isInteger(ref) && ref >= 0 && ref < header.length)) {
      fail(`column position ${ref} outside 0..${header.length - 1} (columns: ${header.join(", ")})`);
    }
  }
  const cols = columnsByName(header.map(norm), explicit, fail);
  if (!cols) fail(`no user and item columns among ${header.join(", ")} (name them, e.g. columns user,item)`);
  return cols as ColumnIndices;
}

function positional(count: number): ColumnIndices {
  return { user: 0, item: 1, rating: count > 2 ? 2 : -1, timestamp: count > 3 ? 3 : -1 };
}

/** Columns from explicit positions (no header); an error when a name is given. */
function byPosition(spec: ColumnSpec, fail: Fail): ColumnIndices {
  const refs = [spec.user, spec.item, spec.rating, spec.timestamp];
  for (const r of refs) {
    if (r === undefined) continue;
    if (typeof r === "string") fail(`column "${r}" was given by name but the file has no header`);
    if (!(Number.isInteger(r) && r >= 0)) fail(`column position ${r} must be a non-negative integer`);
  }
  const cols = { user: spec.user ?? 0, item: spec.item ?? 1, rating: spec.rating ?? -1, timestamp: spec.timestamp ?? -1 } as ColumnIndices;
  if (cols.user === cols.item) fail(`user and item columns are both position ${cols.user}`);
  return cols;
}

// ---------------------------------------------------------------- formats

/** Shared per-line driver: skips blank lines and turns `fail` into a located error. */
function readLines(
  path: string,
  chunkBytes: number | undefined,
  onLine: (line: string, fail: Fail, lineNumber: number) => void,
): void {
  let current = 0;
  // One closure for the whole file: creating one per line costs ~10% of the parse time.
  const fail: Fail = (problem) => {
    throw new InteractionFileError(path, current, problem);
  };
  forEachLine(
    path,
    (line, lineNumber) => {
      if (line.length === 0 || (line.charCodeAt(0) <= 32 && line.trim() === "")) return;
      current = lineNumber;
      onLine(line, fail, lineNumber);
    },
    chunkBytes,
  );
}

/** Adds one row from split fields using the given column positions. */
function addFields(b: RawInteractionsBuilder, fields: readonly string[], cols: ColumnIndices, fail: Fail): void {
  const need = Math.max(cols.user, cols.item, cols.rating, cols.timestamp) + 1;
  if (fields.length < need) fail(`expected at least ${need} fields, got ${fields.length}`);
  const user = checkId(fields[cols.user], "user", fail);
  const item = checkId(fields[cols.item], "item", fail);
  const rating = cols.rating >= 0 ? parseRating(fields[cols.rating], fail) : NaN;
  const timestamp = cols.timestamp >= 0 ? parseTimestamp(fields[cols.timestamp], fail) : NaN;
  b.add(user, item, rating, timestamp);
}

/** MovieLens ratings.dat: `user::item::rating::timestamp` (rating and timestamp optional). */
function readMovieLens(path: string, b: RawInteractionsBuilder, options: ReadOptions): void {
  let cols: ColumnIndices | null = null;
  readLines(path, options.chunkBytes, (line, fail) => {
    const fields = line.split("::");
    if (!cols) {
      if (fields.length < 2) fail(`expected at least 2 '::'-separated fields, got ${fields.length}`);
      cols = options.columns ? byPosition(options.columns, fail) : positional(Math.min(fields.length, 4));
      b.setColumns(cols.rating >= 0, cols.timestamp >= 0);
    }
    addFields(b, fields, cols, fail);
  });
}

function looksNumeric(s: string): boolean {
  return s.trim() !== "" && Number.isFinite(Number(s));
}

/** Counts a delimiter's occurrences outside double quotes. */
function countOutsideQuotes(line: string, ch: string): number {
  let n = 0;
  let quoted = false;
  for (let k = 0; k < line.length; k++) {
    const c = line[k];
    if (c === '"') quoted = !quoted;
    else if (c === ch && !quoted) n++;
  }
  return n;
}

/** Picks the delimiter occurring most often outside quotes in the first line (ties: tab, comma, semicolon). */
export function detectDelimiter(line: string): "," | "\t" | ";" | null {
  let best: "," | "\t" | ";" | null = null;
  let bestCount = 0;
  for (const d of ["\t", ",", ";"] as const) {
    const c = countOutsideQuotes(line, d);
    if (c > bestCount) {
      best = d;
      bestCount = c;
    }
  }
  return best;
}

/**
 * CSV / TSV: `user,item[,rating][,timestamp]`, or any column order when a
 * header names the columns. A first line is a header when one of its fields
 * is a known column name (userId, movieId, rating, ...) or when it has a
 * third or fourth field that is not numeric (nor a date, for the fourth).
 */
function readDelimited(path: string, b: RawInteractionsBuilder, options: ReadOptions, forcedDelimiter?: "\t"): void {
  let delimiter: string | undefined = forcedDelimiter ?? options.delimiter;
  const given = delimiter !== undefined;
  let cols: ColumnIndices | null = null;
  readLines(path, options.chunkBytes, (line, fail) => {
    const d = delimiter ?? detectDelimiter(line);
    if (!d) return fail("expected at least 2 fields, got 1 (no comma, tab or semicolon found)");
    delimiter = d;
    const fields = splitDelimited(line, d, fail);
    if (cols) {
      addFields(b, fields, cols, fail);
      return;
    }
    if (fields.length < 2) {
      fail(`expected at least 2 fields separated by ${JSON.stringify(d)}, got ${fields.length}${given ? " (is the delimiter right?)" : ""}`);
    }
    const names = fields.map(norm);
    const anyKnown = names.some((n) => USER_NAMES.has(n) || ITEM_NAMES.has(n) || RATING_NAMES.has(n) || TIMESTAMP_NAMES.has(n));
    const nonNumericTail =
      (fields.length > 2 && !looksNumeric(fields[2])) ||
      (fields.length > 3 && !looksNumeric(fields[3]) && !Number.isFinite(parseDate(fields[3].trim())));
    const specNames = Object.values(options.columns ?? {}).some((ref) => typeof ref === "string");
    const isHeader = options.header ?? (anyKnown || nonNumericTail || specNames);
    if (isHeader) {
      const named = columnsByName(names, options.columns, fail);
      if (!named && options.columns) fail(`could not find user and item columns ${JSON.stringify(options.columns)} in header ${JSON.stringify(fields)}`);
      cols = named ?? positional(Math.min(fields.length, 4));
      b.setColumns(cols.rating >= 0, cols.timestamp >= 0);
      return;
    }
    cols = options.columns ? byPosition(options.columns, fail) : positional(Math.min(fields.length, 4));
    b.setColumns(cols.rating >= 0, cols.timestamp >= 0);
    addFields(b, fields, cols, fail);
  });
}

/**
 * RecBole atomic `.inter` file: a tab-separated header of `name:type` fields
 * (e.g. `user_id:token  item_id:token  rating:float  timestamp:float`), then
 * rows. The user column is `user_id` (else the first name containing "user"),
 * the item column `item_id` (else the first other `:token` column); rating and
 * timestamp are the columns so named, when present.
 */
function readRecBole(path: string, b: RawInteractionsBuilder, options: ReadOptions): void {
  let cols: ColumnIndices | null = null;
  readLines(path, options.chunkBytes, (line, fail) => {
    const fields = line.split("\t");
    if (cols) {
      addFields(b, fields, cols, fail);
      return;
    }
    const typed = fields.map((f) => {
      const at = f.lastIndexOf(":");
      return at < 0 ? { name: f.trim(), type: "" } : { name: f.slice(0, at).trim(), type: f.slice(at + 1).trim() };
    });
    if (!typed.every((t) => t.type !== "")) {
      fail(`expected a RecBole header of name:type fields (e.g. user_id:token), got ${JSON.stringify(line)}`);
    }
    const names = typed.map((t) => t.name);
    const ex = options.columns;
    const byName = (want: ColumnRef | undefined, fallback: () => number): number => {
      if (typeof want === "number") return want;
      if (want === undefined) return fallback();
      const at = names.indexOf(want);
      if (at < 0) fail(`header has no column "${want}" (columns: ${names.join(", ")})`);
      return at;
    };
    const user = byName(ex?.user, () => {
      const exact = names.indexOf("user_id");
      return exact >= 0 ? exact : names.findIndex((n) => n.toLowerCase().includes("user"));
    });
    const item = byName(ex?.item, () => {
      const exact = names.indexOf("item_id");
      return exact >= 0 ? exact : typed.findIndex((t, k) => k !== user && t.type === "token");
    });
    if (user < 0) fail(`no user column in header ${JSON.stringify(names)}`);
    if (item < 0 || item === user) fail(`no item column in header ${JSON.stringify(names)}`);
    cols = {
      user,
      item,
      rating: byName(ex?.rating, () => names.indexOf("rating")),
      timestamp: byName(ex?.timestamp, () => names.indexOf("timestamp")),
    };
    b.setColumns(cols.rating >= 0, cols.timestamp >= 0);
  });
}

const NETFLIX_MOVIE = /^\s*([^,:\s]+):\s*$/;

/**
 * Netflix Prize: `MovieID:` lines, each followed by `user,rating,YYYY-MM-DD`
 * lines (one file per movie, or several movies concatenated).
 */
function readNetflix(path: string, b: RawInteractionsBuilder, options: ReadOptions): void {
  let movie: string | null = null;
  b.setColumns(true, true);
  readLines(path, options.chunkBytes, (line, fail) => {
    const m = NETFLIX_MOVIE.exec(line);
    if (m) {
      movie = m[1];
      return;
    }
    const item = movie;
    if (item === null) return fail(`expected a 'MovieID:' line before the first rating, got ${JSON.stringify(line)}`);
    const fields = line.split(",");
    if (fields.length !== 3) fail(`expected 3 fields (user,rating,date), got ${fields.length}`);
    const user = checkId(fields[0], "user", fail);
    const rating = parseRating(fields[1], fail);
    const date = fields[2].trim();
    const t = parseDate(date);
    if (!Number.isFinite(t)) fail(`bad date "${date}" (expected YYYY-MM-DD)`);
    b.add(user, item, rating, t);
  });
}

/** The Netflix Prize training set's per-movie file names (mv_0000001.txt …). */
const NETFLIX_FILE = /^mv_\d+\.txt$/;

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false; // a missing path is reported when it is opened
  }
}

/** True when the folder holds at least one Netflix per-movie file. */
export function hasNetflixMovieFiles(dir: string): boolean {
  return readdirSync(dir).some((name) => NETFLIX_FILE.test(name));
}

/** The folder's `mv_*.txt` files in name order (zero-padded, so movie order); an error when it has none. */
export function netflixMovieFiles(dir: string): string[] {
  const files = readdirSync(dir).filter((name) => NETFLIX_FILE.test(name)).sort();
  if (files.length === 0) {
    throw new InteractionFileError(dir, 0, "is a folder without Netflix per-movie files (mv_0000001.txt …); give a file, or a folder of those");
  }
  return files.map((name) => join(dir, name));
}

const RECBOLE_HEADER = /^[^\t:]+:(token|token_seq|float|float_seq)(\t[^\t:]+:(token|token_seq|float|float_seq))*\s*$/;

/** Format from the extension, then from the first non-blank line. */
export function detectFormat(path: string): InteractionFormat {
  if (isDirectory(path)) {
    netflixMovieFiles(path);
    return "netflix";
  }
  const lower = path.toLowerCase();
  if (lower.endsWith(".inter")) return "recbole";
  if (lower.endsWith(".tsv")) return "tsv";
  if (lower.endsWith(".csv")) return "csv";
  const firstLine = readHead(path)
    .split("\n")
    .map((l) => l.replace(/\r$/, ""))
    .find((l) => l.trim() !== "");
  if (firstLine === undefined) throw new InteractionFileError(path, 0, "no interactions (empty file?)");
  if (firstLine.startsWith("PAR1")) throw new InteractionFileError(path, 0, "is a Parquet file: read it with readParquet (--format parquet), not as text");
  if (firstLine.includes("::")) return "movielens";
  if (NETFLIX_MOVIE.test(firstLine)) return "netflix";
  if (RECBOLE_HEADER.test(firstLine)) return "recbole";
  return "csv";
}

/** Options that only some formats have are an error with the others, rather than silently ignored. */
function checkOptionsFit(path: string, format: InteractionFormat, options: ReadOptions): void {
  const problem = (text: string): never => {
    throw new InteractionFileError(path, 0, text);
  };
  const delimited = format === "csv" || format === "tsv";
  if (options.delimiter !== undefined && !delimited) problem(`a delimiter applies to csv and tsv files, not to the ${format} format`);
  if (format === "tsv" && options.delimiter !== undefined && options.delimiter !== "\t") {
    problem(`the tsv format is tab-delimited; got delimiter ${JSON.stringify(options.delimiter)} (use the csv format)`);
  }
  if (options.header !== undefined && !delimited) problem(`a header choice applies to csv and tsv files, not to the ${format} format`);
  if (options.columns !== undefined && format === "netflix") problem("the netflix format has fixed columns (MovieID:, then user,rating,date)");
}

/**
 * Reads an interaction log, or a folder of Netflix per-movie files (read in
 * name order). Malformed rows raise an InteractionFileError naming the file
 * and line; a missing file, an empty file, or no rows left after `minRating`
 * are errors too.
 */
export function readInteractions(
  path: string,
  formatOrOptions: InteractionFormat | "auto" | ReadOptions = {},
): RawInteractions {
  const options: ReadOptions = typeof formatOrOptions === "string" ? { format: formatOrOptions } : formatOrOptions;
  const requested = options.format ?? "auto";
  if (options.delimiter !== undefined) checkDelimiter(options.delimiter);
  // A delimiter says the file is delimited text, whatever its first line looks like.
  const format = requested === "auto" ? (options.delimiter !== undefined && !isDirectory(path) ? "csv" : detectFormat(path)) : requested;
  checkOptionsFit(path, format, options);
  const b = new RawInteractionsBuilder(path, options.minRating);
  if (isDirectory(path)) {
    if (format !== "netflix") throw new InteractionFileError(path, 0, `is a folder; only the netflix format reads folders (of mv_*.txt files), not ${format}`);
    for (const file of netflixMovieFiles(path)) readNetflix(file, b, options);
    return b.finish();
  }
  switch (format) {
    case "movielens":
      readMovieLens(path, b, options);
      break;
    case "csv":
      readDelimited(path, b, options);
      break;
    case "tsv":
      readDelimited(path, b, options, "\t");
      break;
    case "recbole":
      readRecBole(path, b, options);
      break;
    case "netflix":
      readNetflix(path, b, options);
      break;
    default:
      throw new Error(`readInteractions: unknown format ${JSON.stringify(format)}`);
  }
  return b.finish();
}
