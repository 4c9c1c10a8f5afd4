import { test, expect, type Page } from '@playwright/test';
import { waitForEnhancer, screenshot } from './helpers';

// The balance page (issue 12.9): a new user tops up 500 ₽ with a preset amount through the
// sandbox and sees it as the big figure and in the history; a custom amount outside the limits
// is refused next to the field, also without JavaScript.

async function signUp(page: Page, prefix: string): Promise<void> {
  await page.goto('/signup?lang=en');
  await waitForEnhancer(page);
  await page.locator('#signup-email').fill(`${prefix}-${Date.now()}@example.com`);
  await page.locator('#signup-password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(/\/billing$/);
}

test('a preset top-up through the sandbox shows on the balance page', async ({ page, context }, testInfo) => {
  await context.clearCookies();
  await signUp(page, 'topup');
  await page.locator('.subnav a[href="/billing/balance"]').click();
  await expect(page).toHaveURL(/\/billing\/balance$/);
  await expect(page.getByTestId('balance')).toHaveText('0 ₽');
  await expect(page.getByTestId('low-balance')).toBeVisible();
  await screenshot(page, testInfo, 'balance-01-empty');
  await waitForEnhancer(page);
  await page.getByRole('button', { name: '500 ₽', exact: true }).click();
  await expect(page).toHaveURL(/\/sandbox\/yookassa\/checkout\//);
  await page.locator('#card_number').fill('5555 5555 5555 4444');
  await page.locator('#expiry').fill('12/30');
  await page.locator('#csc').fill('123');
  await page.getByRole('button', { name: /Pay/ }).click();
  await expect(page).toHaveURL(/\/billing\/return\?transaction=/);
  // The return page reloads itself (a meta refresh) until the payment is final, then stops.
  await expect(page.locator('[data-payment-status="succeeded"]')).toBeVisible({ timeout: 20_000 });
  await expect(page.locator('meta[http-equiv="refresh"]')).toHaveCount(0);
  await expect(page.getByTestId('active-until')).toHaveText('The balance is topped up.');
  await page.getByRole('link', { name: 'See balance' }).click();
  await expect(page.getByTestId('balance')).toHaveText('500 ₽');
  await expect(page.getByTestId('balance')).toHaveAttribute('data-balance-micros', '50000000000');
  await expect(page.locator('[data-table="ledger"] tr[data-reason="topup"]')).toHaveCount(1);
  await expect(page.getByTestId('low-balance')).toHaveCount(0);
  await screenshot(page, testInfo, 'balance-02-topped-up');
});

test('a custom top-up outside the limits is refused without JavaScript', async ({ browser }, testInfo) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto('/signup?lang=ru');
  await page.locator('#signup-email').fill(`topup-nojs-${Date.now()}@example.com`);
  await page.locator('#signup-password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Зарегистрироваться' }).click();
  await expect(page).toHaveURL(/\/billing$/);
  await page.goto('/billing/balance');
  await page.locator('#topup-amount').fill('9');
  await page.getByRole('button', { name: 'Пополнить', exact: true }).click();
  await expect(page.locator('[data-field="amount"]')).toHaveText('Пополнение — от 10 ₽ до 700 000 ₽');
  await screenshot(page, testInfo, 'balance-03-nojs-refused');
  await page.locator('#topup-amount').fill('750,50');
  await page.getByRole('button', { name: 'Пополнить', exact: true }).click();
  await expect(page).toHaveURL(/\/sandbox\/yookassa\/checkout\//);
  await context.close();
});
