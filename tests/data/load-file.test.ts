import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Dataset } from "../../lib/data/dataset.ts";
import { loadDataFile } from "../../lib/data/load-file.ts";
import { isParquetFile, readParquet } from "../../lib/data/parquet.ts";
import { buildDataset } from "../../lib/data/split.ts";
import { readInteractions } from "../../lib/data/text.ts";

const FIXTURES = join(import.meta.dirname, "../fixtures/data");
const scratch = mkdtempSync(join(tmpdir(), "infrec-load-file-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** Per split: "user:item item …" for each user with rows there. */
function lists(ds: Dataset): string[][] {
  return [ds.train, ds.validation, ds.test].map((m) => {
    const out: string[] = [];
    for (let u = 0; u < m.numUsers; u++) {
      if (m.rowNnz(u) > 0) out.push(`${ds.userIds[u]}:${Array.from(m.rowItems(u), (i) => ds.itemIds[i]).join(" ")}`);
    }
    return out;
  });
}

describe("loadDataFile", () => {
  test("the default path is the paper's: users under 3 rows dropped, per-user random split", async () => {
    const path = join(FIXTURES, "timed.tsv");
    const ds = await loadDataFile(path, { seed: 5 });
    // Only u1 has 3 rows.
    assert.deepEqual(lists(ds), lists(buildDataset(readInteractions(path), { name: "timed", seed: 5 })));
    assert.deepEqual(ds.userIds, ["u1"]);
  });

  test("reading, k-core and split options are wired through", async () => {
    const path = join(FIXTURES, "kcore.csv");
    const reports: string[] = [];
    const ds = await loadDataFile(path, {
      minUserInteractions: 2,
      minItemInteractions: 2,
      split: "leave-one-out",
      onKCore: (r) => reports.push(`${r.droppedUsers}/${r.droppedItems}/${r.droppedRows}/${r.rounds}`),
    });
    assert.deepEqual(reports, ["2/1/3/3"]);
    assert.deepEqual(ds.userIds, ["A", "B"]);
    assert.equal(ds.train.total + ds.validation.total + ds.test.total, 4);
    const timed = await loadDataFile(join(FIXTURES, "timed.tsv"), { minUserInteractions: 1, split: "temporal" });
    assert.deepEqual(lists(timed), [["u1:a c", "u2:b", "u3:a b"], ["u1:b"], ["u2:c"]]);
    const columns = await loadDataFile(join(FIXTURES, "timed.tsv"), { minUserInteractions: 1, split: "temporal", columns: { user: 1, item: 0, timestamp: 3 } });
    assert.deepEqual(columns.userIds, ["a", "b", "c"]);
  });

  test("bad options: a temporal split without timestamps, an empty k-core, options a split file has not", async () => {
    const untimed = join(FIXTURES, "noheader.tsv");
    await assert.rejects(loadDataFile(untimed, { minUserInteractions: 1, split: "temporal" }), /noheader\.tsv: a temporal split needs timestamps/);
    await assert.rejects(loadDataFile(untimed, { minUserInteractions: 5 }), /noheader\.tsv: the k-core with users ≥ 5 and items ≥ 1 interactions is empty/);
    await assert.rejects(loadDataFile(join(FIXTURES, "kcore.csv"), { split: "random" as "paper" }), /unknown split rule 'random'/);
    await assert.rejects(loadDataFile(join(import.meta.dirname, "../../data/magazine"), { split: "temporal" }), /split apply to raw interaction logs, not to a paper-format folder/);
  });

  test("a folder of Netflix mv_*.txt files is read as the netflix format", async () => {
    // 3 users with 1-2 ratings each: minUserInteractions 1 keeps them all.
    const ds = await loadDataFile(join(FIXTURES, "netflix"), { minUserInteractions: 1 });
    assert.deepEqual(ds.userIds, ["822109", "1488844", "2059652"]);
    assert.deepEqual(ds.itemIds, ["1", "2"]);
    assert.equal(ds.train.total + ds.validation.total + ds.test.total, 4);
  });

  test("a folder that is neither paper-format nor Netflix is one clear error", async () => {
    await assert.rejects(loadDataFile(FIXTURES), /not a paper-format folder .* nor a folder of Netflix mv_\*\.txt files/);
  });
});

describe("Parquet through DuckDB", () => {
  const file = join(scratch, "ratings.parquet");
  const nulls = join(scratch, "nulls.parquet");
  before(async () => {
    // The fixture is written by DuckDB itself: ids as text (a leading zero must survive),
    // a DOUBLE rating and a TIMESTAMP column.
    const { DuckDBInstance } = await import("@duckdb/node-api");
    const db = await DuckDBInstance.create(":memory:");
    const con = await db.connect();
    await con.run(`COPY (SELECT * FROM (VALUES
        ('00088', 7, 4.5, TIMESTAMP '1970-01-01 00:01:40'),
        ('00088', 9, 2.0, TIMESTAMP '1970-01-01 00:00:50'),
        ('12', 7, 5.0, TIMESTAMP '1970-01-02 00:00:00')
      ) AS t(user_id, movie_id, rating, "when")) TO '${file}' (FORMAT parquet)`);
    await con.run(`COPY (SELECT * FROM (VALUES ('a', 'x'), (NULL, 'y')) AS t(user_id, item_id)) TO '${nulls}' (FORMAT parquet)`);
    con.closeSync();
    db.closeSync();
  });

  test("columns found by name; ids stay strings; timestamps in seconds", async () => {
    assert.ok(isParquetFile(file));
    assert.ok(!isParquetFile(join(FIXTURES, "ratings.csv")));
    const raw = await readParquet(file, { columns: { timestamp: "when" } });
    assert.deepEqual(raw.userIds, ["00088", "12"]);
    assert.deepEqual(raw.itemIds, ["7", "9"]);
    assert.deepEqual(Array.from(raw.ratings ?? []), [4.5, 2, 5]);
    assert.deepEqual(Array.from(raw.timestamps ?? []), [100, 50, 86400]);
    // Without naming it, "when" is not a known timestamp name: no timestamp column.
    assert.equal((await readParquet(file)).timestamps, null);
    assert.deepEqual(Array.from((await readParquet(file, { minRating: 4 })).ratings ?? []), [4.5, 5]);
  });

  test("loadDataFile detects Parquet by its magic bytes", async () => {
    const ds = await loadDataFile(file, { minUserInteractions: 1, columns: { user: "user_id", item: "movie_id", rating: "rating", timestamp: "when" }, split: "leave-one-out" });
    // 00088: 9 @50 then 7 @100 → test 7, train 9; 12: one row → test 7. Integer ids sort numerically (12 before 00088).
    assert.deepEqual(lists(ds), [["00088:9"], [], ["12:7", "00088:7"]]);
  });

  test("bad Parquet input: an unknown column, a null id, a file that is not Parquet", async () => {
    await assert.rejects(readParquet(file, { columns: { user: "user_id", item: "product" } }), /ratings\.parquet: header has no column "product"/);
    await assert.rejects(readParquet(nulls), /nulls\.parquet: row 2: empty user id/);
    const fake = join(scratch, "fake.parquet");
    writeFileSync(fake, "user,item\n1,2\n");
    await assert.rejects(readParquet(fake), /fake\.parquet: not a readable Parquet file/);
    await assert.rejects(readParquet(file, { delimiter: "," }), /applies to csv and tsv files, not to Parquet/);
    assert.throws(() => readInteractions(file), /ratings\.parquet: is a Parquet file/);
  });
});
