import { test, expect } from '@playwright/test';
import { waitForEnhancer, markDocument, expectSameDocument, screenshot } from './helpers';

// Issue 11: every page carries a Content-Security-Policy with a per-response nonce, the browser
// bundle (the form enhancer, src/enhance.rs) loads and runs under it without a single violation,
// and while the sandbox takes payments every page says so in a banner (in the page's language).

test.describe('pages under the security headers', () => {
  test('run the browser bundle under the CSP and show the test-mode banner', async ({ page, context }, testInfo) => {
    const violations: string[] = [];
    const errors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.exposeFunction('reportViolation', (v: string) => violations.push(v));
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) =>
        (window as any).reportViolation(`${e.violatedDirective} ${e.blockedURI}`),
      );
    });
    await context.clearCookies();

    for (const path of ['/', '/login', '/signup']) {
      const response = await page.goto(path);
      const csp = response!.headers()['content-security-policy'];
      expect(csp, path).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9+/=_-]+'/);
      expect(csp, path).toContain("'wasm-unsafe-eval'");
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(response!.headers()['x-content-type-options']).toBe('nosniff');
      await waitForEnhancer(page);
      await expect(page.locator('html')).toHaveAttribute('data-test-mode', 'true');
    }
    const banner = await page.evaluate(() => getComputedStyle(document.body, '::before').content);
    expect(banner).toContain('Test mode');
    await screenshot(page, testInfo, 'test-mode-banner-en');

    // The bundle's requests are allowed too (`connect-src 'self'`): a form it sends with `fetch`
    // (here a sign-up the server refuses, which changes nothing) comes back without a reload.
    await expect(page).toHaveURL(/\/signup$/);
    await markDocument(page);
    await page.locator('#signup-email').fill(`csp-${Date.now()}@example.com`);
    await page.locator('#signup-password').fill('short');
    // The browser's own minlength check would stop the post; remove it to get the server's answer.
    await page.locator('#signup-password').evaluate((el) => el.removeAttribute('minlength'));
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect(page.locator('[data-field="password"]')).toHaveText('Use at least 8 characters');
    await expectSameDocument(page);

    await page.goto('/?lang=ru');
    await waitForEnhancer(page);
    const bannerRu = await page.evaluate(() => getComputedStyle(document.body, '::before').content);
    expect(bannerRu).toContain('Тестовый режим');
    await screenshot(page, testInfo, 'test-mode-banner-ru');

    expect(violations, 'no CSP violations').toEqual([]);
    expect(errors, 'no errors in the browser console').toEqual([]);
  });
});
