import { test, expect, type Page, type TestInfo } from '@playwright/test';
import { waitForEnhancer, markDocument, expectSameDocument, screenshot, expectFitsScreen } from './helpers';

// The billing portal as a new user tries it (issue 5): sign up → Free with its quotas → choose
// Pro → pay in the sandbox → return page says Pro is active → usage sent through the JSON API
// with the user's own token shows on the meters → cancel at period end → a declined card's
// reason. Once in English and once in Russian.

const SUCCESS_CARD = '5555 5555 5555 4444';
const DECLINE_CARD = '5555 5555 5555 4600'; // insufficient_funds (reference §7.2)

type Lang = 'en' | 'ru';

const words = {
  en: {
    signUpTitle: 'Create an account',
    createAccount: 'Create account',
    free: 'Free',
    choosePro: 'Choose Pro',
    chooseBusiness: 'Choose Business',
    activeUntil: /Pro is active until \d{1,2} \w{3} \d{4}\./,
    received: 'Payment received',
    createToken: 'Create token',
    tokensUsed: '1,200 / 1,000,000 input tokens',
    cancelAtEnd: 'Cancel at period end',
    confirmCancel: 'Yes, cancel at period end',
    cancelsOn: /Cancels on \d{1,2} \w{3} \d{4}/,
    declined: 'The card has insufficient funds.',
    keep: 'Keep my plan',
  },
  ru: {
    signUpTitle: 'Регистрация',
    createAccount: 'Зарегистрироваться',
    free: 'Бесплатный',
    choosePro: 'Выбрать «Профессиональный»',
    chooseBusiness: 'Выбрать «Бизнес»',
    activeUntil: /^Тариф «Профессиональный» действует до \d{1,2} \S+ \d{4} г\.$/,
    received: 'Платёж получен',
    createToken: 'Создать токен',
    tokensUsed: '1 200 / 1 000 000 входящих токенов',
    cancelAtEnd: 'Отменить в конце периода',
    confirmCancel: 'Да, отменить в конце периода',
    cancelsOn: /Отменится \d{1,2} \S+ \d{4} г\./,
    declined: 'На карте недостаточно средств.',
    keep: 'Не отменять',
  },
} as const;

