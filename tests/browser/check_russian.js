// A manager logs in to sao, opens the orders and one order, and every
// label, column, tab, button and menu entry on those screens is Russian.
// usage: node check_russian.js <url> <database> <screenshot folder>
// resolved from web/node_modules (the script runs with web/ as cwd)
const { chromium } = require(
  require.resolve('playwright-core', { paths: [process.cwd()] }));
const fs = require('fs');
const path = require('path');

const [url, database, shots] = process.argv.slice(2);
const LOGIN = 'manager';
const PASSWORD = 'demo-2026';
// Latin words allowed in labels: brand and format names users know as such
const ALLOWED = new Set(['Email', 'E-mail', 'Tryton', 'SBP', 'ID', 'URL',
  'QR', 'PDF', 'CSV', 'OK', 'RUB']);

function englishWords(text) {
  return (text.match(/[A-Za-z][A-Za-z-]{2,}/g) || [])
    .filter((word) => !ALLOWED.has(word));
}

async function visibleLabels(page) {
  return page.evaluate(() => {
    const selectors = ['label', 'th', '.nav-tabs a', 'button', 'legend',
      '.form-separator', '#menu a', '#menu td', '.tab-title',
      '.navbar a', '.dropdown-menu a', '.filter-box a'];
    const seen = new Set();
    const out = [];
    for (const el of document.querySelectorAll(selectors.join(','))) {
      const box = el.getBoundingClientRect();
      const style = window.getComputedStyle(el);
      if (!box.width || !box.height || style.visibility === 'hidden') {
        continue;
      }
      for (const text of [el.innerText, el.getAttribute('title'),
        el.getAttribute('aria-label')]) {
        const t = (text || '').trim();
        if (t && !seen.has(t)) { seen.add(t); out.push(t); }
      }
    }
    return out;
  });
}

async function check(page, screen, problems) {
  await page.waitForTimeout(800);
  fs.mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: path.join(shots, `${screen}.png`) });
  const labels = await visibleLabels(page);
  for (const label of labels) {
    const words = englishWords(label);
    if (words.length) problems.push(`${screen}: «${label}» (${words})`);
  }
  console.log(`${screen}: ${labels.length} labels checked`);
  return labels;
}

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic',
      '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage({ locale: 'ru-RU',
    timezoneId: 'Europe/Moscow',
    viewport: { width: 1400, height: 900 } });
  const problems = [];
  try {
    await page.goto(`${url}#${database}`);
    await page.waitForSelector('#login', { timeout: 30000 });
    await check(page, '1-login', problems);
    await page.fill('#login', LOGIN);
    await page.click('.login-dialog button[type=submit]');
    await page.waitForSelector('input[type=password]', { timeout: 30000 });
    await page.fill('input[type=password]', PASSWORD);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#menu', { timeout: 60000 });
    await page.waitForTimeout(1500);
    await check(page, '2-home', problems);
    await page.click('#menu >> text=Хаб заказов');
    await page.waitForTimeout(800);
    await check(page, '2-menu', problems);
    await page.dblclick('#menu >> text=/^Заказы$/');
    await page.waitForSelector('#tabcontent .treeview tbody tr',
      { timeout: 60000 });
    await check(page, '3-orders', problems);
    // a tab filtered on one status hides the status column: open «Все»
    await page.click('#tabcontent .nav-tabs a >> text=Все');
    await page.waitForTimeout(1000);
    const list = await check(page, '3-orders-all', problems);
    for (const expected of ['Номер', 'Статус', 'Итого к оплате']) {
      if (!list.some((t) => t.includes(expected))) {
        problems.push(`orders list: no «${expected}» column`);
      }
    }

    await page.dblclick('#tabcontent .treeview tbody tr >> nth=0');
    await page.waitForSelector('#tabcontent .form', { timeout: 60000 });
    const form = await check(page, '4-order', problems);
    for (const expected of ['ФИО', 'Служба доставки', 'Промокод',
      'Журнал действий', 'Строки']) {
      if (!form.some((t) => t.includes(expected))) {
        problems.push(`order form: no «${expected}»`);
      }
    }
    const logTab = page.locator('.nav-tabs a', { hasText: 'Журнал действий' });
    if (await logTab.count()) {
      await logTab.first().click();
      await check(page, '5-order-log', problems);
    }

    // transfer requests: the list the shops work from
    await page.dblclick('#menu >> text=/^Заявки на перемещение$/');
    // the order form's tab also has such a list, hidden: the new tab is last
    await page.locator('#tabcontent th:has-text("Откуда")').last()
      .waitFor({ timeout: 60000 });
    await page.waitForTimeout(1000);
    const transfers = await check(page, '6-transfers', problems);
    for (const expected of ['Откуда', 'Куда']) {
      if (!transfers.some((t) => t.includes(expected))) {
        problems.push(`transfer requests: no «${expected}» column`);
      }
    }
  } catch (error) {
    problems.push(`error: ${error.message}`);
    await page.screenshot({ path: path.join(shots, 'error.png') })
      .catch(() => {});
  } finally {
    await browser.close();
  }
  if (problems.length) {
    console.log('Untranslated or missing:\n  ' + problems.join('\n  '));
    process.exit(1);
  }
  console.log('All screens in Russian.');
})();
