import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import {
  detectDelimiter,
  detectFormat,
  filterByRating,
  forEachLine,
  InteractionFileError,
  parseColumnList,
  type RawInteractions,
  rawFromRows,
  readInteractions,
  splitDelimited,
} from "../../lib/data/text.ts";

const FIXTURES = join(import.meta.dirname, "../fixtures/data");
const fixture = (name: string) => join(FIXTURES, name);

const scratch = mkdtempSync(join(tmpdir(), "infrec-text-"));
after(() => rmSync(scratch, { recursive: true, force: true }));
let fileCounter = 0;
/** Writes `content` to a fresh file named `name` (own folder, so names can repeat). */
function write(name: string, content: string): string {
  const dir = join(scratch, String(fileCounter++));
  mkdirSync(dir);
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

/** Rows as [user, item, rating?, timestamp?] tuples, for compact comparisons. */
function rows(raw: RawInteractions): (string | number)[][] {
  return Array.from(raw.users, (u, r) => {
    const row: (string | number)[] = [raw.userIds[u], raw.itemIds[raw.items[r]]];
    if (raw.ratings) row.push(raw.ratings[r]);
    if (raw.timestamps) row.push(raw.timestamps[r]);
    return row;
  });
}

/** Asserts that `fn` throws an InteractionFileError whose message contains every fragment. */
function throwsWith(fn: () => unknown, ...fragments: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof Error, "expected an Error");
    for (const f of fragments) assert.ok(e.message.includes(f), `message ${JSON.stringify(e.message)} lacks ${JSON.stringify(f)}`);
    return true;
  });
}

describe("MovieLens :: files", () => {
  test("reads user::item::rating::timestamp rows in file order", () => {
    const raw = readInteractions(fixture("ratings.dat"));
    assert.equal(raw.source, fixture("ratings.dat"));
    assert.deepEqual(rows(raw), [
      ["1", "1193", 5, 978300760],
      ["1", "661", 3, 978302109],
      ["1", "914", 3, 978301968],
      ["2", "1357", 5, 978298709],
      ["2", "3068", 4, 978299000],
      ["10", "1193", 2, 978300000],
    ]);
    // Ids are interned: user "1" and item "1193" are stored once.
    assert.deepEqual(raw.userIds, ["1", "2", "10"]);
    assert.equal(raw.itemIds.filter((i) => i === "1193").length, 1);
    assert.ok(raw.ratings instanceof Float32Array && raw.timestamps instanceof Float64Array);
  });

  test("two-field rows have no rating or timestamp columns", () => {
    const raw = readInteractions(write("pairs.dat", "5::7\n5::8\n"), { format: "movielens" });
    assert.deepEqual(rows(raw), [["5", "7"], ["5", "8"]]);
    assert.equal(raw.ratings, null);
    assert.equal(raw.timestamps, null);
  });

  test("malformed rows name file and line", () => {
    const short = write("short.dat", "1::2::3::4\n1::2::3::4\n\n7\n");
    throwsWith(() => readInteractions(short), `${short}:4:`, "expected at least 4 fields, got 1");
    const badRating = write("bad.dat", "1::2::5::4\n1::3::five::4\n");
    throwsWith(() => readInteractions(badRating), `${badRating}:2:`, 'non-numeric rating "five"');
    const nan = write("nan.dat", "1::2::NaN::4\n");
    throwsWith(() => readInteractions(nan), `${nan}:1:`, "rating is NaN");
    const emptyUser = write("eu.dat", "1::2::3::4\n::2::3::4\n");
    throwsWith(() => readInteractions(emptyUser), `${emptyUser}:2:`, "empty user id");
  });
});

