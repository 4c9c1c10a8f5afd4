import { test, expect, type Page, type APIRequestContext } from '@playwright/test';
import { tariff, waitForEnhancer, screenshot, expectFitsScreen } from './helpers';

// The admin dashboard (issue 6): MRR as the spec defines it, creating a plan that shows on the
// pricing page, the inline refusal to lower a quota of a plan with subscribers, duplicating, a
// partial refund the user then sees, every action in the audit log, and 403 for non-admins.

const ADMIN_EMAIL = 'admin@example.com';
const ADMIN_PASSWORD = 'e2e-admin-password';

/** Minor units from a figure such as "2,980 ₽" or "1,234.50 ₽" (RUB only). */
function minorFromFigure(text: string): number {
  const rub = text.split('·').map((s) => s.trim()).find((s) => s.endsWith('₽')) ?? '0';
  const digits = rub.replace(/[^\d.]/g, '');
  return Math.round(parseFloat(digits || '0') * 100);
}

async function logIn(page: Page, email: string, password: string, next: string): Promise<void> {
  await page.context().clearCookies();
  await page.goto(`/login?next=${encodeURIComponent(next)}&lang=en`);
  await waitForEnhancer(page);
  await page.locator('#login-email').fill(email);
  await page.locator('#login-password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page).toHaveURL(new RegExp(`${next.replaceAll('/', '\\/')}$`));
}

function lastLine(output: string): string {
  return output.trim().split('\n').pop()!.trim();
}

/** A user made with the CLI, with a password and a user token. */
function makeUser(name: string): { email: string; password: string; id: string; token: string } {
  const email = `${name}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
  const password = 'correct horse battery';
  const created = tariff('user', 'create', '--email', email, '--password', password, '--name', name);
  const id = /id ([0-9a-f-]{36})/.exec(created)![1];
  const token = lastLine(tariff('token', 'create', '--email', email, '--name', 'e2e', '--scope', 'user'));
  return { email, password, id, token };
}

let adminToken = '';

async function api(request: APIRequestContext, method: 'get' | 'post', path: string, token: string, data?: unknown) {
  const response = await request[method](path, { headers: { Authorization: `Bearer ${token}` }, data });
  return { status: response.status(), body: await response.json() };
}

test.describe('admin dashboard', () => {
  test.beforeAll(() => {
    adminToken = lastLine(tariff('token', 'create', '--email', ADMIN_EMAIL, '--name', 'e2e-admin', '--scope', 'admin'));
  });

  test('MRR on the overview follows the definition, annual plans counted at one twelfth', async ({ page, request }, testInfo) => {
    await logIn(page, ADMIN_EMAIL, ADMIN_PASSWORD, '/admin');
    const before = minorFromFigure(await page.getByTestId('mrr').locator('.figure-value').innerText());

    // 2 × Pro at 990 ₽/month and 1 × an annual plan at 12,000 ₽/year: 1,980 + 1,000 = 2,980 ₽.
    const annualId = `e2e_annual_${Date.now()}`;
    const created = await api(request, 'post', '/api/v1/admin/billing/plans', adminToken, {
      id: annualId, name: 'E2E Annual', price: 12000.0, currency: 'RUB', interval: 'year',
    });
    expect(created.status).toBe(201);
    for (const plan of ['pro', 'pro', annualId]) {
      const user = makeUser('mrr');
      const assigned = await api(request, 'post', '/api/v1/admin/billing/subscriptions', adminToken, { user_id: user.id, plan_id: plan });
      expect(assigned.status).toBe(200);
    }
    await page.reload();
    await waitForEnhancer(page);
    const after = minorFromFigure(await page.getByTestId('mrr').locator('.figure-value').innerText());
    expect(after - before).toBe(298_000);
    await expect(page.locator('[data-chart="mrr-by-plan"] svg rect').first()).toBeVisible();
    await page.getByText('How these figures are computed').click();
    await expect(page.getByTestId('definitions')).toContainText('yearly ÷ 12');
    await screenshot(page, testInfo, 'admin-overview');
  });

  test('an admin creates a plan and finds it on the public pricing page', async ({ page }, testInfo) => {
    await logIn(page, ADMIN_EMAIL, ADMIN_PASSWORD, '/admin/plans');
    await page.getByRole('link', { name: 'New plan' }).click();
    await expect(page).toHaveURL(/\/admin\/plans\/new$/);
    await waitForEnhancer(page);
    const name = `Studio ${Date.now()}`;
    await page.locator('#plan-name').fill(name);
    await page.locator('#plan-name_ru').fill('Студия');
    await page.locator('#plan-price').fill('1500.00');
    await page.locator('tr[data-metric="tokens_input"] input[type="number"]').first().fill('2000000');
    await page.locator('#plan-features').fill('gpt4_access\nclaude_access');
    await screenshot(page, testInfo, 'plan-editor-new');
    await page.getByRole('button', { name: 'Save plan' }).click();
    await expect(page).toHaveURL(/\/admin\/plans$/);
    const row = page.locator('tr', { hasText: name });
    await expect(row).toBeVisible();
    await screenshot(page, testInfo, 'admin-plans');

    await page.goto('/');
    await waitForEnhancer(page);
    const card = page.locator('article.plan-card', { hasText: name });
    await expect(card.locator('.plan-price')).toHaveText('1,500 ₽ / month');
    await expect(card.locator('.quota-list')).toContainText('2,000,000 input tokens');
  });

  test('lowering a quota of a plan with subscribers is refused next to the field', async ({ page }, testInfo) => {
    await logIn(page, ADMIN_EMAIL, ADMIN_PASSWORD, '/admin/plans/pro/edit');
    await waitForEnhancer(page);
    await expect(page.locator('.notice.warn')).toContainText('subscriber');
    await page.locator('tr[data-metric="tokens_input"] input[type="number"]').first().fill('10');
    await page.locator('input[name="fields[name]"]').fill('Pro, renamed');
    await page.getByRole('button', { name: 'Save plan' }).click();
    await expect(page.locator('[data-field="quotas.tokens_input"]')).toContainText('cannot be decreased');
    await expect(page).toHaveURL(/\/admin\/plans\/pro\/edit$/);
    // Nothing was saved, and the editor still holds every change, the refused one included.
    await expect(page.locator('tr[data-metric="tokens_input"] input[type="number"]').first()).toHaveValue('10');
    await expect(page.locator('input[name="fields[name]"]')).toHaveValue('Pro, renamed');
    await screenshot(page, testInfo, 'plan-editor-refusal');
  });

  test('duplicating a plan makes an inactive copy', async ({ page }, testInfo) => {
    await logIn(page, ADMIN_EMAIL, ADMIN_PASSWORD, '/admin/plans');
    await waitForEnhancer(page);
    const row = page.locator('tr[data-plan-id="starter"]');
    await row.getByText('Duplicate', { exact: true }).click();
    await row.getByRole('button', { name: 'Yes, duplicate' }).click();
    const notice = page.locator('p.notice[role="status"]');
    await expect(notice).toContainText('Inactive copy created');
    const copyId = (await notice.innerText()).match(/created:\s*(\S+)/)![1];
    await expect(page.locator(`tr[data-plan-id="${copyId}"] [data-active="false"]`)).toBeVisible();
    await screenshot(page, testInfo, 'admin-plans-duplicated');
  });

  test('a partial refund shows in the user’s payment history and every action is in the audit log', async ({ page, browser, request }, testInfo) => {
    // A customer pays for Starter through the sandbox.
    const customer = makeUser('refund');
    const checkout = await api(request, 'post', '/api/v1/billing/payment', customer.token, {
      plan_id: 'starter', return_url: `${process.env.BASE_URL}/billing`,
    });
    expect(checkout.status).toBe(200);
    const paid = await request.post(checkout.body.confirmation_url, {
      form: { card_number: '5555555555554444', expiry: '12/30', csc: '123' }, maxRedirects: 0,
    });
    expect(paid.status()).toBe(303);
    await expect.poll(async () => (await api(request, 'get', `/api/v1/billing/transactions/${checkout.body.transaction_id}`, customer.token)).body.status).toBe('succeeded');

    // The admin finds the customer and refunds 100 ₽ of the 490 ₽.
    await logIn(page, ADMIN_EMAIL, ADMIN_PASSWORD, '/admin/users');
    await page.locator('#user-search').fill(customer.email);
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('link', { name: customer.email }).click();
    await expect(page).toHaveURL(new RegExp(`/admin/users/${customer.id}$`));
    await waitForEnhancer(page);
    const refund = page.locator(`[data-refund="${checkout.body.transaction_id}"]`);
    await refund.locator('summary').click();
    await refund.locator('input[name="amount"]').fill('100.00');
    await refund.getByRole('button', { name: 'Refund' }).click();
    await expect(page.locator(`tr[data-transaction-id="${checkout.body.transaction_id}"] .refunded`)).toContainText('100 ₽');
    await screenshot(page, testInfo, 'admin-user-refunded');

    // The customer sees it.
    const context = await browser.newContext();
    const customerPage = await context.newPage();
    await logIn(customerPage, customer.email, customer.password, '/billing/transactions');
    await expect(customerPage.locator(`tr[data-transaction-id="${checkout.body.transaction_id}"] .refunded`)).toContainText('100 ₽');
    await expect(customerPage.locator('tr[data-kind="refund"]')).toHaveCount(1);
    await screenshot(customerPage, testInfo, 'customer-sees-refund');
    await context.close();

    // The audit log has each kind of action this suite took.
    await page.goto('/admin/audit');
    await waitForEnhancer(page);
    for (const action of ['plan.create', 'plan.duplicate', 'subscription.assign', 'transaction.refund']) {
      await expect(page.locator(`.audit-entry[data-action="${action}"]`).first()).toBeVisible();
    }
    await page.goto('/admin/audit?action=transaction.refund');
    const entry = page.locator('.audit-entry').first();
    await expect(entry).toHaveAttribute('data-action', 'transaction.refund');
    await expect(entry.locator('table.diff')).toBeVisible();
    await screenshot(page, testInfo, 'admin-audit');
  });

  test('an admin adds a priced feature and credits a user balance by hand', async ({ page }, testInfo) => {
    const name = `e2e-feature-${Date.now()}`;
    await logIn(page, ADMIN_EMAIL, ADMIN_PASSWORD, '/admin/features');
    const form = page.locator('[data-form="feature-new"]');
    await form.locator('input[name="fields[name]"]').fill(name);
    await form.locator('input[name="fields[title]"]').fill('E2E tokens');
    await form.locator('input[name="fields[unit_price]"]').fill('0,15');
    await form.locator('input[name="fields[per_units]"]').fill('1000');
    await form.locator('select[name="fields[access]"]').selectOption('premium');
    await form.getByRole('button', { name: 'Add feature' }).click();
    const row = page.locator(`tr[data-feature="${name}"]`);
    await expect(row).toContainText('0.15 ₽ / 1,000 units');
    await expect(row).toContainText('Paid plans');
    await screenshot(page, testInfo, 'admin-features');

    const user = makeUser('prepaid');
    await page.goto(`/admin/users/${user.id}`);
    await waitForEnhancer(page);
    await page.locator('[data-form-wrap="adjust"] summary').click();
    await page.locator('#adjust-amount').fill('250');
    await page.locator('#adjust-reason').fill('prepaid by invoice');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect(page.getByTestId('admin-balance')).toHaveText('250 ₽');
    await expect(page.locator('[data-table="ledger"] tr[data-reason="adjustment"]')).toContainText('prepaid by invoice');
    await screenshot(page, testInfo, 'admin-user-balance');
  });

  test('a non-admin opening /admin gets the 403 page', async ({ page }, testInfo) => {
    const user = makeUser('nosy');
    await logIn(page, user.email, user.password, '/billing');
    const response = await page.goto('/admin');
    expect(response!.status()).toBe(403);
    await expect(page.locator('[data-error="forbidden"]')).toBeVisible();
    await expect(page.locator('.sidenav')).toHaveCount(0);
    await screenshot(page, testInfo, 'admin-403');
  });

  test('the admin pages are usable on a phone', async ({ browser }, testInfo) => {
    const context = await browser.newContext({ viewport: { width: 375, height: 740 } });
    const page = await context.newPage();
    await logIn(page, ADMIN_EMAIL, ADMIN_PASSWORD, '/admin');
    await expectFitsScreen(page, testInfo, ['/admin', '/admin/plans', '/admin/plans/pro/edit', '/admin/users', '/admin/audit']);
    await context.close();
  });
});
