/**
 * `recommend` for real users and `evaluate --model FILE`, on the bundled
 * Magazine data from one ∞-AE fit. The commands run in this process through
 * runCli (no start-up cost); one test spawns the real binary.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, mock, test } from "node:test";
import { runCli } from "../../lib/cli/main.ts";
import { type Dataset, datasetStats } from "../../lib/data/dataset.ts";
import { loadDataset, REPO_ROOT } from "../../lib/data/registry.ts";
import { evaluate } from "../../lib/eval/evaluate.ts";
import { CSV_HEADER, formatRecommendations, userRows } from "../../lib/cli/recommend.ts";
import { artifactOf, encodeArtifact, recommendTopK, savedModel } from "../../lib/models/artifact.ts";
import { readArtifactFile } from "../../lib/models/artifact-file.ts";
import { getBackend } from "../../lib/onnx/backend.ts";
import { InfiniteAE } from "../../lib/models/infinite-ae/model.ts";
import { PopRec } from "../../lib/models/pop.ts";
import { Rng } from "../../lib/random.ts";
import { plantedDataset } from "../models/synthetic.ts";

let dir: string;
let ds: Dataset;
let model: InfiniteAE;
let artifact: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "infrec-recommend-"));
  ds = await loadDataset("magazine");
  model = new InfiniteAE({ lambda: 20, engine: "host" });
  await model.fit(ds.train);
  artifact = join(dir, "magazine.infrec");
  const seen = ds.train.add(ds.validation).add(ds.test);
  const saved = await artifactOf(model, {
    itemIds: [...ds.itemIds], users: { ids: [...ds.userIds], seen }, trainUserIds: ds.userIds, dataset: { ...datasetStats(ds), trainedOn: "train split" },
  });
  writeFileSync(artifact, encodeArtifact(saved));
});

after(() => rmSync(dir, { recursive: true, force: true }));

/** runCli with what it prints captured. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const log = mock.method(console, "log", (...a: unknown[]) => void (stdout += a.join(" ") + "\n"));
  const error = mock.method(console, "error", (...a: unknown[]) => void (stderr += a.join(" ") + "\n"));
  try {
    const code = await runCli(args);
    return { code, stdout, stderr };
  } finally {
    log.mock.restore();
    error.mock.restore();
  }
}

/** CSV lines by user (header checked and dropped). */
function rowsByUser(csv: string): Map<string, string[]> {
  const lines = csv.trimEnd().split("\n");
  assert.equal(lines[0], "user,item,rank,score");
  const out = new Map<string, string[]>();
  for (const line of lines.slice(1)) {
    const user = line.slice(0, line.indexOf(","));
    if (!out.has(user)) out.set(user, []);
    out.get(user)!.push(line);
  }
  return out;
}

test("recommend --all: 10 unseen items for every user; --user and --users give the same rows for 20 random users", async () => {
  const all = join(dir, "all.csv");
  const r = await cli("recommend", "--model", artifact, "--all", "--out", all);
  assert.equal(r.code, 0, r.stderr);
  const byUser = rowsByUser(readFileSync(all, "utf8"));
  assert.equal(byUser.size, ds.userIds.length);
  const index = new Map(ds.itemIds.map((id, i) => [id, i]));
  const seen = ds.train.add(ds.validation).add(ds.test);
  for (const [u, id] of ds.userIds.entries()) {
    const rows = byUser.get(id)!.map((l) => l.split(","));
    assert.deepEqual(rows.map((x) => Number(x[2])), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    for (const [, item] of rows) assert.ok(!seen.has(u, index.get(item)!), `user ${id} was recommended seen item ${item}`);
    const scores = rows.map((x) => Number(x[3]));
    for (let i = 1; i < scores.length; i++) assert.ok(scores[i] <= scores[i - 1], `user ${id}: scores not descending`);
  }

  const rng = new Rng(2024);
  const users = Array.from({ length: 20 }, () => ds.userIds[rng.int(ds.userIds.length)]);
  // What --user does for each, from one decoded artifact: scored alone or in a
  // block of 3092, the same items, ranks and float32 scores.
  const saved = await savedModel(readArtifactFile(artifact), () => getBackend({ device: "cpu" }));
  const { ids, seen: histories } = saved.artifact.users!;
  for (const id of users) {
    let text = CSV_HEADER;
    await recommendTopK(saved, histories, 10, { users: userRows(saved.artifact.users!, [id], artifact), onBlock: (lists) => void (text += formatRecommendations(lists, ids, saved.artifact.itemIds, "csv")) });
    assert.deepEqual(rowsByUser(text).get(id), byUser.get(id), `user ${id}`);
  }
  const one = join(dir, "one.csv");
  const r1 = await cli("recommend", "--model", artifact, "--user", users[0], "--out", one);
  assert.equal(r1.code, 0, r1.stderr);
  assert.deepEqual(rowsByUser(readFileSync(one, "utf8")).get(users[0]), byUser.get(users[0]));
  const list = join(dir, "users.txt");
  writeFileSync(list, users.join("\n") + "\n\n");
  const jsonl = join(dir, "some.jsonl");
  const r2 = await cli("recommend", "--model", artifact, "--users", list, "--out", jsonl);
  assert.equal(r2.code, 0, r2.stderr);
  const objects = readFileSync(jsonl, "utf8").trimEnd().split("\n").map((l) => JSON.parse(l));
  const distinct = [...new Set(users)];
  assert.deepEqual(objects.map((o) => `${o.user},${o.item},${o.rank},${o.score}`), distinct.flatMap((id) => byUser.get(id)!));
});

test("evaluate --model FILE: the saved ∞-AE's test metrics are the fitted model's", async () => {
  const r = await cli("evaluate", "--model", artifact, "--dataset", "magazine", "--json");
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.model, "inf-ae");
  assert.equal(out.split, "test");
  assert.deepEqual(out.hyperParameters.lambda, 20);
  const want = await evaluate(model, ds, { split: "test" });
  for (const name of ["AUC", "HR@10", "NDCG@10", "PSP@10", "HR@100", "NDCG@100"]) {
    assert.ok(Math.abs(out.metrics[name] - want.metrics[name]) < 1e-9, `${name}: saved ${out.metrics[name]}, fitted ${want.metrics[name]}`);
  }
});

