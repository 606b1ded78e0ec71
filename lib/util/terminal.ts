/** Terminal output shared by the CLI and the scripts: aligned tables, progress lines with ETA. */

export function table(rows: (string | number)[][]): string {
  const cells = rows.map((r) => r.map((c) => (typeof c === "number" ? formatNumber(c) : c)));
  const widths = cells[0].map((_, j) => Math.max(...cells.map((r) => (r[j] ?? "").length)));
  return cells.map((r) => r.map((c, j) => (j === 0 ? c.padEnd(widths[j]) : c.padStart(widths[j]))).join("  ")).join("\n");
}

export function formatNumber(x: number): string {
  if (Number.isInteger(x)) return String(x);
  if (Math.abs(x) < 1e-3 && x !== 0) return x.toExponential(3);
  return x.toFixed(4);
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return "?";
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.round(s - 60 * m)).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/**
 * A progress reporter writing to stderr: a redrawn bar on a terminal, a line
 * every few seconds otherwise (CI logs), silent when disabled.
 */
export class Progress {
  private readonly start = Date.now();
  private lastLine = 0;
  constructor(private readonly label: string, private readonly enabled = true) {}

  update(fraction: number, message = ""): void {
    if (!this.enabled) return;
    const now = Date.now();
    const elapsed = (now - this.start) / 1000;
    const eta = fraction > 0 ? (elapsed * (1 - fraction)) / fraction : Infinity;
    const tty = typeof process !== "undefined" && process.stderr.isTTY;
    const pct = Math.max(0, Math.min(100, Math.round(fraction * 100)));
    const width = 24;
    const filled = Math.round((pct / 100) * width);
    const bar = `[${"#".repeat(filled)}${".".repeat(width - filled)}]`;
    const line = `${this.label} ${bar} ${String(pct).padStart(3)}% ${message} elapsed ${formatSeconds(elapsed)} ETA ${formatSeconds(eta)}`;
    if (tty) process.stderr.write(`\r${line}\x1b[K`);
    else if (now - this.lastLine > 5000 || fraction >= 1) {
      process.stderr.write(line + "\n");
      this.lastLine = now;
    }
  }

  done(message = ""): void {
    if (!this.enabled) return;
    this.update(1, message);
    if (typeof process !== "undefined" && process.stderr.isTTY) process.stderr.write("\n");
  }
}

/**
 * A fit's onProgress for line logs: a line when the phase changes, and within
 * a phase at most one every `everyMs` with its percentage, so a phase that
 * reports per block (the item Gram's row ranges) does not flood the log.
 */
export function phaseLogger(log: (line: string) => void, prefix = "", everyMs = 5000, now: () => number = Date.now): (fraction: number, phase: string) => void {
  let last: string | undefined;
  let at = 0;
  return (fraction, phase) => {
    const t = now();
    if (phase !== last) log(`${prefix}${phase}`);
    else if (t - at >= everyMs) log(`${prefix}${phase} ${Math.round(Math.max(0, Math.min(1, fraction)) * 100)}%`);
    else return;
    last = phase;
    at = t;
  };
}
