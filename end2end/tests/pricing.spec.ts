import { test, expect } from '@playwright/test';
import { tariff, waitForEnhancer, markDocument, expectNewDocument, screenshot } from './helpers';

const planCard = (page, id: string) => page.locator(`article[data-plan-id="${id}"]`);

test.describe('pricing page', () => {
  test.beforeAll(() => {
    // Annual plans exist only when an operator adds them, as spec 002 says.
    tariff('init-plans', '--include-annual');
  });

  test('shows the active plans with prices, quotas and features, with the bundle running', async ({ page }, testInfo) => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));

    await page.context().clearCookies();
    await page.goto('/');
    await waitForEnhancer(page);
    await expect(page).toHaveTitle(/Plans and pricing/);
    await expect(page.locator('html')).toHaveAttribute('lang', 'en');
    for (const id of ['free', 'starter', 'pro', 'business']) {
      await expect(planCard(page, id)).toBeVisible();
    }
    await expect(planCard(page, 'unlimited')).toHaveCount(0);
    const pro = planCard(page, 'pro');
    await expect(pro.locator('.plan-name')).toHaveText('Pro');
    await expect(pro.locator('.plan-price')).toHaveText('990 ₽ / month');
    await expect(pro.locator('.quota-list')).toContainText('1,000,000 input tokens');
    await expect(pro.locator('.feature-list')).toContainText('Claude models');
    await expect(planCard(page, 'free').locator('.plan-price')).toHaveText('0 ₽ / month');
    await screenshot(page, testInfo, 'pricing-en');
    expect(errors, 'no errors in the browser console').toEqual([]);
  });

  test('switches to Russian through a plain link and remembers it in a cookie', async ({ page, context }, testInfo) => {
    await context.clearCookies();
    await page.goto('/');
    await waitForEnhancer(page);
    await markDocument(page);

    // The language links are plain links, which the bundle leaves alone: the browser loads the
    // Russian page as a new document.
    await page.getByRole('link', { name: 'Русский' }).click();
    await expect(page).toHaveURL(/lang=ru/);
    const pro = planCard(page, 'pro');
    await expect(pro.locator('.plan-name')).toHaveText('Профессиональный');
    await expect(pro.locator('.plan-price')).toHaveText('990 ₽ / мес.');
    await expect(pro.locator('.plan-description')).toHaveText('Расширенные возможности и увеличенные квоты');
    await expect(pro.locator('.quota-list')).toContainText('1 000 000 входящих токенов');
    await expect(page.locator('html')).toHaveAttribute('lang', 'ru');
    await expect(page.locator('h1')).toHaveText('Тарифы и цены');
    await expectNewDocument(page);
    await waitForEnhancer(page);
    await screenshot(page, testInfo, 'pricing-ru');

    const cookies = await context.cookies();
    expect(cookies.find((c) => c.name === 'lang')?.value).toBe('ru');

    // A fresh visit without the query parameter is still in Russian.
    await page.goto('/');
    await waitForEnhancer(page);
    await expect(planCard(page, 'pro').locator('.plan-name')).toHaveText('Профессиональный');

    await page.getByRole('link', { name: 'English' }).click();
    await expect(page).toHaveURL(/lang=en/);
    await expect(planCard(page, 'pro').locator('.plan-name')).toHaveText('Pro');
    await expect(page.locator('html')).toHaveAttribute('lang', 'en');
  });

  test('the monthly / annual toggle links to the other billing period', async ({ page, context }, testInfo) => {
    await context.clearCookies();
    await page.goto('/');
    await waitForEnhancer(page);
    await markDocument(page);

    // Plain links: each is a full navigation, after which the bundle runs again.
    await page.getByRole('link', { name: 'Annual' }).click();
    await expect(page).toHaveURL(/billing=annual/);
    const proAnnual = planCard(page, 'pro_annual');
    await expect(proAnnual.locator('.plan-name')).toHaveText('Pro Annual');
    await expect(proAnnual.locator('.plan-price')).toHaveText('9,504 ₽ / year');
    await expect(proAnnual.locator('.quota-list')).toContainText('12,000,000 input tokens');
    await expect(planCard(page, 'pro')).toHaveCount(0);
    await expect(planCard(page, 'free')).toBeVisible();
    await expectNewDocument(page);
    await waitForEnhancer(page);
    await screenshot(page, testInfo, 'pricing-annual');

    await markDocument(page);
    await page.getByRole('link', { name: 'Monthly' }).click();
    await expect(page).toHaveURL(/billing=monthly/);
    await expect(planCard(page, 'pro')).toBeVisible();
    await expect(planCard(page, 'pro_annual')).toHaveCount(0);
    await expectNewDocument(page);
  });

  test('works without JavaScript through plain links', async ({ browser }, testInfo) => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto('/');
    await expect(planCard(page, 'pro').locator('.plan-name')).toHaveText('Pro');

    await page.getByRole('link', { name: 'Annual' }).click();
    await expect(page).toHaveURL(/billing=annual/);
    await expect(planCard(page, 'pro_annual')).toBeVisible();

    await page.getByRole('link', { name: 'Русский' }).click();
    await expect(page).toHaveURL(/lang=ru/);
    await expect(page).toHaveURL(/billing=annual/);
    await expect(planCard(page, 'pro_annual').locator('.plan-name')).toHaveText('Профессиональный (годовой)');
    await screenshot(page, testInfo, 'pricing-no-js-ru-annual');
    await context.close();
  });

  test('fits a phone screen without sideways scrolling', async ({ browser }, testInfo) => {
    const context = await browser.newContext({ viewport: { width: 375, height: 812 } });
    const page = await context.newPage();
    await page.goto('/');
    await waitForEnhancer(page);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await screenshot(page, testInfo, 'pricing-phone');
    await context.close();
  });

  test('loads one wasm module, the bundle\'s, and no page packs', async ({ page }) => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    const fetched: string[] = [];
    page.on('response', (r) => {
      if (r.url().includes('/pkg/')) fetched.push(`${r.status()} ${new URL(r.url()).pathname}`);
    });
    const wasm = () => fetched.filter((f) => /\.wasm$/.test(f));
    const packs = () => fetched.filter((f) => f.includes('.wasmpack') || f.includes('__wasm_split'));

    await page.context().clearCookies();
    await page.goto('/');
    await waitForEnhancer(page);
    expect(fetched.filter((f) => !f.startsWith('200 ')), 'every bundle file answered 200').toEqual([]);
    // One module, the bundle's (`/pkg/tariff_bg.<hash>.wasm`), and its script.
    expect(wasm(), 'exactly one wasm module').toHaveLength(1);
    expect(wasm()[0]).toMatch(/ \/pkg\/tariff[^/]*\.wasm$/);
    expect(fetched.filter((f) => / \/pkg\/tariff[^/]*\.js$/.test(f)), 'the bundle\'s script').toHaveLength(1);
    expect(packs(), 'no page packs, no split loader').toEqual([]);
    await expect(page.locator('head link[href*=".wasmpack"], head link[href*="__wasm_split"]')).toHaveCount(0);

    // The next page (a link: a new document) runs the same bundle again: the same module, from
    // the cache or fetched again, and still nothing else.
    const before = fetched.length;
    await markDocument(page);
    await page.locator('.account-menu a[href="/login"]').click();
    await expect(page).toHaveURL(/\/login$/);
    await expect(page.locator('#login-email')).toBeVisible();
    await expectNewDocument(page);
    await waitForEnhancer(page);
    const next = fetched.slice(before);
    const nextWasm = next.filter((f) => /\.wasm$/.test(f));
    expect(nextWasm.length, 'at most the bundle\'s module again').toBeLessThanOrEqual(1);
    for (const f of nextWasm) expect(f.split(' ')[1]).toBe(wasm()[0].split(' ')[1]);
    expect(packs(), 'no page packs, no split loader').toEqual([]);
    expect(errors, 'no errors in the browser console').toEqual([]);
  });

  test('unknown pages show the 404 page', async ({ page }) => {
    const response = await page.goto('/no/such/page');
    expect(response?.status()).toBe(404);
    await expect(page.locator('h1')).toHaveText('Page not found');
  });
});