test("bad input is one line naming the problem: unknown user, empty users file, --user with --all, mismatched items", async () => {
  const empty = join(dir, "empty.txt");
  writeFileSync(empty, "\n  \n");
  const planted = plantedDataset();
  const pop = new PopRec();
  await pop.fit(planted.train);
  const foreign = join(dir, "planted.infrec");
  writeFileSync(foreign, encodeArtifact(await artifactOf(pop, { itemIds: [...planted.itemIds], users: { ids: [...planted.userIds], seen: planted.train } })));
  const cases: [string[], number, RegExp][] = [
    [["recommend", "--model", artifact, "--user", "no-such-user"], 2, /unknown user 'no-such-user': not a user of the dataset .*magazine\.infrec was fitted on/],
    [["recommend", "--model", artifact, "--user", "2", "--all"], 2, /give one of --user, --users, --all and --items, not --user and --all/],
    [["recommend", "--model", artifact, "--users", empty], 2, /--users .*empty\.txt lists no user ids/],
    [["recommend", "--model", artifact, "--users", join(dir, "nope.txt")], 2, /--users .*nope\.txt: no such file/],
    [["recommend", "--model", artifact], 2, /say whom to recommend for: --user ID, --users FILE, --all or --items/],
    [["recommend", "--model", artifact, "--all", "--out", join(dir, "x.txt")], 2, /--out .*x\.txt: cannot tell the format from '\.txt'/],
    [["recommend", "--model", artifact, "--all", "--format", "xml"], 2, /--format must be csv or jsonl, got 'xml'/],
    [["evaluate", "--model", foreign, "--dataset", "magazine"], 1, /planted\.infrec has 60 items, dataset 'magazine' 1305: it was fitted on another dataset/],
    [["fit", "--model", "mf", "--dataset", "magazine", "--out", join(dir, "mf.infrec")], 2, /--out: model 'mf' has no saved form \(only inf-ae, pop, ease and its relatives, gf-cf and turbo-cf have one\)/],
    [["fit", "--model", "pop", "--dataset", "magazine", "--on", "everything"], 2, /--on must be 'train' or 'all', got 'everything'/],
  ];
  for (const [args, code, message] of cases) {
    const r = await cli(...args);
    assert.equal(r.code, code, `${args.join(" ")}: exit ${r.code}, ${r.stderr}`);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, `one line for ${args.join(" ")}: ${r.stderr}`);
    assert.match(lines[0], message);
  }
});

test("fit --on all --out: PopRec counts every interaction (train + validation + test)", async () => {
  const out = join(dir, "pop-all.infrec");
  const r = await cli("fit", "--model", "pop", "--dataset", "magazine", "--on", "all", "--out", out, "--json");
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.trainedOn, "all (train + validation + test)");
  const csv = join(dir, "pop.csv");
  assert.equal((await cli("recommend", "--model", out, "--user", ds.userIds[0], "--out", csv)).code, 0);
  const counts = ds.train.add(ds.validation).add(ds.test).itemCounts();
  const seen = new Set(ds.train.add(ds.validation).add(ds.test).rowItems(0));
  const top = Array.from({ length: counts.length }, (_, i) => i).filter((i) => !seen.has(i)).sort((a, b) => counts[b] - counts[a] || a - b)[0];
  assert.equal(readFileSync(csv, "utf8").split("\n")[1], `${ds.userIds[0]},${ds.itemIds[top]},1,${counts[top]}`);
});

test("the installed binary writes the same CSV to stdout", async () => {
  const id = ds.userIds[5];
  const file = join(dir, "three.csv");
  assert.equal((await cli("recommend", "--model", artifact, "--user", id, "-k", "3", "--out", file)).code, 0);
  const r = spawnSync(process.execPath, [join(REPO_ROOT, "bin", "infrec.js"), "recommend", "--model", artifact, "--user", id, "-k", "3"], { encoding: "utf8", cwd: REPO_ROOT });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trimEnd().split("\n").length, 4);
  assert.equal(r.stdout, readFileSync(file, "utf8"));
});
