// The browser page's item list (examples/browser/catalog.ts): titles files and search.
// The page itself runs in Chromium in page.browser.ts.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ItemCatalog, parseTitles } from "../../examples/browser/catalog.ts";

test("titles come from a JSON object, id<TAB>title lines or MovieLens id::title lines", () => {
  assert.deepEqual(parseTitles('\uFEFF{"12": "Wired", "7": 1843}'), new Map([["12", "Wired"], ["7", "1843"]]));
  assert.deepEqual(parseTitles("12\tWired\textra column\r\n\n007\tThe Economist\n"), new Map([["12", "Wired"], ["007", "The Economist"]]));
  assert.deepEqual(parseTitles("1::Toy Story (1995)::Animation|Children's\n2::Jumanji (1995)::Adventure\n"), new Map([["1", "Toy Story (1995)"], ["2", "Jumanji (1995)"]]));
});

test("a titles file in no known form is refused with the line that is wrong", () => {
  assert.throws(() => parseTitles("1\tWired\n2 The Economist\n"), /line 2 is not id<TAB>title or id::title: "2 The Economist"/);
  assert.throws(() => parseTitles('["Wired"]'), /must be an object/);
  assert.throws(() => parseTitles('{"1": {"name": "Wired"}}'), /item 1's title is not a string/);
});

test("search puts the exact id first, then ids starting with the query, then titles containing it", () => {
  const catalog = new ItemCatalog(["5", "15", "51", "500", "7"], new Map([["15", "Vogue"], ["7", "Issue 5 of Five"], ["500", "Time"]]));
  assert.deepEqual(catalog.search(" 5 ", 10), { ids: ["5", "51", "500", "7"], total: 4 });
  assert.deepEqual(catalog.search("5", 2), { ids: ["5", "51"], total: 4 });
  assert.deepEqual(catalog.search("VOG", 10), { ids: ["15"], total: 1 });
  assert.deepEqual(catalog.search("", 10), { ids: [], total: 0 });
  assert.equal(catalog.titled, 3);
  assert.equal(catalog.title("51"), undefined);
  assert.ok(catalog.has("500") && !catalog.has("Time"));
});
