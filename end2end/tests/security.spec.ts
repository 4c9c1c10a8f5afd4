import { test, expect } from '@playwright/test';
import { waitForHydration, screenshot } from './helpers';

// Issue 11: every page carries a Content-Security-Policy with a per-response nonce, the app
// hydrates under it without a single violation, and while the sandbox takes payments every page
// says so in a banner (in the page's language).

test.describe('pages under the security headers', () => {
  test('hydrate under the CSP and show the test-mode banner', async ({ page, context }, testInfo) => {
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
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(response!.headers()['x-content-type-options']).toBe('nosniff');
      await waitForHydration(page);
      await expect(page.locator('html')).toHaveAttribute('data-test-mode', 'true');
    }
    const banner = await page.evaluate(() => getComputedStyle(document.body, '::before').content);
    expect(banner).toContain('Test mode');
    await screenshot(page, testInfo, 'test-mode-banner-en');

    await page.goto('/?lang=ru');
    await waitForHydration(page);
    const bannerRu = await page.evaluate(() => getComputedStyle(document.body, '::before').content);
    expect(bannerRu).toContain('Тестовый режим');
    await screenshot(page, testInfo, 'test-mode-banner-ru');

    expect(violations, 'no CSP violations').toEqual([]);
    expect(errors, 'no errors in the browser console').toEqual([]);
  });
});