describe("CSV / TSV", () => {
  test("header with userId/movieId/rating/timestamp names", () => {
    const raw = readInteractions(fixture("ratings.csv"));
    assert.deepEqual(rows(raw), [
      ["1", "31", 2.5, 1260759144],
      ["1", "1029", 3, 1260759179],
      ["2", "10", 4, 835355493],
      ["2", "17", 5, 835355681],
      ["3", "31", 3.5, 1298861589],
    ]);
  });

  test("no header, tab-delimited, positional user,item,rating", () => {
    const raw = readInteractions(fixture("noheader.tsv"));
    assert.deepEqual(rows(raw), [["u1", "i1", 1], ["u1", "i2", 4], ["u2", "i1", 5]]);
    assert.equal(raw.timestamps, null);
  });

  test("quoted fields, semicolons, and columns found by name in any order", () => {
    const raw = readInteractions(fixture("quoted.csv"));
    assert.deepEqual(rows(raw), [
      ['A1 "big" reader', "B00,05", 5],
      ['A1 "big" reader', "B0006", 4],
      ["A2", "B0007", 3],
    ]);
  });

  test("header detected from a non-numeric rating column even with unknown names", () => {
    const raw = readInteractions(write("x.csv", "a,b,c\n1,2,3\n"));
    assert.deepEqual(rows(raw), [["1", "2", 3]]);
  });

  test("no header: first row is data", () => {
    const raw = readInteractions(write("y.csv", "1,2,3,100\n1,3,4,200\n"));
    assert.deepEqual(rows(raw), [["1", "2", 3, 100], ["1", "3", 4, 200]]);
  });

  test("header option and explicit column names", () => {
    const path = write("z.csv", "who,what,stars\nu,i,2\n");
    assert.deepEqual(rows(readInteractions(path, { columns: { user: "who", item: "what", rating: "stars" } })), [["u", "i", 2]]);
    const forced = readInteractions(write("n.csv", "user,item\nu,i\n"), { header: false });
    assert.deepEqual(rows(forced), [["user", "item"], ["u", "i"]]);
  });

  test("columns by position without a header (Amazon ratings-only order item,user,rating,timestamp)", () => {
    const path = write("amazon.csv", "B001,A9,5.0,1400000000\nB002,A9,3.0,1400000100\n");
    const raw = readInteractions(path, { columns: { item: 0, user: 1, rating: 2, timestamp: 3 } });
    assert.deepEqual(rows(raw), [["A9", "B001", 5, 1400000000], ["A9", "B002", 3, 1400000100]]);
    const pairsOnly = readInteractions(path, { columns: { item: 0, user: 1 } });
    assert.deepEqual(rows(pairsOnly), [["A9", "B001"], ["A9", "B002"]]);
    throwsWith(() => readInteractions(path, { columns: { user: 0, item: 0 } }), `${path}:1:`, "both position 0");
    throwsWith(() => readInteractions(path, { columns: { user: 1, item: 0, rating: "stars" } }), `${path}:1:`, 'header has no column "stars"');
    const named = write("named.csv", "who,what\nu,i\n");
    throwsWith(() => readInteractions(named, { columns: { user: "who", item: "thing" } }), `${named}:1:`, 'header has no column "thing"');
    const inter = write("cols.inter", "user_id:token\titem_id:token\n1\t2\n");
    throwsWith(() => readInteractions(inter, { columns: { rating: "stars" } }), `${inter}:1:`, 'header has no column "stars"');
  });

  test("parseColumnList: names or positions in the order user,item,rating,timestamp; empty entries skip", () => {
    assert.deepEqual(parseColumnList("user,item,rating,ts"), { user: "user", item: "item", rating: "rating", timestamp: "ts" });
    assert.deepEqual(parseColumnList("1, 0,2,3"), { user: 1, item: 0, rating: 2, timestamp: 3 });
    assert.deepEqual(parseColumnList("userId,movieId,,timestamp"), { user: "userId", item: "movieId", timestamp: "timestamp" });
    assert.deepEqual(parseColumnList("who,what"), { user: "who", item: "what" });
    assert.throws(() => parseColumnList("user"), /expected 2 to 4 comma-separated names or positions/);
    assert.throws(() => parseColumnList("a,b,c,d,e"), /expected 2 to 4/);
    assert.throws(() => parseColumnList(",item"), /the user column is missing/);
    assert.throws(() => parseColumnList("user_id,UserId"), /"UserId" is given twice/);
    assert.throws(() => parseColumnList("0,1,0"), /"0" is given twice/);
  });

  test("explicit columns pick a timestamp column the built-in names do not know", () => {
    const path = write("when.csv", "who,what,stars,when\nu,i,2,100\nu,j,3,50\n");
    const raw = readInteractions(path, { columns: parseColumnList("who,what,stars,when") });
    assert.deepEqual(rows(raw), [["u", "i", 2, 100], ["u", "j", 3, 50]]);
    // The same by position, the header skipped with header: true.
    assert.deepEqual(rows(readInteractions(path, { header: true, columns: parseColumnList("0,1,2,3") })), rows(raw));
  });

  test("a given delimiter: any one character, and a wrong one is one error naming file and line", () => {
    const piped = write("p.txt", "user|item|rating|timestamp\n1|2|3|100\n");
    assert.deepEqual(rows(readInteractions(piped, { delimiter: "|" })), [["1", "2", 3, 100]]);
    const tabbed = write("t.txt", "1\t2\n");
    assert.deepEqual(rows(readInteractions(tabbed, { delimiter: "\t" })), [["1", "2"]]);
    const comma = fixture("ratings.csv");
    throwsWith(() => readInteractions(comma, { delimiter: ";" }), `${comma}:1: expected at least 2 fields separated by ";", got 1 (is the delimiter right?)`);
    throwsWith(() => readInteractions(comma, { delimiter: ";", header: false }), `${comma}:1:`, "is the delimiter right?");
    assert.throws(() => readInteractions(comma, { delimiter: ", " }), /delimiter must be one character/);
    assert.throws(() => readInteractions(comma, { delimiter: '"' }), /delimiter must be one character other than a quote/);
  });

  test("options a format does not have are errors, not ignored", () => {
    const dat = fixture("ratings.dat");
    throwsWith(() => readInteractions(dat, { format: "movielens", delimiter: "," }), `${dat}: a delimiter applies to csv and tsv files, not to the movielens format`);
    throwsWith(() => readInteractions(dat, { header: true }), "a header choice applies to csv and tsv files, not to the movielens format");
    throwsWith(() => readInteractions(fixture("noheader.tsv"), { format: "tsv", delimiter: "," }), "the tsv format is tab-delimited");
    throwsWith(() => readInteractions(fixture("netflix.txt"), { columns: { user: 0, item: 1 } }), "the netflix format has fixed columns");
    // A MovieLens file takes column positions: item::user order.
    const swapped = readInteractions(write("swapped.dat", "i9::u1\n"), { columns: { item: 0, user: 1 } });
    assert.deepEqual(rows(swapped), [["u1", "i9"]]);
  });

  test("a bare format string as second argument", () => {
    const raw = readInteractions(write("r.txt", "1::2::3::4\n"), "movielens");
    assert.deepEqual(rows(raw), [["1", "2", 3, 4]]);
    throwsWith(() => readInteractions(fixture("ratings.dat"), "netflix"), "'MovieID:' line");
  });

  test("dates in a timestamp column become seconds since the epoch (UTC)", () => {
    const raw = readInteractions(write("d.csv", "user,item,rating,date\n1,2,3,1970-01-02\n1,3,3,1970-01-01T00:01:00\n"));
    assert.deepEqual(Array.from(raw.timestamps ?? []), [86400, 60]);
  });

  test("CRLF line endings, BOM, blank lines", () => {
    const raw = readInteractions(write("crlf.csv", "\uFEFFuser_id,item_id\r\n\r\n1,2\r\n3,4\r\n"));
    assert.deepEqual(rows(raw), [["1", "2"], ["3", "4"]]);
  });

  test("malformed rows name file and line", () => {
    const few = write("ratings.csv", "user,item,rating\n1,2,3\n1,2,3\n" + "1,2,3\n".repeat(13) + "4\n");
    throwsWith(() => readInteractions(few), `ratings.csv:17:`, "expected at least 3 fields, got 1");
    const one = write("one.csv", "justone\n");
    throwsWith(() => readInteractions(one), `${one}:1:`, "expected at least 2 fields, got 1");
    const nan = write("nan.csv", "user,item,rating\n1,2,nan\n");
    throwsWith(() => readInteractions(nan), `${nan}:2:`, "rating is NaN");
    const text = write("t.csv", "user,item,rating\n1,2,3\n1,2,abc\n");
    throwsWith(() => readInteractions(text), `${text}:3:`, 'non-numeric rating "abc"');
    const emptyRating = write("er.csv", "user,item,rating\n1,2,\n");
    throwsWith(() => readInteractions(emptyRating), `${emptyRating}:2:`, "empty rating");
    const inf = write("inf.csv", "user,item,rating\n1,2,Infinity\n");
    throwsWith(() => readInteractions(inf), `${inf}:2:`, "not finite");
    const unterminated = write("q.csv", 'user,item\n"1,2\n');
    throwsWith(() => readInteractions(unterminated), `${unterminated}:2:`, "unterminated quoted field");
    const stray = write("s.csv", 'user,item\n"1"x,2\n');
    throwsWith(() => readInteractions(stray), `${stray}:2:`, "after a closing quote");
    const badDate = write("bd.csv", "user,item,rating,timestamp\n1,2,3,yesterday\n");
    throwsWith(() => readInteractions(badDate), `${badDate}:2:`, 'timestamp "yesterday"');
  });
});

