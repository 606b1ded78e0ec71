import assert from "node:assert/strict";
import { test } from "node:test";
import { overrideGrid, parseGridSpec } from "../../lib/eval/grid-spec.ts";

test("parseGridSpec reads keys, numbers, words, booleans and bracketed lists", () => {
  assert.deepEqual(parseGridSpec("lambda=1,5,20; depth = 1 ,2"), [
    { key: "lambda", values: [1, 5, 20] },
    { key: "depth", values: [1, 2] },
  ]);
  assert.deepEqual(parseGridSpec("hidden=[200],[600, 200];precision=float64;flag=true"), [
    { key: "hidden", values: [[200], [600, 200]] },
    { key: "precision", values: ["float64"] },
    { key: "flag", values: [true] },
  ]);
  assert.deepEqual(parseGridSpec("lr=1e-3,.01"), [{ key: "lr", values: [0.001, 0.01] }]);
});

test("parseGridSpec names what is wrong", () => {
  assert.throws(() => parseGridSpec(""), /empty grid/);
  assert.throws(() => parseGridSpec("lambda"), /'lambda' has no '='/);
  assert.throws(() => parseGridSpec("=1"), /no key before '='/);
  assert.throws(() => parseGridSpec("lambda=1,,5"), /lambda: empty value/);
  assert.throws(() => parseGridSpec("lambda=1;lambda=2"), /lambda is given twice/);
  assert.throws(() => parseGridSpec("lambda=Infinity"), /not a finite number/);
  assert.throws(() => parseGridSpec("hidden=[a]"), /not a list of numbers/);
});

test("overrideGrid substitutes the given values and keeps the default grid's other values", () => {
  const infAe = [0, 1, 5].map((lambda) => ({ lambda, depth: 1 }));
  assert.deepEqual(overrideGrid(infAe, parseGridSpec("lambda=1,20"), "inf-ae"), [{ lambda: 1, depth: 1 }, { lambda: 20, depth: 1 }]);
  assert.deepEqual(overrideGrid(infAe, parseGridSpec("depth=2"), "inf-ae"), [0, 1, 5].map((lambda) => ({ lambda, depth: 2 })));
  // A Cartesian default (dim × reg): overriding dim keeps both regs, repeated candidates dropped.
  const mf = [32, 64].flatMap((dim) => [0.01, 0.03].map((reg) => ({ epochs: 100, dim, reg })));
  assert.deepEqual(overrideGrid(mf, parseGridSpec("dim=16"), "mf"), [{ epochs: 100, dim: 16, reg: 0.01 }, { epochs: 100, dim: 16, reg: 0.03 }]);
  assert.deepEqual(overrideGrid([{ hidden: [200], lr: 0.001 }], parseGridSpec("hidden=[600,200]"), "multvae"), [{ hidden: [600, 200], lr: 0.001 }]);
});

test("overrideGrid refuses unknown keys (naming the model's keys), wrong kinds and negative values", () => {
  const grid = [{ lambda: 1, depth: 1 }];
  assert.throws(() => overrideGrid(grid, parseGridSpec("dim=8"), "inf-ae"), /model 'inf-ae' has no hyper-parameter 'dim' \(its grid's keys: lambda, depth\)/);
  assert.throws(() => overrideGrid([{}], parseGridSpec("lambda=1"), "pop"), /model 'pop' has no hyper-parameter 'lambda' \(its grid's keys: none/);
  assert.throws(() => overrideGrid(grid, parseGridSpec("lambda=big"), "inf-ae"), /lambda: '"big"' is not a number/);
  assert.throws(() => overrideGrid(grid, parseGridSpec("lambda=-1"), "inf-ae"), /lambda must not be negative, got -1/);
  assert.throws(() => overrideGrid([{ hidden: [200] }], parseGridSpec("hidden=200"), "multvae"), /hidden: '200' is not a list/);
});
