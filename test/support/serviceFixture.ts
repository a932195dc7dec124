import { after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startService, type ServiceHandle, type ServiceOptions } from '../../src/service/server.js';

/**
 * The services a test file starts and their data directories: each `dataDir()` is a fresh
 * temporary directory; after the file's tests, every service pushed to `services` is closed and
 * every directory removed. `sharedOptions` are added to the shared service's (e.g. its limits).
 */
export function serviceFixture(
  prefix: string,
  sharedOptions: ServiceOptions = {},
): {
  dataDir: () => string;
  services: ServiceHandle[];
  /** One service for the file's tests (1 worker, a fresh data directory), started at the first call. */
  shared: () => Promise<ServiceHandle>;
} {
  const dirs: string[] = [];
  const services: ServiceHandle[] = [];
  let one: Promise<ServiceHandle> | undefined;
  after(async () => {
    await Promise.all(services.map((s) => s.close()));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const dataDir = (): string => {
    const d = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(d);
    return d;
  };
  const shared = (): Promise<ServiceHandle> =>
    (one ??= startService({ port: 0, dataDir: dataDir(), workers: 1, stopGraceMs: 2_000, ...sharedOptions }).then(
      (s) => {
        services.push(s);
        return s;
      },
    ));
  return { dataDir, services, shared };
}
