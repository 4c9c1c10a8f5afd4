import { test, expect, type Page } from '@playwright/test';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tariff, waitForEnhancer, markDocument, expectSameDocument, screenshot } from './helpers';

// Issue 16 in the browser: an admin registers a webhook endpoint on /admin/webhooks, copies the
// secret shown once, sends a test event that a real receiver gets (signed), and sees the delivery;
// a user turns usage alerts off on /settings/notifications and the choice stays.

const ADMIN_EMAIL = 'admin@example.com';
const ADMIN_PASSWORD = 'e2e-admin-password';

async function logIn(page: Page, email: string, password: string, next: string): Promise<void> {
  await page.context().clearCookies();
  await page.goto(`/login?next=${encodeURIComponent(next)}&lang=en`);
  await waitForEnhancer(page);
  await page.locator('#login-email').fill(email);
  await page.locator('#login-password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page).toHaveURL(new RegExp(`${next.replaceAll('/', '\\/')}$`));
}

test('an admin registers an endpoint, sees its secret once and a delivered test event', async ({ page }, testInfo) => {
  const received: { headers: IncomingHttpHeaders; body: string }[] = [];
  const receiver = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      received.push({ headers: request.headers, body });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  try {
    await logIn(page, ADMIN_EMAIL, ADMIN_PASSWORD, '/admin/webhooks');
    const form = page.locator('form[data-form="webhook-new"]');
    await form.getByLabel('URL').fill(url);
    await form.getByLabel('Description').fill('AI app');
    await form.getByLabel(/Event types/).fill('usage.threshold, payment.failed');
    await form.getByRole('button', { name: 'Add endpoint' }).click();
    const secret = page.locator('[data-card="secret"] pre');
    await expect(secret).toHaveText(/^whsec_/);
    const card = page.locator('[data-endpoint]').filter({ hasText: url });
    await expect(card).toContainText('payment.failed, usage.threshold');
    await expect(card.locator('[data-state]')).toHaveText('healthy');

    await card.getByRole('button', { name: 'Send a test event' }).click();
    await expect.poll(() => received.length, { timeout: 15_000 }).toBeGreaterThan(0);
    expect(received[0].headers['webhook-id']).toMatch(/^evt_/);
    expect(received[0].headers['webhook-signature']).toMatch(/^v1,/);
    expect(JSON.parse(received[0].body).data).toEqual({ test: true });

    // The delivery shows as delivered once the page is read again.
    await expect(async () => {
      await page.reload();
      await waitForEnhancer(page);
      await expect(page.locator('[data-delivery] [data-status]').first()).toHaveText('delivered', { timeout: 1_000 });
    }).toPass({ timeout: 15_000 });
    await expect(page.locator('[data-card="secret"]')).toHaveCount(0);
    await expect(page.locator('[data-delivery]').first()).toContainText('204');
    await screenshot(page, testInfo, 'admin-webhooks');
  } finally {
    receiver.close();
  }
});

test('a user turns usage alerts off and the choice stays', async ({ page }, testInfo) => {
  const email = `emails-${Date.now()}@example.com`;
  const password = 'correct horse battery';
  tariff('user', 'create', '--email', email, '--password', password, '--name', 'Mailer');
  await logIn(page, email, password, '/settings/notifications');
  await markDocument(page);
  const usage = page.locator('#email-usage');
  await expect(usage).toBeChecked();
  await usage.uncheck();
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.locator('[data-saved]')).toBeVisible();
  await expect(page).toHaveURL(/\/settings\/notifications\?saved=1$/);
  await expectSameDocument(page);

  // Back to the entry before saving: the bundle asks the server for that address again and
  // shows it, still without a reload (the choice is the server's, no "Saved." notice).
  await page.goBack();
  await expect(page).toHaveURL(/\/settings\/notifications$/);
  await expect(page.locator('[data-saved]')).toHaveCount(0);
  await expect(page.locator('#email-usage')).not.toBeChecked();
  await expectSameDocument(page);

  await page.reload();
  await waitForEnhancer(page);
  await expect(page.locator('#email-usage')).not.toBeChecked();
  await expect(page.locator('#email-receipts')).toBeChecked();
  await expect(page.locator('[data-emails-off]')).toBeVisible();
  await screenshot(page, testInfo, 'settings-notifications');
  await page.goto('/settings/notifications?lang=ru');
  await waitForEnhancer(page);
  await expect(page.locator('h1')).toHaveText('Уведомления по почте');
  await screenshot(page, testInfo, 'settings-notifications-ru');
});
