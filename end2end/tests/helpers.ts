import { execFileSync } from 'node:child_process';
import { expect, type Page, type TestInfo } from '@playwright/test';

/** Runs the tariff binary against the test server's database (set by scripts/e2e.sh). */
export function tariff(...args: string[]): string {
  const bin = process.env.TARIFF_BIN;
  const databaseUrl = process.env.DATABASE_URL;
  if (!bin || !databaseUrl) throw new Error('TARIFF_BIN and DATABASE_URL must be set (run through scripts/e2e.sh)');
  return execFileSync(bin, args, { env: { ...process.env, DATABASE_URL: databaseUrl, RUST_LOG: 'warn' } }).toString();
}

/** Waits until the wasm bundle has hydrated the server-rendered page. */
export async function waitForHydration(page: Page): Promise<void> {
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
}

/** Marks the current document; `expectSameDocument` then proves no full reload happened. */
export async function markDocument(page: Page): Promise<void> {
  await page.evaluate(() => ((window as unknown as { __tariffMark: number }).__tariffMark = 42));
}

export async function expectSameDocument(page: Page): Promise<void> {
  const mark = await page.evaluate(() => (window as unknown as { __tariffMark?: number }).__tariffMark);
  expect(mark, 'the page was not reloaded').toBe(42);
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
    await waitForHydration(page);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow, `${path} scrolls sideways`).toBeLessThanOrEqual(0);
    await screenshot(page, testInfo, `phone${path.replaceAll('/', '-')}`);
  }
}
