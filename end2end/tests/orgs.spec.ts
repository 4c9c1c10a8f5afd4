import { test, expect, type Browser, type Page } from '@playwright/test';
import { waitForEnhancer, screenshot } from './helpers';

// Organisations in the portal (issue 13): an owner creates an organisation and invites a
// colleague by email; the colleague signs up with that address, sees the invitation on /billing
// and accepts; both bill their usage to the organisation (the owner from its page, the member
// with the top bar's switcher); usage by both shows in the organisation's usage-by-member chart;
// a member sees no management forms; a stranger gets the not-found panel.

async function signUp(browser: Browser, email: string): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto('/signup?lang=en');
  await waitForEnhancer(page);
  await page.locator('#signup-email').fill(email);
  await page.locator('#signup-password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(/\/billing$/);
  return page;
}

async function token(page: Page, name: string): Promise<string> {
  await page.goto('/settings/tokens');
  await waitForEnhancer(page);
  await page.locator('#token-name').fill(name);
  await page.getByRole('button', { name: 'Create token' }).click();
  return page.locator('[data-testid="new-token"] .token-secret').inputValue();
}

async function track(page: Page, secret: string, amount: number): Promise<void> {
  const response = await page.request.post('/api/v1/billing/usage', {
    headers: { Authorization: `Bearer ${secret}` },
    data: { metric: 'requests', amount },
  });
  expect(response.status(), await response.text()).toBe(201);
}

test('a team shares an organisation and sees usage by member', async ({ browser }, testInfo) => {
  const stamp = Date.now();
  const owner = await signUp(browser, `org-owner-${stamp}@example.com`);
  await waitForEnhancer(owner);
  await owner.locator('#org-name').fill('Acme AI');
  await owner.getByRole('button', { name: 'Create organisation' }).click();
  await expect(owner).toHaveURL(/\/org\/[0-9a-f-]+$/);
  const orgPath = new URL(owner.url()).pathname;
  await expect(owner.getByTestId('org-name')).toHaveText('Acme AI');
  await expect(owner.getByTestId('org-plan')).toHaveText('Free');
  await waitForEnhancer(owner);
  const memberEmail = `org-member-${stamp}@example.com`;
  await owner.locator('#invite-email').fill(memberEmail);
  await owner.getByRole('button', { name: 'Send invitation' }).click();
  await expect(owner.locator('[data-list="pending-invitations"] li')).toHaveCount(1);
  await expect(owner.locator('[data-list="pending-invitations"]')).toContainText(memberEmail);

  const member = await signUp(browser, memberEmail);
  await expect(member.locator('[data-card="invitations"]')).toContainText('Acme AI invites you as member');
  await screenshot(member, testInfo, 'orgs-01-invitation');
  await waitForEnhancer(member);
  await member.getByRole('button', { name: 'Accept' }).click();
  await expect(member.locator('[data-list="organizations"]')).toContainText('Acme AI');
  await expect(member.locator('[data-card="invitations"]')).toHaveCount(0);

  // The member bills to the organisation with the top bar's switcher.
  await member.reload();
  await waitForEnhancer(member);
  await member.getByTestId('account-switch').selectOption({ label: 'Acme AI' });
  await member.locator('[data-form="switch-account"] button').click();
  // The page the server answers with selects the organisation itself (the `selected` attribute;
  // the chosen value alone is there before the request is answered).
  const orgId = orgPath.split('/').pop()!;
  await expect(member.locator('#account-switch option[selected]')).toHaveAttribute('value', orgId);
  await expect(member.getByTestId('account-switch')).toHaveValue(orgId);
  // The owner bills to it from its page.
  await owner.goto(orgPath);
  await waitForEnhancer(owner);
  await owner.getByRole('button', { name: 'Bill my usage to this organisation' }).click();
  await expect(owner.getByTestId('billing-here')).toBeVisible();

  await track(owner, await token(owner, 'owner'), 60);
  await track(member, await token(member, 'member'), 40);

  await owner.goto(orgPath);
  await waitForEnhancer(owner);
  await expect(owner.locator('[data-card="usage-by-member"] rect.chart-bar')).toHaveCount(2);
  await expect(owner.locator('[data-table="usage-by-member"] tbody tr')).toHaveCount(2);
  await expect(owner.locator('[data-table="usage-by-member"]')).toContainText('Requests: 60');
  await expect(owner.locator('[data-table="usage-by-member"]')).toContainText('Requests: 40');
  await expect(owner.locator('[data-table="members"] tbody tr')).toHaveCount(2);
  await screenshot(owner, testInfo, 'orgs-02-owner-page');

  // A member sees the shared plan and balance but no management forms.
  await member.goto(orgPath);
  await waitForEnhancer(member);
  await expect(member.getByTestId('billing-here')).toBeVisible();
  await expect(member.locator('[data-card="usage-by-member"]')).toHaveCount(0);
  await expect(member.locator('[data-form="invite"]')).toHaveCount(0);
  await expect(member.locator('[data-form="role"]')).toHaveCount(0);
  await screenshot(member, testInfo, 'orgs-03-member-page');

  // A stranger learns nothing.
  const stranger = await signUp(browser, `org-stranger-${stamp}@example.com`);
  await stranger.goto(orgPath);
  await expect(stranger.locator('[data-error="not-found"]')).toHaveText('The organization was not found.');
  await expect(stranger.getByTestId('org-name')).toHaveCount(0);

  // The admin finds it by a member's email and opens its page.
  await stranger.context().clearCookies();
  await stranger.goto('/login?next=%2Fadmin%2Forgs&lang=en');
  await waitForEnhancer(stranger);
  await stranger.locator('#login-email').fill('admin@example.com');
  await stranger.locator('#login-password').fill('e2e-admin-password');
  await stranger.getByRole('button', { name: 'Log in' }).click();
  await expect(stranger).toHaveURL(/\/admin\/orgs$/);
  await stranger.goto(`/admin/orgs?search=${encodeURIComponent(memberEmail)}`);
  await expect(stranger.locator('[data-table="orgs"] tbody tr')).toHaveCount(1);
  await stranger.locator('[data-table="orgs"] a', { hasText: 'Acme AI' }).click();
  await expect(stranger.locator('h1')).toHaveText('Acme AI');
  await expect(stranger.locator('[data-card="usage-by-member"] rect.chart-bar')).toHaveCount(2);
  await screenshot(stranger, testInfo, 'orgs-05-admin-page');
});

test('an organisation is created without JavaScript', async ({ browser }, testInfo) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto('/signup?lang=ru');
  await page.locator('#signup-email').fill(`org-nojs-${Date.now()}@example.com`);
  await page.locator('#signup-password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Зарегистрироваться' }).click();
  await expect(page).toHaveURL(/\/billing$/);
  await page.locator('#org-name').fill('Без скриптов');
  await page.getByRole('button', { name: 'Создать организацию' }).click();
  // As with JavaScript, the browser goes on to the new organisation's page.
  await expect(page).toHaveURL(/\/org\/[^/?]+$/);
  await expect(page.locator('h1')).toHaveText('Без скриптов');
  await screenshot(page, testInfo, 'orgs-04-nojs-created');
  await context.close();
});
