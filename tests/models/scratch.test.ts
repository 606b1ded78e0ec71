/** FitScratch: typed slots, and shared device resources released on clear. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { FitScratch, ScratchSlot, SharedResource } from "../../lib/models/scratch.ts";

test("FitScratch keys entries by slot and key, and clear() releases shared resources once", () => {
  const scratch = new FitScratch();
  const numbers = new ScratchSlot<number[]>("numbers");
  const other = new ScratchSlot<number[]>("other");
  scratch.set(numbers, "a", [1]);
  assert.deepEqual(scratch.get(numbers, "a"), [1]);
  assert.equal(scratch.get(other, "a"), undefined);
  let disposed = 0;
  const resource = new SharedResource({ dispose: () => disposed++ });
  scratch.set(new ScratchSlot<SharedResource<{ dispose(): void }>>("device"), "k", resource.retain());
  resource.release(); // the model's own reference goes
  assert.equal(disposed, 0, "the scratch still holds it");
  scratch.clear();
  assert.equal(disposed, 1);
  assert.throws(() => resource.retain(), /used after release/);
});
