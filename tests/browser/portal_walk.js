// The shop's portal on a phone (hub_portal), in headless Chromium with a
// phone-sized viewport, against the running demo: the login (a wrong
// password first), «Главная», «Сканировать» with a photo of a QR code
// from another site (refused in Russian) and of one of the portal (opened),
// «Выдача» (the pickups of the shop), the photo of a pickup slip's QR code
// opening the shipment, «Доставлено» and «Выдан», then the logout.  One
// screenshot per step (portal-*.png).
// usage: node portal_walk.js <portal url> <screenshot folder>
//            <QR png of a portal page> <its path> <QR png of another site>
//            <QR png of a pickup slip> <its shipment's path>
const { chromium } = require(
  require.resolve('playwright-core', { paths: [process.cwd()] }));
const fs = require('fs');
const path = require('path');

const [portal, shots, portalQr, portalTarget, foreignQr, slipQr,
  shipmentTarget] = process.argv.slice(2);
const LOGIN = 'shop.tverskaya';
const PASSWORD = 'demo-2026';
let step = 0;

function expect(condition, message) {
  if (!condition) throw new Error(message);
}

async function shot(page, name) {
  step += 1;
  const file = `portal-${String(step).padStart(2, '0')}-${name}.png`;
  await page.screenshot({ path: path.join(shots, file), fullPage: true });
  // one column: nothing wider than the phone
  const wide = await page.evaluate(
    () => document.documentElement.scrollWidth > window.innerWidth);
  expect(!wide, `${name}: the page is wider than the phone`);
  console.log(file);
}

async function heading(page) {
  return (await page.textContent('h1')).trim();
}

(async () => {
  fs.mkdirSync(shots, { recursive: true });
  for (const old of fs.readdirSync(shots)) {
    if (old.startsWith('portal-')) fs.unlinkSync(path.join(shots, old));
  }
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run',
      '--disable-background-networking', '--disable-component-update',
      '--disable-sync'],
  });
  const context = await browser.newContext({ locale: 'ru-RU',
    viewport: { width: 390, height: 844 }, deviceScaleFactor: 2,
    isMobile: true, hasTouch: true });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  try {
    // 1. a page of the portal asks for the login first
    await page.goto(portal);
    expect(await heading(page) === 'Вход', 'no login page');
    await page.fill('input[name=login]', LOGIN);
    await page.fill('input[name=password]', 'wrong');
    await page.click('button[type=submit]');
    await page.waitForSelector('.flash.error');
    expect((await page.textContent('.flash.error')).includes(
      'Неверное имя пользователя или пароль'), 'no Russian login error');
    await shot(page, 'login-refused');

    // 2. the same login as in the desktop client
    await page.fill('input[name=password]', PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForSelector('nav.menu');
    expect(await heading(page) === 'Главная', 'not on «Главная»');
    expect((await page.textContent('.bar .who')).includes('Ковалёв'),
      'the user is not named');
    await shot(page, 'home');

    // 3. «Сканировать»: a photo of somebody else's QR code is refused
    await page.click('nav.menu >> text=Сканировать');
    await page.waitForSelector('#photo', { state: 'attached' });
    expect(await heading(page) === 'Сканировать', 'not on «Сканировать»');
    await shot(page, 'scan');
    await page.setInputFiles('#photo', foreignQr);
    await page.waitForSelector('.flash.error >> text=не ведёт на страницу',
      { timeout: 20000 });
    await shot(page, 'scan-foreign');

    // 4. a photo of the portal's QR code opens its page
    await page.setInputFiles('#photo', portalQr);
    await page.waitForURL((u) => u.pathname + u.search === portalTarget,
      { timeout: 20000 });
    await shot(page, 'scan-opened');

    // 5. «Выдача»: the pickups coming to and waiting in the shop
    await page.click('.bar a.home');
    await page.click('nav.menu >> text=Выдача');
    await page.waitForSelector('ul.pickups-waiting');
    expect(await heading(page) === 'Выдача', 'not on «Выдача»');
    expect(await page.locator(`a[href="${shipmentTarget}"]`).count() === 1,
      'the pickup is not listed in «Выдача»');
    await shot(page, 'pickups');

    // 6. the photo of the pickup slip's QR code opens the shipment
    await page.click('text=Сканировать бланк выдачи');
    await page.waitForSelector('#photo', { state: 'attached' });
    await page.setInputFiles('#photo', slipQr);
    await page.waitForURL((u) => u.pathname === shipmentTarget,
      { timeout: 20000 });
    expect((await heading(page)).startsWith('Отправление'),
      'not on the shipment page');
    await shot(page, 'shipment');

    // 7. «Доставлено» (the customer is told), then «Выдан»
    await page.click('form.action button >> text=Доставлено');
    await page.waitForSelector('.flash.info >> text=покупателю отправлено');
    expect((await page.textContent('.shipment-state')).includes('Доставлено'),
      'the shipment is not «Доставлено»');
    await shot(page, 'delivered');
    await page.click('form.action button >> text=Выдан');
    await page.waitForSelector('.flash.info >> text=выдано покупателю');
    expect((await page.textContent('.shipment-state')).includes('Выдан'),
      'the shipment is not «Выдан»');
    await shot(page, 'handed-over');

    // 8. logout
    await page.click('.bar button.link');
    await page.waitForSelector('.flash.info >> text=Вы вышли');
    await shot(page, 'logout');
    expect(!errors.length, `errors in the page: ${errors.join('; ')}`);
    console.log('portal walk: OK');
  } catch (error) {
    await page.screenshot({ path: path.join(shots, 'portal-failed.png'),
      fullPage: true });
    console.error(`portal walk failed at ${page.url()}: ${error.message}`);
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
})();
