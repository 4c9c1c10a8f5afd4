// First visit of a page in headless Chromium, on an emulated network (every request pays the
// round trip), each in a new browser context (an empty cache): milliseconds until the page has
// loaded (`load`: HTML, stylesheet) and until the browser bundle has installed its enhancer
// (`html[data-enhanced]`, see src/enhance.rs), and the bundle requests made.
//
// Usage: node bench/first_visit.cjs BASE_URL [RUNS]. Prints one line per page.
// Figures only; exit 1 when a page is not enhanced.
'use strict';
const path = require('node:path');
const { chromium } = require(path.join(__dirname, '..', 'end2end', 'node_modules', '@playwright/test'));

const base = process.argv[2];
const runs = Number(process.argv[3] ?? 5);
const RTT_MS = 40;
const BYTES_PER_SECOND = (20 * 1024 * 1024) / 8; // 20 Mbit/s
const PAGES = ['/?lang=en', '/login?lang=en', '/signup?lang=en'];

async function visit(browser, url) {
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
  let requests = 0;
  page.on('request', (r) => r.url().includes('/pkg/') && (requests += 1));
  const started = Date.now();
  await page.goto(url);
  const painted = Date.now() - started;
  await page.waitForSelector('html[data-enhanced="true"]', { timeout: 60_000 });
  const ms = Date.now() - started;
  await context.close();
  return { ms, painted, requests };
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
  console.log(`first visit, empty cache, ${RTT_MS} ms round trip, 20 Mbit/s, median of ${runs}:`);
  for (const page of PAGES) {
    const url = new URL(page, base).toString();
    const results = [];
    for (let i = 0; i < runs; i += 1) results.push(await visit(browser, url));
    console.log(
      `${page.padEnd(18)} loaded ${String(median(results.map((r) => r.painted))).padStart(5)} ms   ` +
        `enhanced ${String(median(results.map((r) => r.ms))).padStart(5)} ms ` +
        `(best ${Math.min(...results.map((r) => r.ms))})   ${results[0].requests} bundle requests`,
    );
  }
  await browser.close();
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