describe("RecBole .inter", () => {
  test("columns found by name from the typed header", () => {
    const raw = readInteractions(fixture("sample.inter"));
    assert.deepEqual(rows(raw), [
      ["196", "242", 3, 881250949],
      ["186", "302", 3, 891717742],
      ["22", "377", 1, 878887116],
    ]);
  });

  test("other column orders and names (item column = first other token column)", () => {
    const raw = readInteractions(write("steam.inter", "play_hours:float\tproduct_id:token\tuser_id:token\n1.5\tg1\tu1\n2\tg2\tu1\n"));
    assert.deepEqual(rows(raw), [["u1", "g1"], ["u1", "g2"]]);
    const rated = readInteractions(write("s2.inter", "play_hours:float\tproduct_id:token\tuser_id:token\n1.5\tg1\tu1\n"), {
      columns: { rating: "play_hours" },
    });
    assert.deepEqual(rows(rated), [["u1", "g1", 1.5]]);
  });

  test("bad header and malformed rows", () => {
    const noTypes = write("nt.inter", "user_id\titem_id\n1\t2\n");
    throwsWith(() => readInteractions(noTypes), `${noTypes}:1:`, "RecBole header");
    const short = write("short.inter", "user_id:token\titem_id:token\trating:float\n1\t2\t3\n1\t2\n");
    throwsWith(() => readInteractions(short), `${short}:3:`, "expected at least 3 fields, got 2");
    const nan = write("nan.inter", "user_id:token\titem_id:token\trating:float\n1\t2\tNaN\n");
    throwsWith(() => readInteractions(nan), `${nan}:2:`, "rating is NaN");
  });
});

