// First visit of a page in headless Chromium, from the navigation to a hydrated page
// (`body[data-hydrated]`, set once the page's own wasm modules have hydrated), on an emulated
// network (every request pays the round trip). Each page is loaded in a new browser context (an
// empty cache; DevTools' cache switch is left alone, as it also stops preloads being reused), once
// as served (the page's modules named in `<link rel="preload">`) and once with those preload
// links taken out of the HTML, so the figures show what the preload saves.
//
// Usage: node bench/first_visit.cjs BASE_URL [RUNS]. Prints one line per page: median and best
// milliseconds to hydrated, with and without preload, and the bundle requests made.
// Figures only; exit 1 when a page does not hydrate.
'use strict';
const path = require('node:path');
const { chromium } = require(path.join(__dirname, '..', 'end2end', 'node_modules', '@playwright/test'));

const base = process.argv[2];
const runs = Number(process.argv[3] ?? 5);
const RTT_MS = 40;
const BYTES_PER_SECOND = (20 * 1024 * 1024) / 8; // 20 Mbit/s
const PAGES = ['/?lang=en', '/login?lang=en', '/signup?lang=en'];

/** The split build's preload links of the page's pack (or modules) and of the split loader. */
const SPLIT_PRELOAD = /<link[^>]*href="\/pkg\/(?:__wasm_split\.|chunk_|split_|page__)[^"]*"[^>]*>/g;

async function visit(browser, url, withPreload) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false,
    latency: RTT_MS,
    downloadThroughput: BYTES_PER_SECOND,
    uploadThroughput: BYTES_PER_SECOND,
  });
  // Both arms fetch the HTML the same way (through the route, outside the emulated link); only
  // the no-preload arm changes it.
  let removed = 0;
  await page.route((u) => u.href === url, async (route) => {
    const response = await route.fetch();
    let html = await response.text();
    if (!withPreload) {
      html = html.replace(SPLIT_PRELOAD, () => {
        removed += 1;
        return '';
      });
    }
    await route.fulfill({ response, body: html });
  });
  let requests = 0;
  page.on('request', (r) => r.url().includes('/pkg/') && (requests += 1));
  const started = Date.now();
  await page.goto(url);
  await page.waitForSelector('body[data-hydrated="true"]', { timeout: 60_000 });
  const ms = Date.now() - started;
  await context.close();
  return { ms, requests, removed };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run'],
  });
  console.log(`first visit to hydrated, empty cache, ${RTT_MS} ms round trip, 20 Mbit/s, median of ${runs}:`);
  for (const page of PAGES) {
    const url = new URL(page, base).toString();
    const line = {};
    for (const withPreload of [true, false]) {
      const results = [];
      for (let i = 0; i < runs; i += 1) results.push(await visit(browser, url, withPreload));
      line[withPreload] = {
        median: median(results.map((r) => r.ms)),
        best: Math.min(...results.map((r) => r.ms)),
        requests: results[0].requests,
        removed: results[0].removed,
      };
    }
    const a = line[true];
    const b = line[false];
    console.log(
      `${page.padEnd(18)} preload ${String(a.median).padStart(5)} ms (best ${a.best})   ` +
        `without ${String(b.median).padStart(5)} ms (best ${b.best}, ${b.removed} links removed)   ` +
        `${a.requests} bundle requests`,
    );
  }
  await browser.close();
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