async function payInSandbox(page: Page, card: string, testInfo: TestInfo, name: string): Promise<void> {
  await expect(page).toHaveURL(/\/sandbox\/yookassa\/checkout\//);
  await expect(page.getByText('Test mode')).toBeVisible();
  await page.locator('#card_number').fill(card);
  await page.locator('#expiry').fill('12/30');
  await page.locator('#csc').fill('123');
  await screenshot(page, testInfo, name);
  await page.getByRole('button', { name: /Pay/ }).click();
  await expect(page).toHaveURL(/\/billing\/return\?transaction=/);
}

function journey(lang: Lang) {
  const w = words[lang];
  test(`a new user signs up, pays for Pro, watches usage and cancels (${lang})`, async ({ page, context, request, browser }, testInfo) => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('response', (r) => r.status() >= 400 && errors.push(`${r.status()} ${r.url()}`));
    await context.clearCookies();
    const email = `journey-${lang}-${Date.now()}@example.com`;

    // Sign up (the bundle sends the form to the server function and shows the page the server
    // answers with, without a reload).
    await page.goto(`/signup?lang=${lang}`);
    await waitForEnhancer(page);
    await markDocument(page);
    await expect(page.locator('h1')).toHaveText(w.signUpTitle);
    await page.locator('#signup-name').fill('Ada Lovelace');
    await page.locator('#signup-email').fill(email);
    await page.locator('#signup-password').fill('correct horse battery');
    await screenshot(page, testInfo, `${lang}-01-signup`);
    await page.getByRole('button', { name: w.createAccount }).click();

    // On Free, with its quotas.
    await expect(page).toHaveURL(/\/billing$/);
    const card = page.locator('[data-card="subscription"]');
    await expect(card.locator('.plan-title')).toHaveText(w.free);
    await expectSameDocument(page);
    await expect(card.locator('[data-status="active"]')).toBeVisible();
    await expect(page.getByTestId('plan-badge')).toHaveText(w.free);
    await expect(page.getByTestId('included-quotas')).toContainText(lang === 'en' ? '100,000 input tokens' : '100 000 входящих токенов');
    await screenshot(page, testInfo, `${lang}-02-overview-free`);
    await page.locator('.subnav a[href="/billing/usage"]').click();
    await expect(page.locator('[data-metric="tokens_input"] .meter-figures')).toContainText(lang === 'en' ? '0 / 100,000' : '0 / 100 000');
    await expect(page.locator('[data-metric="tokens_input"]')).toHaveAttribute('data-level', 'ok');
    await screenshot(page, testInfo, `${lang}-03-usage-free`);

    // A purchase with a card that is declined: the reason in words, and still on Free. (Once a
    // paid plan runs, other plans are changed to with proration instead: subscription-lifecycle.)
    await page.goto('/billing/plans');
    await waitForEnhancer(page);
    await page.getByRole('button', { name: w.chooseBusiness }).click();
    await payInSandbox(page, DECLINE_CARD, testInfo, `${lang}-04a-sandbox-decline`);
    // While pending, the return page reloads itself (a meta refresh); a final status stops that.
    await expect(page.locator('[data-payment-status="canceled"]')).toBeVisible({ timeout: 20_000 });
    await expect(page.locator('meta[http-equiv="refresh"]')).toHaveCount(0);
    await expect(page.locator('.decline-reason')).toHaveText(w.declined);
    await screenshot(page, testInfo, `${lang}-04b-return-declined`);

    // Choose Pro and pay with the success card.
    await page.goto('/billing/plans');
    await waitForEnhancer(page);
    await expect(page.locator('article[data-plan-id="free"] [data-current="true"]')).toBeVisible();
    await screenshot(page, testInfo, `${lang}-04-plans`);
    await page.getByRole('button', { name: w.choosePro }).click();
    await payInSandbox(page, SUCCESS_CARD, testInfo, `${lang}-05-sandbox-success`);
    await expect(page.locator('[data-payment-status="succeeded"]')).toBeVisible({ timeout: 20_000 });
    await expect(page.locator('meta[http-equiv="refresh"]')).toHaveCount(0);
    await expect(page.locator('h1')).toHaveText(w.received);
    await expect(page.getByTestId('active-until')).toHaveText(w.activeUntil);
    await screenshot(page, testInfo, `${lang}-06-return-success`);

    // A personal token, shown once, records usage through the JSON API.
    await page.goto('/settings/tokens');
    await waitForEnhancer(page);
    await page.locator('#token-name').fill('journey');
    await page.getByRole('button', { name: w.createToken }).click();
    const secret = await page.locator('[data-testid="new-token"] .token-secret').inputValue();
    expect(secret).toMatch(/^trf_[0-9a-f]{64}$/);
    await screenshot(page, testInfo, `${lang}-07-token`);
    const tracked = await request.post('/api/v1/billing/usage', {
      headers: { Authorization: `Bearer ${secret}` },
      data: { metric: 'tokens_input', amount: 1200, model_id: 'gpt-4o', chat_id: `chat-${lang}` },
    });
    expect(tracked.status()).toBe(201);
    await page.goto('/billing/usage');
    await waitForEnhancer(page);
    await expect(page.locator('[data-metric="tokens_input"] .meter-figures')).toHaveText(w.tokensUsed);
    await expect(page.locator('[data-metric="tokens_input"] [role="progressbar"]')).toHaveAttribute('aria-valuenow', '0');
    await expect(page.locator('[data-chart="tokens_input"] svg rect')).not.toHaveCount(0);
    await expect(page.locator('table').getByText('gpt-4o')).toBeVisible();
    await expect(page.locator('table').getByText(`chat-${lang}`)).toBeVisible();
    await screenshot(page, testInfo, `${lang}-08-usage-pro`);

    // Cancel at period end, behind a confirmation, without a reload.
    await page.goto('/billing');
    await waitForEnhancer(page);
    await markDocument(page);
    await expect(page.locator('[data-card="subscription"] .plan-title')).not.toHaveText(w.free);
    await page.getByText(w.cancelAtEnd, { exact: true }).click();
    await page.getByRole('button', { name: w.confirmCancel }).click();
    await expect(page.getByTestId('cancels-on')).toHaveText(w.cancelsOn);
    await expect(page.getByRole('button', { name: w.keep })).toBeVisible();
    await expectSameDocument(page);
    await screenshot(page, testInfo, `${lang}-09-cancels-on`);

    // Payment history shows the payment.
    await page.goto('/billing/transactions');
    await expect(page.locator('table[data-table="transactions"] tbody tr')).toHaveCount(2);
    await expect(page.locator('[data-status="succeeded"]')).toBeVisible();
    await expect(page.locator('[data-status="canceled"]')).toBeVisible();
    await screenshot(page, testInfo, `${lang}-10-payments`);

    // Switching language (a plain link: the server renders the page in the other language) is
    // stored on the user: another device follows it.
    const other = lang === 'en' ? 'ru' : 'en';
    await page.goto('/billing');
    await waitForEnhancer(page);
    await page.getByRole('link', { name: other === 'ru' ? 'Русский' : 'English' }).click();
    await expect(page).toHaveURL(new RegExp(`lang=${other}`));
    await expect(page.locator('html')).toHaveAttribute('lang', other);
    const device = await browser.newContext();
    const devicePage = await device.newPage();
    await devicePage.goto('/login');
    await waitForEnhancer(devicePage);
    await devicePage.locator('#login-email').fill(email);
    await devicePage.locator('#login-password').fill('correct horse battery');
    await devicePage.locator('form[data-form="login"] button[type="submit"]').click();
    await expect(devicePage).toHaveURL(/\/billing$/);
    await expect.poll(async () => {
      await devicePage.reload();
      return devicePage.locator('html').getAttribute('lang');
    }).toBe(other);
    await device.close();

    expect(errors, 'no errors in the browser console').toEqual([]);
  });
}