describe("Netflix Prize", () => {
  test("MovieID: blocks of user,rating,date", () => {
    const raw = readInteractions(fixture("netflix.txt"));
    const day = (s: string) => Date.UTC(Number(s.slice(0, 4)), Number(s.slice(5, 7)) - 1, Number(s.slice(8, 10))) / 1000;
    assert.deepEqual(rows(raw), [
      ["1488844", "1", 3, day("2005-09-06")],
      ["822109", "1", 5, day("2005-05-13")],
      ["2059652", "2", 4, day("2005-09-05")],
      ["1488844", "2", 1, day("2004-02-29")],
    ]);
    assert.equal(day("2005-09-06"), 1125964800);
  });

  test("a folder of per-movie files mv_*.txt is read in name order; other files are ignored", () => {
    const dir = join(FIXTURES, "netflix");
    assert.equal(detectFormat(dir), "netflix");
    assert.deepEqual(rows(readInteractions(dir)), rows(readInteractions(fixture("netflix.txt"))));
    assert.equal(readInteractions(dir).source, dir);
  });

  test("folder errors: no mv_*.txt files, another format, a file without its MovieID line", () => {
    const empty = join(scratch, "empty-folder");
    mkdirSync(empty);
    throwsWith(() => readInteractions(empty), `${empty}: is a folder without Netflix per-movie files`);
    throwsWith(() => readInteractions(join(FIXTURES, "netflix"), { format: "csv" }), "only the netflix format reads folders");
    const headless = join(scratch, "headless");
    mkdirSync(headless);
    writeFileSync(join(headless, "mv_0000001.txt"), "1:\n5,3,2005-01-01\n");
    writeFileSync(join(headless, "mv_0000002.txt"), "5,3,2005-01-01\n");
    throwsWith(() => readInteractions(headless), `${join(headless, "mv_0000002.txt")}:1:`, "'MovieID:' line");
  });

  test("malformed rows", () => {
    const noMovie = write("nm.txt", "1488844,3,2005-09-06\n");
    throwsWith(() => readInteractions(noMovie, { format: "netflix" }), `${noMovie}:1:`, "'MovieID:' line");
    const badDate = write("bd.txt", "1:\n5,3,2005-02-30\n");
    throwsWith(() => readInteractions(badDate), `${badDate}:2:`, 'bad date "2005-02-30"');
    const fields = write("f.txt", "1:\n5,3\n");
    throwsWith(() => readInteractions(fields), `${fields}:2:`, "expected 3 fields");
  });
});

