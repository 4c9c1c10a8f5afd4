import { test, expect } from '@playwright/test';
import { tariff, waitForHydration, markDocument, expectSameDocument, screenshot } from './helpers';

const planCard = (page, id: string) => page.locator(`article[data-plan-id="${id}"]`);

test.describe('pricing page', () => {
  test.beforeAll(() => {
    // Annual plans exist only when an operator adds them, as spec 002 says.
    tariff('init-plans', '--include-annual');
  });

  test('shows the active plans with prices, quotas and features, hydrated', async ({ page }, testInfo) => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));

    await page.context().clearCookies();
    await page.goto('/');
    await waitForHydration(page);
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

  test('switches to Russian without a reload and remembers it in a cookie', async ({ page, context }, testInfo) => {
    await context.clearCookies();
    await page.goto('/');
    await waitForHydration(page);
    await markDocument(page);

    await page.getByRole('link', { name: 'Русский' }).click();
    const pro = planCard(page, 'pro');
    await expect(pro.locator('.plan-name')).toHaveText('Профессиональный');
    await expect(pro.locator('.plan-price')).toHaveText('990 ₽ / мес.');
    await expect(pro.locator('.plan-description')).toHaveText('Расширенные возможности и увеличенные квоты');
    await expect(pro.locator('.quota-list')).toContainText('1 000 000 входящих токенов');
    await expect(page.locator('html')).toHaveAttribute('lang', 'ru');
    await expect(page.locator('h1')).toHaveText('Тарифы и цены');
    await expectSameDocument(page);
    await screenshot(page, testInfo, 'pricing-ru');

    const cookies = await context.cookies();
    expect(cookies.find((c) => c.name === 'lang')?.value).toBe('ru');

    // A fresh visit without the query parameter is still in Russian.
    await page.goto('/');
    await waitForHydration(page);
    await expect(planCard(page, 'pro').locator('.plan-name')).toHaveText('Профессиональный');

    await page.getByRole('link', { name: 'English' }).click();
    await expect(planCard(page, 'pro').locator('.plan-name')).toHaveText('Pro');
  });

  test('monthly / annual toggle works without a reload once hydrated', async ({ page, context }, testInfo) => {
    await context.clearCookies();
    await page.goto('/');
    await waitForHydration(page);
    await markDocument(page);

    await page.getByRole('link', { name: 'Annual' }).click();
    await expect(page).toHaveURL(/billing=annual/);
    const proAnnual = planCard(page, 'pro_annual');
    await expect(proAnnual.locator('.plan-name')).toHaveText('Pro Annual');
    await expect(proAnnual.locator('.plan-price')).toHaveText('9,504 ₽ / year');
    await expect(proAnnual.locator('.quota-list')).toContainText('12,000,000 input tokens');
    await expect(planCard(page, 'pro')).toHaveCount(0);
    await expect(planCard(page, 'free')).toBeVisible();
    await expectSameDocument(page);
    await screenshot(page, testInfo, 'pricing-annual');

    await page.getByRole('link', { name: 'Monthly' }).click();
    await expect(planCard(page, 'pro')).toBeVisible();
    await expect(planCard(page, 'pro_annual')).toHaveCount(0);
    await expectSameDocument(page);
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
    await waitForHydration(page);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await screenshot(page, testInfo, 'pricing-phone');
    await context.close();
  });

  test('preloads and loads only the frame and the page\'s own pack of wasm modules, and the next page\'s on navigation', async ({ page }) => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    const fetched: string[] = [];
    page.on('response', (r) => {
      if (r.url().includes('/pkg/')) fetched.push(`${r.status()} ${new URL(r.url()).pathname}`);
    });

    await page.context().clearCookies();
    await page.goto('/');
    await waitForHydration(page);
    expect(fetched.filter((f) => !f.startsWith('200 ')), 'every bundle file answered 200').toEqual([]);
    // The page's modules come in one pack (scripts/page_packs.py): no module file is fetched
    // besides the main one.
    expect(fetched.some((f) => f.includes('page__pricing_route_view') && f.endsWith('.wasmpack'))).toBe(true);
    expect(fetched.filter((f) => f.endsWith('.wasm') && !f.includes('/pkg/tariff.')), 'no module fetched alone').toEqual([]);
    expect(fetched.filter((f) => /(split|page)__+(admin|login|billing)/.test(f)), 'no other page\'s module').toEqual([]);

    // The server named the page's pack in <link rel="preload"> (fetched alongside the main
    // module), and the loader reused the preloaded response: it was fetched exactly once.
    const preloads = await page.locator('head link[rel="preload"][as="fetch"][href*="/pkg/"]').evaluateAll(
      (links) => links.map((l) => new URL((l as HTMLLinkElement).href).pathname),
    );
    expect(preloads.some((p) => p.includes('page__pricing_route_view')), 'the page\'s pack is preloaded').toBe(true);
    expect(new Set(preloads).size, 'no module is named twice').toBe(preloads.length);
    for (const path of preloads) {
      expect(fetched.filter((f) => f.endsWith(` ${path}`)), `${path} fetched once`).toHaveLength(1);
    }
    await expect(page.locator('head link[rel="modulepreload"][href*="/pkg/__wasm_split."]')).toHaveCount(1);

    // Client-side navigation fetches the next page's modules and renders it without a reload:
    // only the modules the pricing page did not load, as a partial pack the server builds
    // (`?want=`, src/server/partial_packs.rs), smaller than the page's whole pack.
    const partial: { url: string; status: number; bytes: number }[] = [];
    page.on('response', async (r) => {
      if (r.url().includes('.wasmpack?want=')) partial.push({ url: r.url(), status: r.status(), bytes: (await r.body()).length });
    });
    await markDocument(page);
    await page.locator('.account-menu a[href="/login"]').click();
    await expect(page.locator('#login-email')).toBeVisible();
    await expectSameDocument(page);
    await expect.poll(() => partial.length, 'the login page\'s partial pack was fetched').toBe(1);
    expect(partial[0].url).toContain('page__login_route_view');
    expect(partial[0].status).toBe(200);
    const whole = await page.evaluate(async (url) => (await (await fetch(url.split('?')[0])).arrayBuffer()).byteLength, partial[0].url);
    expect(partial[0].bytes, 'the partial pack leaves out what the pricing page loaded').toBeLessThan(whole);
    expect(partial[0].bytes).toBeGreaterThan(0);
    expect(fetched.filter((f) => f.endsWith('.wasm') && !f.includes('/pkg/tariff.')), 'no module fetched alone').toEqual([]);
    expect(errors, 'no errors in the browser console').toEqual([]);
  });

  test('unknown pages show the 404 page', async ({ page }) => {
    const response = await page.goto('/no/such/page');
    expect(response?.status()).toBe(404);
    await expect(page.locator('h1')).toHaveText('Page not found');
  });
});