test.describe('billing portal', () => {
  journey('en');
  journey('ru');

  test('forms work without JavaScript', async ({ browser }, testInfo) => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto('/signup');
    await page.locator('#signup-email').fill(`nojs-${Date.now()}@example.com`);
    await page.locator('#signup-password').fill('short');
    // The browser's own minlength check would stop the post; remove it to see the server's answer.
    await page.locator('#signup-password').evaluate((el) => el.removeAttribute('minlength'));
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect(page.locator('[data-field="password"]')).toHaveText('Use at least 8 characters');
    await screenshot(page, testInfo, 'nojs-signup-error');

    await page.locator('#signup-email').fill(`nojs-${Date.now()}@example.com`);
    await page.locator('#signup-password').fill('correct horse battery');
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect(page).toHaveURL(/\/billing$/);
    await page.getByText('Cancel at period end').count(); // free plan: no cancel offered
    await page.goto('/settings/tokens');
    await page.locator('#token-name').fill('no-js');
    await page.getByRole('button', { name: 'Create token' }).click();
    await expect(page.locator('[data-testid="new-token"] .token-secret')).toHaveValue(/^trf_/);
    await page.reload();
    await expect(page.locator('[data-testid="new-token"]')).toHaveCount(0);
    await screenshot(page, testInfo, 'nojs-tokens');
    await context.close();
  });

  test('wrong passwords get one message next to the form', async ({ page, context }, testInfo) => {
    await context.clearCookies();
    await page.goto('/login');
    await waitForEnhancer(page);
    await markDocument(page);
    const form = page.locator('form[data-form="login"]');
    const button = form.locator('button[type="submit"]');
    await page.locator('#login-email').fill('nobody@example.com');
    await page.locator('#login-password').fill('whatever-password');

    // The bundle sends the form itself (marked as its request, asking for HTML). When the server
    // cannot be reached the form stays as it was, with a message under it.
    await page.route('**/api/ui/login', (route) => route.abort('failed'));
    await button.click();
    await expect(form.locator('[data-enhance-error]')).toHaveText('The server could not be reached. Check your connection and try again.');
    await expect(form).not.toHaveAttribute('aria-busy', 'true');
    await expect(button).toBeEnabled();
    await expect(button).toHaveText('Log in');
    await expect(page.locator('#login-email')).toHaveValue('nobody@example.com');
    await page.unroute('**/api/ui/login');

    // While the request is in flight the form is busy and its button disabled (one click, one
    // request); the server's answer then replaces the page, without a reload.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const sent: Record<string, string>[] = [];
    await page.route('**/api/ui/login', async (route) => {
      sent.push(route.request().headers());
      await held;
      await route.continue();
    });
    await button.click();
    await expect(form).toHaveAttribute('aria-busy', 'true');
    await expect(button).toHaveAttribute('data-busy', 'true');
    await expect(button).toBeDisabled();
    await expect(button).toHaveText('Logging in…');
    await expect(form.locator('[data-enhance-error]')).toHaveCount(0);
    await expect.poll(() => sent.length).toBe(1);
    expect(sent[0]['x-tariff-enhanced']).toBe('1');
    expect(sent[0]['accept']).toContain('text/html');
    // Submitting again while busy sends nothing.
    await form.evaluate((f) => (f as HTMLFormElement).requestSubmit());
    release();

    await expect(page.locator('.form-error')).toHaveText('The email or password is wrong.');
    // The refused form gets back what was typed (not the password), and the focus is on the message.
    await expect(page.locator('#login-email')).toHaveValue('nobody@example.com');
    await expect(page.locator('#login-password')).toHaveValue('');
    await expect(page.locator('.form-error')).toBeFocused();
    await expect(page.getByRole('button', { name: 'Log in' })).toBeEnabled();
    // The address is the page's, without the error parameters of the server's redirect.
    await expect(page).toHaveURL(/\/login$/);
    await expectSameDocument(page);
    expect(sent).toHaveLength(1);
    await page.unroute('**/api/ui/login');
    await screenshot(page, testInfo, 'login-error');
  });

  test('the new token\'s copy button copies it', async ({ browser }, testInfo) => {
    const context = await browser.newContext({ permissions: ['clipboard-read', 'clipboard-write'] });
    const page = await context.newPage();
    await page.goto('/signup?lang=en');
    await waitForEnhancer(page);
    await page.locator('#signup-email').fill(`copy-${Date.now()}@example.com`);
    await page.locator('#signup-password').fill('correct horse battery');
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect(page).toHaveURL(/\/billing$/);
    await page.goto('/settings/tokens');
    await waitForEnhancer(page);
    await page.locator('#token-name').fill('copied');
    await page.getByRole('button', { name: 'Create token' }).click();
    const fresh = page.getByTestId('new-token');
    const secret = await fresh.locator('.token-secret').inputValue();
    expect(secret).toMatch(/^trf_/);
    const copy = fresh.locator('[data-copy]');
    await expect(copy).toHaveText('Copy');
    await copy.click();
    await expect(copy).toHaveText('Copied');
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
    await screenshot(page, testInfo, 'token-copied');
    await context.close();
  });

  test('the portal is usable on a phone', async ({ browser }, testInfo) => {
    const context = await browser.newContext({ viewport: { width: 375, height: 740 } });
    const page = await context.newPage();
    await page.goto('/signup');
    await waitForEnhancer(page);
    await page.locator('#signup-email').fill(`phone-${Date.now()}@example.com`);
    await page.locator('#signup-password').fill('correct horse battery');
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect(page).toHaveURL(/\/billing$/);
    await expectFitsScreen(page, testInfo, ['/billing', '/billing/usage', '/billing/transactions', '/billing/plans', '/settings/tokens']);
    await context.close();
  });
});