describe("files, detection and thresholds", () => {
  test("missing file names its path", () => {
    const path = join(scratch, "does-not-exist.csv");
    throwsWith(() => readInteractions(path), path, "file not found");
    assert.throws(() => readInteractions(path), InteractionFileError);
  });

  test("empty and header-only files are errors", () => {
    for (const [name, content] of [["e.csv", ""], ["blank.dat", "\n\n  \n"], ["h.csv", "user,item,rating\n"], ["h.inter", "user_id:token\titem_id:token\n"]]) {
      const path = write(name, content);
      throwsWith(() => readInteractions(path), path, "no interactions");
    }
  });

  test("format detection by extension and content", () => {
    assert.equal(detectFormat(fixture("ratings.dat")), "movielens");
    assert.equal(detectFormat(fixture("ratings.csv")), "csv");
    assert.equal(detectFormat(fixture("noheader.tsv")), "tsv");
    assert.equal(detectFormat(fixture("sample.inter")), "recbole");
    assert.equal(detectFormat(fixture("netflix.txt")), "netflix");
    assert.equal(detectFormat(write("inter.txt", "user_id:token\titem_id:token\n1\t2\n")), "recbole");
    assert.equal(detectFormat(write("plain.txt", "1;2;3\n")), "csv");
    assert.equal(detectDelimiter('"a,b";c;d'), ";");
    assert.equal(detectDelimiter("a\tb,c\td"), "\t");
    assert.equal(detectDelimiter("abc"), null);
  });

  test("rating threshold keeps rows with rating >= threshold and drops unused ids", () => {
    const raw = readInteractions(fixture("ratings.dat"), { minRating: 4 });
    assert.deepEqual(rows(raw), [["1", "1193", 5, 978300760], ["2", "1357", 5, 978298709], ["2", "3068", 4, 978299000]]);
    assert.deepEqual(raw.userIds, ["1", "2"]);
    const all = readInteractions(fixture("ratings.dat"));
    assert.deepEqual(rows(filterByRating(all, 4)), rows(raw));
  });

  test("threshold errors: nothing left, or no rating column", () => {
    const path = fixture("ratings.dat");
    throwsWith(() => readInteractions(path, { minRating: 6 }), path, "no interactions with rating >= 6 (of 6 read)");
    const pairs = write("p.csv", "user,item\n1,2\n");
    throwsWith(() => readInteractions(pairs, { minRating: 1 }), pairs, "no rating column");
  });

  test("parsing is independent of the chunk size (lines split across chunks)", () => {
    let content = "user,item,rating,timestamp\n";
    for (let k = 0; k < 300; k++) content += `user-${k % 17}-é,item-${(k * 7) % 31},${(k % 5) + 1},${1000 + k}\n`;
    const path = write("chunks.csv", content);
    const whole = rows(readInteractions(path));
    assert.equal(whole.length, 300);
    for (const chunkBytes of [16, 17, 61, 4096]) assert.deepEqual(rows(readInteractions(path, { chunkBytes })), whole);
    const lines: string[] = [];
    forEachLine(path, (line) => lines.push(line), 16);
    assert.deepEqual(lines, content.slice(0, -1).split("\n"));
  });

  test("splitDelimited handles quotes, escapes and empty fields", () => {
    const fail = (p: string): never => {
      throw new Error(p);
    };
    assert.deepEqual(splitDelimited('"a,b","c""d",,e', ",", fail), ["a,b", 'c"d', "", "e"]);
    assert.deepEqual(splitDelimited('x,"y",', ",", fail), ["x", "y", ""]);
    assert.deepEqual(splitDelimited(" x , y ", ",", fail), ["x", "y"]);
  });

  test("rawFromRows builds the same columns as a reader", () => {
    const raw = rawFromRows([
      { user: "1", item: "1193", rating: 5, timestamp: 978300760 },
      { user: "1", item: "661", rating: 3, timestamp: 978302109 },
    ]);
    assert.deepEqual(rows(raw), [["1", "1193", 5, 978300760], ["1", "661", 3, 978302109]]);
    assert.throws(() => rawFromRows([]), /no interactions/);
  });
});
