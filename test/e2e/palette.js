// palette.js - running a command from VS Code's command palette, shared by the e2e scripts.
'use strict';

// runCommand opens the palette and runs the command titled `title`, retrying while it is not
// listed: right after load the remote extension host may not have registered the contributed
// commands yet. log (optional) hears each retry.
async function runCommand(page, title, { tries = 6, log = () => {} } = {}) {
  const input = page.locator('.quick-input-widget input.input');
  for (let i = 1; i <= tries; i++) {
    await page.keyboard.press('F1');
    await input.waitFor({ state: 'visible' });
    await input.fill('>' + title);
    const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
    try { await row.waitFor({ timeout: 5000 }); await row.click(); return; }
    catch { log(`  palette: "${title}" not listed yet (try ${i})`); await page.keyboard.press('Escape'); }
  }
  throw new Error('command not found in palette: ' + title);
}

// openFile opens the workspace file `name` through quick open (the palette without '>')
// and waits for its editor tab.
async function openFile(page, name) {
  const input = page.locator('.quick-input-widget input.input');
  await page.keyboard.press('F1');
  await input.waitFor({ state: 'visible' });
  await input.fill(name);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first().waitFor();
  await page.keyboard.press('Enter');
  await page.locator('.tabs-container .tab', { hasText: name }).first().waitFor();
}

module.exports = { runCommand, openFile };
