/**
 * Runs a probe script with ORT's verbose log on (INFREC_ORT_LOG=verbose) in a
 * child process and returns the op types ORT placed on the CPU EP. With
 * `wholeGraphs` false, graphs placed on the CPU as a whole ("All nodes placed
 * on [CPUExecutionProvider]": the float64 ones, which WebGPU cannot run) are left out.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export function cpuPlacedOps(probeUrl: URL, wholeGraphs = true): Set<string> {
  const probe = fileURLToPath(probeUrl);
  const r = spawnSync(process.execPath, ["--import", "tsx", probe], { encoding: "utf8", env: { ...process.env, INFREC_ORT_LOG: "verbose" }, maxBuffer: 1 << 28 });
  assert.equal(r.status, 0, r.stderr.slice(-2000));
  const log = `${r.stdout}${r.stderr}`;
  assert.ok(log.includes("Node placements"), "ORT's verbose log has the node placements");
  // The node lists that follow "placed on [CPUExecutionProvider]", up to the next list.
  const onCpu = new Set<string>();
  let inCpu = false;
  for (const line of log.split("\n")) {
    if (line.includes("placed on [CPUExecutionProvider]")) inCpu = wholeGraphs || !line.includes("All nodes placed");
    else if (line.includes("placed on [") || line.includes("Some nodes were not")) inCpu = false;
    else if (inCpu) {
      const m = line.match(/\]\s+(\w+) \(/);
      if (m) onCpu.add(m[1]);
    }
  }
  return onCpu;
}
