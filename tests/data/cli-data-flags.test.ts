import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { runCli } from "../../lib/cli/main.ts";

const FIXTURES = join(import.meta.dirname, "../fixtures/data");
const fixture = (name: string) => join(FIXTURES, name);

/** Runs the CLI in this process, collecting what it prints. */
async function infrec(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const { log, error } = console;
  console.log = (...a: unknown[]) => void out.push(a.join(" "));
  console.error = (...a: unknown[]) => void err.push(a.join(" "));
  try {
    const code = await runCli(args);
    return { code, stdout: out.join("\n"), stderr: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

describe("data flags of the CLI (datasets --data)", () => {
  test("--min-user-interactions / --min-item-interactions report what the k-core dropped", async () => {
    const r = await infrec("datasets", "--data", fixture("kcore.csv"), "--min-user-interactions", "2", "--min-item-interactions", "2", "--json");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "k-core (users ≥ 2, items ≥ 2 interactions): dropped 2 users, 1 item, 3 rows in 3 rounds; 2 users, 2 items, 4 rows left");
    const s = JSON.parse(r.stdout);
    assert.deepEqual([s.users, s.items, s.interactions], [2, 2, 4]);
  });

  test("--columns, --delimiter, --no-header and --data-split temporal", async () => {
    // timed.tsv as item,user with a tab typed as 'tab': users are then the items a, b, c.
    const r = await infrec(
      "datasets", "--data", fixture("timed.tsv"), "--columns", "1,0,,3", "--delimiter", "tab", "--no-header",
      "--min-user-interactions", "1", "--data-split", "temporal", "--json",
    );
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout);
    // 7 rows cut at 5 and 6: train 5, validation 1, test 1; 3 "users" (a, b, c) over 3 "items" (u1, u2, u3).
    assert.deepEqual([s.users, s.items, s.train, s.validation, s.test], [3, 3, 5, 1, 1]);
    const loo = await infrec("datasets", "--data", fixture("timed.tsv"), "--min-user-interactions", "1", "--data-split", "leave-one-out", "--json");
    assert.deepEqual(
      ((s) => [s.train, s.validation, s.test])(JSON.parse(loo.stdout)),
      [3, 1, 3],
    );
  });

  test("bad data input: one line naming file and line, exit 1", async () => {
    const cases: [string[], string][] = [
      [["--data", fixture("ratings.csv"), "--columns", "userId,movie"], `${fixture("ratings.csv")}:1: header has no column "movie"`],
      [["--data", fixture("ratings.csv"), "--delimiter", ";"], `${fixture("ratings.csv")}:1: expected at least 2 fields separated by ";", got 1 (is the delimiter right?)`],
      [["--data", fixture("noheader.tsv"), "--data-split", "temporal", "--min-user-interactions", "1"], `${fixture("noheader.tsv")}: a temporal split needs timestamps`],
      [["--data", fixture("kcore.csv"), "--min-user-interactions", "3"], `${fixture("kcore.csv")}: the k-core with users ≥ 3 and items ≥ 1 interactions is empty`],
    ];
    for (const [args, start] of cases) {
      const r = await infrec("datasets", ...args);
      assert.equal(r.code, 1, `${args.join(" ")}: ${r.stderr}`);
      assert.ok(r.stderr.startsWith(`infrec: ${start}`), r.stderr);
      assert.equal(r.stderr.split("\n").length, 1, r.stderr);
    }
  });

  test("bad flag values: exit 2 before anything is read", async () => {
    const cases: [string[], RegExp][] = [
      [["--data", fixture("kcore.csv"), "--columns", "user"], /--columns: expected 2 to 4 comma-separated/],
      [["--data", fixture("kcore.csv"), "--delimiter", "ab"], /--delimiter must be one character \(or 'tab'\)/],
      [["--data", fixture("kcore.csv"), "--min-item-interactions", "0"], /--min-item-interactions must be an integer ≥ 1, got '0'/],
      [["--data", fixture("kcore.csv"), "--data-split", "random"], /--data-split must be one of paper, leave-one-out, temporal, got 'random'/],
      [["--data", fixture("ratings.dat"), "--format", "movielens", "--delimiter", ","], /--delimiter applies to csv and tsv files, not to --format movielens/],
      [["--dataset", "magazine", "--columns", "a,b"], /--columns applies to --data files, not to --dataset/],
      [["--dataset", "magazine", "--no-header"], /--header applies to --data files/],
    ];
    for (const [args, pattern] of cases) {
      const r = await infrec("datasets", ...args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, pattern);
    }
  });
});
