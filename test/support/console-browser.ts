import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Browser, chromium, Page } from 'playwright-core';
import { ROOT } from './processes';

/** Debian's Chromium (scripts/browser-deps.sh installs it: browsers cannot be downloaded here). */
export const CHROMIUM = '/usr/bin/chromium';
/** Where the console's tests write the README's screenshots. */
export const SCREENSHOTS = join(ROOT, 'docs/screenshots');
/** A loaded two-core machine: a page waits this long for what the API and the browser do. */
export const PAGE_WAIT_MS = 60_000;

/**
 * Runs in the page (a string: this program has no DOM types): the canvas under `selector` holds
 * more than `min` coloured pixels, i.e. ECharts drew on it, not only an empty frame.
 */
export const canvasDrawn = (selector: string, min = 1000): string => `(() => {
  const canvas = document.querySelector(${JSON.stringify(`${selector} canvas`)});
  const ctx = canvas && canvas.width > 0 ? canvas.getContext('2d') : null;
  if (!ctx) return false;
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  let coloured = 0;
  for (let i = 0; i < data.length; i += 4) if (data[i + 3] > 0 && (data[i] < 200 || data[i + 1] < 200)) coloured++;
  return coloured > ${min};
})()`;

/** The console as `npm run build` makes it, into `outDir` (the API looks for it once, at start: build first). */
export async function buildConsole(outDir: string): Promise<void> {
  await promisify(execFile)(process.execPath, [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'apps/console/vite.config.ts'], {
    cwd: ROOT,
    env: { ...process.env, CONSOLE_OUT_DIR: outDir },
  });
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) execFileSync('bash', [join(ROOT, 'scripts/browser-deps.sh')], { stdio: 'inherit' });
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], headless: true });
}

/** A fresh tab (its own sessionStorage) signed in with `token` on the sign-in page at `path`. */
export async function signInTab(browser: Browser, apiUrl: string, token: string, path = '/console/'): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  page.setDefaultTimeout(PAGE_WAIT_MS);
  await page.goto(`${apiUrl}${path}`);
  await page.getByTestId('token').fill(token);
  await page.getByTestId('sign-in').click();
  return page;
}
