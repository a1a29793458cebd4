// Swagger UI check in headless Chromium: the page loads with no network
// beyond the server itself, Authorize takes a bearer token, and "Try it out"
// on GET /api/v1/me answers 200. Needs Debian's chromium and playwright-core
// (npm i playwright-core). Usage: node scripts/swagger-ui-check.mjs BASE TOKEN [SCREENSHOT]
import { chromium } from 'playwright-core';

const [base, token, shot] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = await browser.newPage();
const external = [];
// Refuse every request that is not to the server under test.
await page.route('**/*', (route) => {
  const url = route.request().url();
  if (url.startsWith(base)) return route.continue();
  external.push(url);
  return route.abort();
});
await page.goto(`${base}/swagger-ui/`);
await page.waitForSelector('.swagger-ui .information-container', { timeout: 20000 });
await page.click('button.authorize');
await page.fill('.auth-container input[type=text]', token);
await page.click('.auth-btn-wrapper button.authorize');
await page.click('button.btn-done');
const op = page.locator('#operations-me-get_me');
await op.locator('.opblock-summary').click();
await op.locator('button.try-out__btn').click();
await op.locator('button.execute').click();
await op.locator('.live-responses-table tr.response .response-col_status').first().waitFor({ timeout: 10000 });
const status = (await op.locator('.live-responses-table tr.response .response-col_status').first().innerText()).trim();
if (shot) await page.screenshot({ path: shot, fullPage: false });
await browser.close();
console.log(JSON.stringify({ me_status: status, external_requests: external }));
if (status !== '200' || external.length > 0) process.exit(1);
