import { test, expect, type Page, type TestInfo, type APIRequestContext } from '@playwright/test';
import { tariff, waitForEnhancer, markDocument, expectSameDocument, screenshot } from './helpers';

// The subscription lifecycle in the browser (issue 14): a Starter subscriber sees on the plan page
// what upgrading to Pro costs for the rest of the period, upgrades (charged on the saved card),
// schedules a downgrade back to Starter and sees it on the plan page and the overview; the admin
// sees the expansion on the MRR chart and moves the sandbox's test clock a month forward, after
// which the downgrade has been applied.
//
// Files run in name order on one worker, so this one runs after every file that depends on
// periods or invitations (only webhooks.spec.ts follows, and it does not): moving the shared test
// clock forward would otherwise age their invitations and periods.

const ADMIN_EMAIL = 'admin@example.com';
const ADMIN_PASSWORD = 'e2e-admin-password';
const SUCCESS_CARD = '5555 5555 5555 4444';
const DAY = 86_400;

function lastLine(output: string): string {
  return output.trim().split('\n').pop()!.trim();
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

async function payInSandbox(page: Page, testInfo: TestInfo): Promise<void> {
  await expect(page).toHaveURL(/\/sandbox\/yookassa\/checkout\//);
  await page.locator('#card_number').fill(SUCCESS_CARD);
  await page.locator('#expiry').fill('12/30');
  await page.locator('#csc').fill('123');
  await screenshot(page, testInfo, 'lifecycle-01-pay-starter');
  await page.getByRole('button', { name: /Pay/ }).click();
  await expect(page).toHaveURL(/\/billing\/return\?transaction=/);
  // While the payment is pending the return page reloads itself every 2 s (a meta refresh);
  // once it is final the page stops refreshing.
  await expect(page.locator('[data-payment-status="succeeded"]')).toBeVisible({ timeout: 20_000 });
  await expect(page.locator('meta[http-equiv="refresh"]')).toHaveCount(0);
}

async function subscription(request: APIRequestContext, token: string) {
  const response = await request.get('/api/v1/billing/subscription', { headers: { Authorization: `Bearer ${token}` } });
  expect(response.status()).toBe(200);
  return response.json();
}

const user = { email: '', password: 'correct horse battery', token: '' };

test.describe.serial('subscription lifecycle', () => {
  test('the plan page previews the upgrade, upgrades on the saved card and schedules a downgrade', async ({ page, request }, testInfo) => {
    user.email = `lifecycle-${Date.now()}@example.com`;
    tariff('user', 'create', '--email', user.email, '--password', user.password, '--name', 'Grace Hopper');
    user.token = lastLine(tariff('token', 'create', '--email', user.email, '--name', 'e2e', '--scope', 'user'));

    // Buy Starter through checkout: the card is saved for later charges.
    await logIn(page, user.email, user.password, '/billing/plans');
    await waitForEnhancer(page);
    await page.locator('article[data-plan-id="starter"]').getByRole('button', { name: 'Choose Starter' }).click();
    await payInSandbox(page, testInfo);

    // Pro's card says what upgrading costs now: (990 − 490) ₽ for the rest of a period that has
    // only just begun, a few kopecks under 500 ₽ at most.
    await page.goto('/billing/plans?lang=en');
    await waitForEnhancer(page);
    const pro = page.locator('article[data-plan-id="pro"]');
    const preview = pro.getByTestId('change-preview');
    await expect(preview).toHaveAttribute('data-kind', 'upgrade');
    await expect(preview).toHaveText(/^Upgrade now: pay (499\.\d\d|500)\s₽ for the rest of this period$/);
    const dueMinor = Number(await preview.getAttribute('data-amount-minor'));
    expect(dueMinor).toBeGreaterThan(49_900);
    expect(dueMinor).toBeLessThanOrEqual(50_000);
    const starterCard = page.locator('article[data-plan-id="starter"]');
    await expect(starterCard.locator('[data-current="true"]')).toBeVisible();
    await screenshot(page, testInfo, 'lifecycle-02-upgrade-preview');

    // Upgrade: charged on the saved card, no payment page; Pro is current at once. Both forms
    // are sent by the bundle: the page never reloads.
    await markDocument(page);
    await pro.getByRole('button', { name: 'Upgrade to Pro' }).click();
    await expect(pro.locator('[data-current="true"]')).toBeVisible();
    expect((await subscription(request, user.token)).plan_id).toBe('pro');

    // Starter's card now previews the downgrade at the period's end; scheduling it keeps Pro.
    await expect(starterCard.getByTestId('change-preview')).toHaveText(/^Switches to Starter on \d{1,2} \w{3} \d{4}$/);
    await starterCard.getByRole('button', { name: 'Switch to Starter at period end' }).click();
    await expect(starterCard.getByTestId('scheduled-change')).toHaveText(/^Switches to Starter on \d{1,2} \w{3} \d{4}$/);
    await expect(starterCard.getByRole('button', { name: 'Keep my current plan' })).toBeVisible();
    await expect(pro.locator('[data-current="true"]')).toBeVisible();
    await expectSameDocument(page);
    await screenshot(page, testInfo, 'lifecycle-03-downgrade-scheduled');
    const live = await subscription(request, user.token);
    expect(live.plan_id).toBe('pro');
    expect(live.pending_plan_id).toBe('starter');

    // The overview says the same.
    await page.goto('/billing?lang=en');
    await waitForEnhancer(page);
    await expect(page.getByTestId('scheduled-change')).toHaveText(/^Switches to Starter on /);
    await screenshot(page, testInfo, 'lifecycle-04-overview');

    // In Russian, with the plans' Russian names.
    await page.goto('/billing/plans?lang=ru');
    await waitForEnhancer(page);
    await expect(starterCard.getByTestId('scheduled-change')).toHaveText(/^Переход на «Стартовый» \d{1,2} \S+ \d{4} г\.$/);
  });

  test('the admin sees the expansion and moves the test clock a month; the downgrade applies', async ({ page, request }, testInfo) => {
    expect(user.token, 'the previous test made the user').not.toBe('');
    await logIn(page, ADMIN_EMAIL, ADMIN_PASSWORD, '/admin');
    // The dashboard in English, loaded afresh (logging in swapped it in; either way the bundle
    // sends the clock form below).
    await page.goto('/admin?lang=en');
    await waitForEnhancer(page);
    const chart = page.locator('[data-chart="mrr-movements"][data-currency="RUB"]');
    await expect(chart.locator('rect[data-movement="expansion"]').first()).toBeAttached();
    const panel = page.locator('[data-card="test-clock"]');
    await expect(panel).toBeVisible();
    const before = Number(await panel.getByTestId('clock-now').getAttribute('data-now'));
    await screenshot(page, testInfo, 'lifecycle-05-admin-before');

    // A month and a day (the longest month has 31 days), typed into the panel's form.
    await panel.locator('#clock-days').fill('32');
    await panel.getByRole('button', { name: 'Move forward' }).click();
    await expect(panel.getByTestId('clock-offset')).toHaveText('32 days ahead of the real clock', { timeout: 30_000 });
    const after = Number(await panel.getByTestId('clock-now').getAttribute('data-now'));
    expect(after - before).toBeGreaterThanOrEqual(32 * DAY);
    expect(after - before).toBeLessThan(33 * DAY);
    await screenshot(page, testInfo, 'lifecycle-06-admin-after');

    // A month on, the period ended: the scheduled downgrade applied and Starter renewed.
    const live = await subscription(request, user.token);
    expect({ plan: live.plan_id, pending: live.pending_plan_id, status: live.status }).toEqual({
      plan: 'starter',
      pending: null,
      status: 'active',
    });
    expect(live.current_period_start).toBeGreaterThan(before);
  });
});
