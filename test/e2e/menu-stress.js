// Lost clicks in the Cluster view, counted: many context-menu clicks on live endpoint rows
// of the kv cluster (its clients keep changing the endpoints' states).
// Usage: E2E_SCRIPT=test/e2e/menu-stress.js bash test/e2e/run-e2e.sh
//   Env: PROBES (default 40), MENU_WAIT_MS (pause between pointing at the item and clicking;
//   default 0, i.e. as fast as the driver can, which VS Code's menus ignore within 100 ms).
// The probe is "Migrate Endpoint…", harmless: with its tree item the command opens a quick
// pick (Escape closes it). A lost click is classified: the command ran without its tree item
// (it says "choose an endpoint"), or the menu ignored the click (it is still open).
const path = require('path');
const { chromium } = require('playwright-core');
const palette = require('./palette');
const [baseUrl, folder, shots] = process.argv.slice(2);
const N = Number(process.env.PROBES || 40);
const WAIT = Number(process.env.MENU_WAIT_MS || 0);
const t0 = Date.now();
const log = (...a) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)}s]`, ...a);
let page;

const runCommand = (title) => palette.runCommand(page, title, { log });
const sidebarRow = (text) => page.locator('.sidebar .monaco-list-row', { hasText: text }).first();

(async () => {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  page = await (await browser.newContext({ viewport: { width: 1500, height: 950 } })).newPage();
  page.setDefaultTimeout(30000);
  await page.goto(`${baseUrl}/?folder=${encodeURIComponent(folder)}`);
  await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'README.md' }).waitFor({ timeout: 60000 });
  await page.locator('.activitybar [aria-label^="DVS"]').first().click();
  await runCommand('DVS: Start Cluster');
  await sidebarRow('kv_server').waitFor({ timeout: 90000 });
  await sidebarRow('client_a').waitFor();
  await page.waitForTimeout(2000);
  const rows = ['kv_server', 'kv_logger', 'client_a', 'client_b'];
  let ok = 0, menuFail = 0, lost = 0, lostNoItem = 0, lostMenu = 0;
  for (let i = 0; i < N; i++) {
    const name = rows[i % rows.length];
    await page.waitForTimeout(Math.floor(Math.random() * 1500));
    try {
      await sidebarRow(name).click({ button: 'right', timeout: 5000 });
      const item = page.locator('.context-view .action-label', { hasText: 'Migrate Endpoint' }).first();
      if (WAIT) { await item.hover({ timeout: 3000 }); await page.waitForTimeout(WAIT); }
      await item.click({ timeout: 3000 });
    } catch (e) {
      menuFail++; log(`probe ${i} ${name}: menu click failed (${e.message.split('\n')[0]})`);
      await page.keyboard.press('Escape').catch(() => {});
      continue;
    }
    const pick = page.locator('.quick-input-widget', { hasText: 'Migrate' });
    if (await pick.waitFor({ state: 'visible', timeout: 4000 }).then(() => true, () => false)) {
      ok++;
    } else {
      const noItem = await page.locator('.notifications-toasts .notification-toast', { hasText: 'choose an endpoint' }).first().isVisible().catch(() => false);
      const menuOpen = await page.locator('.context-view .monaco-menu').isVisible().catch(() => false);
      const why = noItem ? 'the command ran without its tree item' : menuOpen ? 'the menu ignored the click' : 'unknown';
      lost++; (noItem ? lostNoItem++ : menuOpen ? lostMenu++ : 0);
      log(`probe ${i} ${name}: LOST (${why})`);
      await page.locator('.notifications-toasts .notification-toast .codicon-notifications-clear').first().click({ timeout: 1000 }).catch(() => {});
      await page.screenshot({ path: path.join(shots, `lost-${i}.png`) }).catch(() => {});
    }
    await page.keyboard.press('Escape');
    await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 3000 }).catch(() => {});
  }

  await runCommand('DVS: Stop Cluster');
  await page.locator('.statusbar-item', { hasText: /DVS.*stopped/ }).first().waitFor({ timeout: 30000 }).catch(() => {});
  await page.waitForTimeout(1000);
  await browser.close();
  console.log(`menu stress (pause ${WAIT} ms): ${N} probes, ${ok} reached their command with the item, ${lost} lost` +
    ` (${lostNoItem} without the tree item, ${lostMenu} ignored by the menu), ${menuFail} menus that did not open`);
  process.exit(lost + menuFail > 0 ? 1 : 0);
})().catch((e) => { console.error(e); process.exit(2); });
