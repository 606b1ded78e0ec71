/**
 * Parquet interaction logs, read through DuckDB's Node API (@duckdb/node-api,
 * an optional dependency). It is imported only when a Parquet file is read,
 * so nothing else pays for its native library.
 */
import { closeSync, openSync, readSync } from "node:fs";
import {
  checkId,
  columnsFromHeader,
  type Fail,
  InteractionFileError,
  parseRating,
  parseTimestamp,
  type RawInteractions,
  RawInteractionsBuilder,
  type ReadOptions,
} from "./text.ts";

/** True when the file starts with Parquet's magic bytes `PAR1`. */
export function isParquetFile(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return false; // reported by the reader that opens it
  }
  try {
    const head = new Uint8Array(4);
    return readSync(fd, head, 0, 4, 0) === 4 && new TextDecoder().decode(head) === "PAR1";
  } finally {
    closeSync(fd);
  }
}

const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;
const sqlName = (s: string) => `"${s.replaceAll('"', '""')}"`;
const NUMERIC = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL.*)$/;
const TEXT = /^VARCHAR$/;
const TIME = /^(DATE|TIMESTAMP.*)$/;

/** DuckDB's first message line, without its "Error: " prefixes. */
const duckMessage = (e: unknown) => String((e as Error).message ?? e).split("\n")[0];

/**
 * Reads interactions from a Parquet file: user and item columns (any type,
 * read as text), and optionally a numeric rating and a timestamp (numbers in
 * seconds, DATE/TIMESTAMP values, or text as in CSV files). Columns are found
 * by name as in CSV headers, or given in `options.columns` by name or
 * position. Problems name the file and the 1-based row.
 */
export async function readParquet(path: string, options: ReadOptions = {}): Promise<RawInteractions> {
  if (options.delimiter !== undefined || options.header !== undefined) {
    throw new InteractionFileError(path, 0, "a delimiter or header choice applies to csv and tsv files, not to Parquet");
  }
  try {
    closeSync(openSync(path, "r"));
  } catch (e) {
    throw new InteractionFileError(path, 0, `cannot open: ${(e as Error).message}`);
  }
  let duckdb: typeof import("@duckdb/node-api");
  try {
    duckdb = await import("@duckdb/node-api");
  } catch (e) {
    throw new InteractionFileError(path, 0, `reading Parquet needs the optional package @duckdb/node-api (npm install @duckdb/node-api): ${duckMessage(e)}`);
  }
  const instance = await duckdb.DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    const file = `read_parquet(${sqlString(path)})`;
    let described;
    try {
      described = await connection.runAndReadAll(`DESCRIBE SELECT * FROM ${file}`);
    } catch (e) {
      throw new InteractionFileError(path, 0, `not a readable Parquet file: ${duckMessage(e)}`);
    }
    const header = described.getRows().map((row) => String(row[0]));
    const types = described.getRows().map((row) => String(row[1]));
    const fileFail: Fail = (problem) => {
      throw new InteractionFileError(path, 0, problem);
    };
    const cols = columnsFromHeader(header, options.columns, fileFail);
    const valueExpr = (at: number, role: "rating" | "timestamp") => {
      const name = sqlName(header[at]);
      const type = types[at];
      if (NUMERIC.test(type)) return `CAST(${name} AS DOUBLE)`;
      if (TEXT.test(type)) return name;
      if (role === "timestamp" && TIME.test(type)) return `CAST(epoch(${name}) AS DOUBLE)`;
      return fileFail(`the ${role} column "${header[at]}" has type ${type}, not a number${role === "timestamp" ? ", date or time" : ""}`);
    };
    const select = [`CAST(${sqlName(header[cols.user])} AS VARCHAR)`, `CAST(${sqlName(header[cols.item])} AS VARCHAR)`];
    if (cols.rating >= 0) select.push(valueExpr(cols.rating, "rating"));
    if (cols.timestamp >= 0) select.push(valueExpr(cols.timestamp, "timestamp"));

    const b = new RawInteractionsBuilder(path, options.minRating);
    b.setColumns(cols.rating >= 0, cols.timestamp >= 0);
    let row = 0;
    const fail: Fail = (problem) => {
      throw new InteractionFileError(path, 0, `row ${row}: ${problem}`);
    };
    const text = (v: unknown, what: string) => (v === null ? fail(`empty ${what}`) : String(v));
    const ratingOf = (v: unknown) => (typeof v === "number" ? (Number.isFinite(v) ? v : fail(`rating ${v} is not finite`)) : parseRating(text(v, "rating"), fail));
    const timestampOf = (v: unknown) =>
      typeof v === "number" ? (Number.isFinite(v) ? v : fail(`timestamp ${v} is not finite`)) : parseTimestamp(text(v, "timestamp"), fail);
    const result = await connection.stream(`SELECT ${select.join(", ")} FROM ${file}`);
    const ratingAt = cols.rating >= 0 ? 2 : -1;
    const timestampAt = cols.timestamp >= 0 ? select.length - 1 : -1;
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      const users = chunk.getColumnValues(0);
      const items = chunk.getColumnValues(1);
      const ratings = ratingAt >= 0 ? chunk.getColumnValues(ratingAt) : null;
      const timestamps = timestampAt >= 0 ? chunk.getColumnValues(timestampAt) : null;
      for (let k = 0; k < chunk.rowCount; k++) {
        row++;
        const user = checkId(text(users[k], "user id"), "user", fail);
        const item = checkId(text(items[k], "item id"), "item", fail);
        b.add(user, item, ratings ? ratingOf(ratings[k]) : NaN, timestamps ? timestampOf(timestamps[k]) : NaN);
      }
    }
    return b.finish();
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
