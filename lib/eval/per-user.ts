/**
 * Per-user metric rows (EvaluateOptions.perUser) as CSV or JSON Lines, chosen
 * by the file's extension, written atomically.
 */
import { extname } from "node:path";
import { writeFileAtomic } from "../util/files.ts";
import type { PerUserMetrics } from "./evaluate.ts";
import { csvField } from "../util/csv.ts";

export type PerUserFormat = "csv" | "jsonl";

/** ".csv" → csv; ".jsonl" or ".ndjson" → jsonl; anything else throws naming the extension. */
export function perUserFormat(path: string): PerUserFormat {
  const ext = extname(path).toLowerCase();
  if (ext === ".csv") return "csv";
  if (ext === ".jsonl" || ext === ".ndjson") return "jsonl";
  throw new Error(`${path}: unknown extension '${ext}' (use .csv, .jsonl or .ndjson)`);
}

/**
 * One row per user with targets: `user` (the original id), `targets` (how
 * many), then each metric column. NaN (a user's AUC without negatives) is an
 * empty CSV field or JSON null.
 */
export function formatPerUser(rows: PerUserMetrics, userIds: readonly string[], format: PerUserFormat): string {
  const columns = Object.keys(rows.values);
  const idOf = (u: number) => userIds[u] ?? String(u);
  const lines: string[] = [];
  if (format === "csv") {
    lines.push(["user", "targets", ...columns].map(csvField).join(","));
    for (let r = 0; r < rows.users.length; r++) {
      const cells = columns.map((c) => {
        const v = rows.values[c][r];
        return Number.isNaN(v) ? "" : String(v);
      });
      lines.push([csvField(idOf(rows.users[r])), String(rows.targets[r]), ...cells].join(","));
    }
  } else {
    for (let r = 0; r < rows.users.length; r++) {
      const row: Record<string, string | number | null> = { user: idOf(rows.users[r]), targets: rows.targets[r] };
      for (const c of columns) {
        const v = rows.values[c][r];
        row[c] = Number.isNaN(v) ? null : v;
      }
      lines.push(JSON.stringify(row));
    }
  }
  return lines.length ? lines.join("\n") + "\n" : "";
}

/** Only the named metric columns (e.g. the families a user asked to see). */
export function selectPerUserColumns(rows: PerUserMetrics, keep: (metric: string) => boolean): PerUserMetrics {
  const values: Record<string, Float64Array> = {};
  for (const [k, v] of Object.entries(rows.values)) if (keep(k)) values[k] = v;
  return { users: rows.users, targets: rows.targets, values };
}

/** Writes the rows to `path` in the format its extension names (a temp file, then a rename). */
export function writePerUser(path: string, rows: PerUserMetrics, userIds: readonly string[]): void {
  writeFileAtomic(path, formatPerUser(rows, userIds, perUserFormat(path)));
}
