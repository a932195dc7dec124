import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

/**
 * Headless Chromium for the browser tests: Debian's `chromium` package driven by playwright-core
 * (no browser download). Without it a browser test is skipped with a loud notice, except under
 * CI=true, where it runs and fails (.ci/run installs the package).
 */
export const CHROMIUM = '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const present = existsSync(CHROMIUM);

/** The `skip` option of a browser test (`what` names the tests), printing the notice once per file. */
export function chromiumSkip(what: string): string | false {
  if (present || process.env.CI === 'true') return false;
  const skip = `${CHROMIUM} not found (install the Debian package chromium): ${what} skipped`;
  process.stderr.write(
    `\n${'#'.repeat(100)}\n#  SKIPPED: ${skip}.\n#  Under CI=true they run and fail without it.\n${'#'.repeat(100)}\n\n`,
  );
  return skip;
}

/** A fresh browser profile in a temporary directory; `close` also removes the directory. */
export async function launchChromium(
  options: { viewport?: { width: number; height: number }; deviceScaleFactor?: number } = {},
): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  assert.ok(present, `${CHROMIUM} is missing and CI=true: CI must install the Debian package chromium (see .ci/run)`);
  const userDataDir = mkdtempSync(join(tmpdir(), 'vmexit-lab-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    ...options,
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
