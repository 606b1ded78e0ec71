import assert from "node:assert/strict";
import { test } from "node:test";
import { phaseLogger } from "../../lib/util/terminal.ts";

test("phaseLogger: a line per phase change, within a phase one every interval with its percentage", () => {
  const lines: string[] = [];
  let clock = 0;
  const report = phaseLogger((l) => lines.push(l), "  ease: ", 5000, () => clock);
  for (let k = 1; k <= 150; k++) {
    clock = k * 100; // 150 calls over 15 s
    report((0.2 * k) / 150, "gram");
  }
  clock += 10;
  report(0.5, "factor");
  report(0.95, "inverse");
  report(1, "weights");
  assert.deepEqual(lines, ["  ease: gram", "  ease: gram 7%", "  ease: gram 13%", "  ease: factor", "  ease: inverse", "  ease: weights"]);
});
