import assert from "node:assert/strict";
import { test } from "node:test";
import { Float32ScratchPool } from "../../lib/util/scratch-pool.ts";

test("Float32ScratchPool hands back the smallest idle buffer that fits, keeps at most `keep`, never one buffer twice", () => {
  const pool = new Float32ScratchPool(2);
  const a = pool.take(100);
  const b = pool.take(50);
  assert.notEqual(a, b, "two takes without a give are two buffers");
  assert.ok(a.length >= 100 && b.length >= 50);
  pool.give(a);
  pool.give(b);
  pool.give(b); // a second give of the same buffer is ignored
  assert.equal(pool.take(40), b, "the smallest idle buffer that fits");
  assert.equal(pool.take(40), a);
  assert.notEqual(pool.take(40), a, "nothing idle: a new buffer");
  // keep = 2: of three idle buffers the two largest stay
  const small = new Float32Array(10);
  pool.give(a);
  pool.give(b);
  pool.give(small);
  assert.equal(pool.take(1), b);
  assert.equal(pool.take(1), a);
  assert.notEqual(pool.take(1), small, "the smallest was dropped");
  assert.throws(() => pool.take(-1), /bad size -1/);
  assert.throws(() => pool.take(1.5), /bad size 1.5/);
});
