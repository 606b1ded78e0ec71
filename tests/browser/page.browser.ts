// Run with: npm run test:browser (called by .ci/run). Needs Chromium: /usr/bin/chromium
// (Debian's `chromium`) or $CHROMIUM_PATH. Without it the test fails, unless
// INFREC_SKIP_BROWSER=1 says to skip (for machines that cannot install it).
//
// The page of examples/browser, built as `npm run build:browser` builds it, in
// headless Chromium behind a local static server: its top-10 for real Magazine
// users must equal the CLI's (`infrec recommend`, onnxruntime-node) on one WASM
// thread (no COOP/COEP) and on two (cross-origin isolated). The artifact is the one
// `infrec fit --model inf-ae --dataset magazine --lambda 20 --out FILE` writes, made
// in-process (the CLI's own calls) to save a process start and its test evaluation.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { buildBrowserPage } from "../../examples/browser/build.ts";
import { serveStatic, type StaticServer } from "../../examples/browser/serve.ts";
import { datasetStats } from "../../lib/data/dataset.ts";
import { loadDataset } from "../../lib/data/registry.ts";
import { decodeDuals, encodeDuals } from "../../lib/models/infinite-ae/artifact.ts";
import { DualsScorer } from "../../lib/models/infinite-ae/duals-scorer.ts";
import { InfiniteAE } from "../../lib/models/infinite-ae/model.ts";
import { getBackend } from "../../lib/onnx/backend.ts";
import { Rng } from "../../lib/random.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const skip = !existsSync(CHROMIUM) && process.env.INFREC_SKIP_BROWSER === "1" ? `no Chromium at ${CHROMIUM} (INFREC_SKIP_BROWSER=1)` : false;
const WAIT_MS = 60_000;
const USERS = 4;

/** A title for every other item, so both labels (title + id, id alone) show up. */
const titleOf = (id: string, index: number): string | undefined => (index % 2 === 0 ? `Magazine ${id} (test title)` : undefined);

