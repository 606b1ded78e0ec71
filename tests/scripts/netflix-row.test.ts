/**
 * scripts/netflix-row.ts on a small Netflix-shaped set: every model of the
 * row fitted end to end through the Netflix reader, DISTILL-CF validating on
 * the scored user sample, and --resume keeping finished models.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { earlierRun, type NetflixRowOptions, runNetflixRow } from "../../scripts/netflix-row.ts";
import { generateNetflixSynth } from "../../scripts/netflix-synth.ts";
import { withTempDir } from "../helpers.ts";

test("netflix-row: PopRec, EASE, ∞-AE and DISTILL-CF on a small generated set; --resume fits only what is missing", async () => {
  await withTempDir(async (dir) => {
    const data = join(dir, "nf");
    generateNetflixSynth(data, { users: 1500, items: 300, ratings: 30_000, seed: 3 });
    const lines: string[] = [];
    const o: NetflixRowOptions = {
      data, models: ["pop", "ease", "inf-ae", "distill-inf-ae"], support: 400, evalUsers: 300, quick: true, out: join(dir, "out"),
      seed: 42, device: "cpu", ties: "index", distillSteps: 26, distillBatch: 256, resume: false, log: (l) => lines.push(l),
    };
    const first = await runNetflixRow(o);
    assert.deepEqual(first.models.map((m) => m.model), o.models);
    assert.equal(first.evalUsers, 300);
    for (const m of first.models) {
      assert.ok(m.test["HR@100"] > 0 && m.test["HR@100"] <= 100, `${m.model}: HR@100 ${m.test["HR@100"]}`);
      assert.ok(m.validation.length >= 1);
      assert.ok(m.finishedAt && !Number.isNaN(Date.parse(m.finishedAt)));
    }
    // The planted groups are there to be found: the personalised models beat popularity.
    const hr = (name: string) => first.models.find((m) => m.model === name)!.test["NDCG@10"];
    assert.ok(hr("ease") > hr("pop") && hr("inf-ae") > hr("pop"), `NDCG@10: pop ${hr("pop")}, ease ${hr("ease")}, inf-ae ${hr("inf-ae")}`);
    // DISTILL-CF validated (on the 300 scored users) and kept a 500-or-fewer-user summary.
    const distill = first.models.find((m) => m.model === "distill-inf-ae")!;
    assert.match(distill.note ?? "", /best at step \d+/);
    assert.doesNotMatch(distill.note ?? "", /never validated/);
    assert.ok(lines.some((l) => /distill step 25: validation HR@100/.test(l)), lines.join("\n"));
    assert.deepEqual(first.stages.map((s) => s.stage), ["load", ...o.models]);
    const json = JSON.parse(readFileSync(join(o.out, "netflix-row.json"), "utf8"));
    assert.deepEqual(json.models.map((m: { model: string }) => m.model), o.models);
    assert.match(readFileSync(join(o.out, "netflix-row.md"), "utf8"), /\| NDCG@10 \|/);

    // --resume: nothing is fitted again; a changed DISTILL-CF budget runs only that column.
    lines.length = 0;
    const again = await runNetflixRow({ ...o, resume: true, distillSteps: 1 });
    assert.deepEqual(again.models.map((m) => m.model), o.models);
    for (const name of ["pop", "ease", "inf-ae"]) {
      assert.deepEqual(again.models.find((m) => m.model === name), first.models.find((m) => m.model === name));
      assert.ok(lines.includes(`${name}: kept from ${first.models.find((m) => m.model === name)!.finishedAt} (--resume)`), lines.join("\n"));
    }
    assert.ok(!lines.some((l) => l.startsWith("distill-inf-ae: kept")));
    assert.match(again.models.at(-1)!.note ?? "", /1 steps/);
    assert.ok(again.stages.filter((s) => s.earlierRun).map((s) => s.stage).join() === "pop,ease,inf-ae");
    // --refit fits the named models again and keeps the rest.
    lines.length = 0;
    const refitted = await runNetflixRow({ ...o, resume: true, distillSteps: 1, refit: ["ease"] });
    assert.ok(lines.some((l) => /ease \{"lambda":\d+\}: validation HR@100/.test(l)), lines.join("\n"));
    assert.deepEqual(refitted.stages.filter((s) => s.earlierRun).map((s) => s.stage), ["pop", "inf-ae", "distill-inf-ae"]);
    assert.deepEqual(refitted.models.find((m) => m.model === "ease")!.test, first.models.find((m) => m.model === "ease")!.test);
    await assert.rejects(runNetflixRow({ ...o, resume: true, refit: ["gf-cf"] }), /--refit: 'gf-cf' is not among --models/);
    await assert.rejects(runNetflixRow({ ...o, refit: ["ease"] }), /--refit applies with --resume only/);

    // Other settings in the earlier file are an error naming them.
    await assert.rejects(runNetflixRow({ ...o, resume: true, support: 200 }), /--resume: .* other settings \(support 400 ≠ 200\)/);
    writeFileSync(join(o.out, "netflix-row.json"), "{ not json");
    assert.throws(() => earlierRun(o), /--resume: .* is not valid JSON/);
  });
});
