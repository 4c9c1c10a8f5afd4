import { execFileSync } from 'node:child_process';
import { expect, type Page, type TestInfo } from '@playwright/test';

/** Runs the tariff binary against the test server's database (set by scripts/e2e.sh). */
export function tariff(...args: string[]): string {
  const bin = process.env.TARIFF_BIN;
  const databaseUrl = process.env.DATABASE_URL;
  if (!bin || !databaseUrl) throw new Error('TARIFF_BIN and DATABASE_URL must be set (run through scripts/e2e.sh)');
  return execFileSync(bin, args, { env: { ...process.env, DATABASE_URL: databaseUrl, RUST_LOG: 'warn' } }).toString();
}

/**
 * Waits until the browser bundle (src/enhance.rs) has installed its listeners on this document:
 * it marks `<html data-enhanced="true">` (the root element, which survives the body swaps of
 * enhanced form posts). A form submitted before that is a plain form post (a full reload).
 *
 * After a link click, first wait for the new page (its URL or content): until the new document
 * has replaced it, the old one still carries the mark.
 */
export async function waitForEnhancer(page: Page): Promise<void> {
  await expect(page.locator('html')).toHaveAttribute('data-enhanced', 'true');
}

type Marked = { __tariffMark?: number };

/**
 * Marks the current document with a property of `window`, not an attribute in the page: an
 * enhanced form post replaces `<body>` but keeps `window`, a full navigation or reload does not.
 * `expectSameDocument` then proves no full reload happened; `expectNewDocument` that one did.
 */
export async function markDocument(page: Page): Promise<void> {
  await page.evaluate(() => ((window as unknown as Marked).__tariffMark = 42));
}

export async function expectSameDocument(page: Page): Promise<void> {
  const mark = await page.evaluate(() => (window as unknown as Marked).__tariffMark);
  expect(mark, 'the page was not reloaded').toBe(42);
}

export async function expectNewDocument(page: Page): Promise<void> {
  const mark = await page.evaluate(() => (window as unknown as Marked).__tariffMark);
  expect(mark, 'the browser loaded a new document').toBeUndefined();
}

/** Saves a full-page screenshot as a test artifact (end2end/artifacts/...). */
export async function screenshot(page: Page, testInfo: TestInfo, name: string): Promise<void> {
  const path = testInfo.outputPath(`${name}.png`);
  await page.screenshot({ path, fullPage: true });
  await testInfo.attach(name, { path, contentType: 'image/png' });
}

/** Opens each path and checks nothing scrolls sideways (a phone-sized viewport), with a screenshot. */
export async function expectFitsScreen(page: Page, testInfo: TestInfo, paths: string[]): Promise<void> {
  for (const path of paths) {
    await page.goto(path);
    await waitForEnhancer(page);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow, `${path} scrolls sideways`).toBeLessThanOrEqual(0);
    await screenshot(page, testInfo, `phone${path.replaceAll('/', '-')}`);
  }
}