describe("the browser page (examples/browser) in headless Chromium", { skip }, () => {
  let dir: string;
  let launching: Promise<Browser> | undefined;
  let browser: Browser;
  let itemIds: readonly string[];
  let users: string[][];
  /** Recommends as `infrec recommend` does: the saved duals on onnxruntime-node. */
  let cli: DualsScorer;
  let expected: string[][];

  before(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`Chromium is not at ${CHROMIUM}: install it (apt-get install -y chromium) or set CHROMIUM_PATH; INFREC_SKIP_BROWSER=1 skips this test`);
    }
    dir = mkdtempSync(join(tmpdir(), "infrec-browser-"));
    // Chromium starts while the model fits.
    launching = puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
    const ds = await loadDataset("magazine");
    const model = new InfiniteAE({ lambda: 20 });
    await model.fit(ds.train);
    const bytes = encodeDuals(await model.toArtifact({ itemIds: ds.itemIds, userIds: ds.userIds, dataset: { ...datasetStats(ds), trainedOn: "train split" } }));
    model.dispose();
    writeFileSync(join(dir, "magazine.infrec"), bytes);
    itemIds = ds.itemIds;
    // New users: the item lists of a few training users.
    const rng = new Rng(16);
    users = [];
    while (users.length < USERS) {
      const items = [...ds.train.rowItems(rng.int(ds.train.numUsers))].map((i) => itemIds[i]);
      if (items.length >= 2) users.push(items);
    }
    cli = new DualsScorer(decodeDuals(bytes), await getBackend({ device: "cpu" }));
    expected = (await cli.recommend(users, 10)).map((r) => r.items.map((x) => x.item));
    const titles = join(dir, "titles.json");
    writeFileSync(titles, JSON.stringify(Object.fromEntries(itemIds.flatMap((id, i) => (titleOf(id, i) ? [[id, titleOf(id, i)]] : [])))));
    await buildBrowserPage({ outDir: join(dir, "site"), model: join(dir, "magazine.infrec"), titles });
    browser = await launching;
  });

  after(async () => {
    // Closed even when the fit failed after the launch began.
    await (await launching?.catch(() => undefined))?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Pastes a user's items, as a person would, and reads the page's top-10. */
  async function topTen(page: Page, items: readonly string[]): Promise<string[]> {
    await page.click("#clear");
    // Emptied first, so a repeated selection cannot read the previous results.
    await page.waitForFunction(() => document.getElementById("results")?.dataset.for === "", { timeout: WAIT_MS });
    await page.type("#paste", items.join(", "));
    await page.click("#add");
    await page.waitForFunction((k) => document.getElementById("results")?.dataset.for === k, { timeout: WAIT_MS }, items.join(","));
    return page.$$eval("#results li", (lis) => lis.map((li) => (li as HTMLElement).dataset.item ?? ""));
  }

  for (const isolated of [false, true]) {
    const threads = isolated ? 2 : 1;
    describe(`${isolated ? "with" : "without"} COOP/COEP, asking for two threads`, () => {
      let server: StaticServer;
      let page: Page;
      const errors: string[] = [];

      before(async () => {
        server = await serveStatic(join(dir, "site"), { isolated });
        page = await browser.newPage();
        page.on("pageerror", (e) => errors.push(String(e)));
        page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
        // The build shipped the model and titles: the page opens them by itself.
        await page.goto(`${server.url}?threads=2`);
        await page.waitForSelector("#status:is([data-state=ready], [data-state=error])", { timeout: WAIT_MS });
        assert.equal(await page.$eval("#status", (e) => e.getAttribute("data-state")), "ready", await page.$eval("#status", (e) => e.textContent ?? ""));
      });

      after(async () => {
        await page?.close();
        await server?.close();
      });

      test(`runs ${threads} WASM thread${threads > 1 ? "s" : ""}`, async () => {
        const seen = await page.evaluate(() => ({
          threads: document.getElementById("runtime")?.dataset.threads,
          crossOriginIsolated,
          items: document.getElementById("model-info")?.textContent?.match(/(\d+) items/)?.[1],
        }));
        assert.deepEqual(seen, { threads: String(threads), crossOriginIsolated: isolated, items: String(itemIds.length) });
        // ORT runs each thread beyond the first in a worker (pthreads): none on one thread.
        if (isolated) assert.ok(page.workers().length >= 1, `two threads but ${page.workers().length} workers`);
        else assert.equal(page.workers().length, 0);
      });

      test(`gives the CLI's top-10 for ${USERS} Magazine users`, async () => {
        for (let u = 0; u < users.length; u++) assert.deepEqual(await topTen(page, users[u]), expected[u], `user ${u}: ${users[u].join(",")}`);
      });

      if (!isolated) {
        test("finds an item by title, shows titles where the file has them, names unknown ids", async () => {
          await page.click("#clear");
          const id = itemIds.find((x, i) => i > 10 && titleOf(x, i) !== undefined)!;
          await page.type("#search", `magazine ${id} (test`);
          await page.waitForSelector(`#matches button[data-item="${id}"]`, { timeout: WAIT_MS });
          assert.deepEqual(await page.$$eval("#matches button", (bs) => bs.map((b) => (b as HTMLElement).dataset.item)), [id]);
          await page.click(`#matches button[data-item="${id}"]`);
          await page.waitForFunction((k) => document.getElementById("results")?.dataset.for === k, { timeout: WAIT_MS }, id);
          const [want] = await cli.recommend([[id]], 10);
          const shown = await page.$$eval("#results li", (lis) => lis.map((li) => ({ item: (li as HTMLElement).dataset.item ?? "", text: li.textContent ?? "" })));
          assert.deepEqual(shown.map((r) => r.item), want.items.map((x) => x.item));
          for (const r of shown) {
            const title = titleOf(r.item, itemIds.indexOf(r.item));
            assert.ok(r.text.startsWith(title ? `${title} (${r.item}) ` : `${r.item} `), `result ${JSON.stringify(r)}`);
          }
          await page.type("#paste", "no-such-item");
          await page.click("#add");
          await page.waitForFunction(() => document.getElementById("unknown")?.textContent?.includes("no-such-item"), { timeout: WAIT_MS });
        });
      }

      if (isolated) {
        test("opens an artifact chosen with the file picker", async () => {
          const picker = await page.waitForSelector("input#model-file[type=file]");
          assert.ok(picker);
          await picker.uploadFile(join(dir, "magazine.infrec"));
          await page.waitForFunction(() => document.getElementById("model-info")?.textContent?.startsWith("magazine.infrec:"), { timeout: WAIT_MS });
          assert.deepEqual(await topTen(page, users[0]), expected[0]);
        });
      }

      test("logs no errors", () => assert.deepEqual(errors, []));
    });
  }
});
