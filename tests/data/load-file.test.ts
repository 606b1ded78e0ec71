import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { loadDataFile } from "../../lib/data/load-file.ts";

const FIXTURES = join(import.meta.dirname, "../fixtures/data");

describe("loadDataFile", () => {
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
