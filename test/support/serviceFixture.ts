import { after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServiceHandle } from '../../src/service/server.js';

/**
 * The services a test file starts and their data directories: each `dataDir()` is a fresh
 * temporary directory; after the file's tests, every service pushed to `services` is closed and
 * every directory removed.
 */
export function serviceFixture(prefix: string): { dataDir: () => string; services: ServiceHandle[] } {
  const dirs: string[] = [];
  const services: ServiceHandle[] = [];
  after(async () => {
    await Promise.all(services.map((s) => s.close()));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  return {
    dataDir: () => {
      const d = mkdtempSync(join(tmpdir(), prefix));
      dirs.push(d);
      return d;
    },
    services,
  };
}
