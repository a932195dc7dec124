import type { ScenarioProgress } from '../run/runScenario.js';
import type { CliIo } from './io.js';

/**
 * Progress for long runs: a redrawn bar per variant on a terminal, plain lines (at most one every
 * few seconds) when not interactive or under CI=true, so CI logs stay readable.
 */
export class ProgressReporter {
  private readonly started = performance.now();
  private lastLine = 0;
  private lastKey = '';

  constructor(
    private readonly io: CliIo,
    private readonly label: string,
    private readonly intervalMs = 5000,
  ) {}

  update(p: ScenarioProgress): void {
    const now = performance.now();
    const elapsed = (now - this.started) / 1000;
    // Hosts run in lockstep: simulated time is the progress; with until-complete, hosts that finish
    // early count as done (the limit is only a cap, so this under-estimates until the end).
    const variantFraction = Math.max(
      p.hostsTotal === 0 ? 1 : p.hostsDone / p.hostsTotal,
      Math.min(1, p.simNs / p.limitNs),
    );
    const fraction = Math.min(1, (p.variantIndex + variantFraction) / p.variants);
    const eta = fraction > 0 ? (elapsed / fraction) * (1 - fraction) : NaN;
    const text =
      `${this.label} [${p.variantIndex + 1}/${p.variants}] ${p.variant}: sim ${(p.simNs / 1e9).toFixed(0)}s` +
      `${p.hostsTotal > 1 ? `, ${p.hostsDone}/${p.hostsTotal} hosts done` : ''}, elapsed ${elapsed.toFixed(1)}s` +
      `${Number.isFinite(eta) ? `, ETA ${eta.toFixed(0)}s` : ''}`;
    if (this.io.interactive) {
      const width = 24;
      const filled = Math.round(fraction * width);
      process.stderr.write(
        `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${text}\x1b[K`,
      );
      return;
    }
    const key = `${p.variantIndex}`;
    if (key !== this.lastKey || now - this.lastLine >= this.intervalMs) {
      this.io.err(`${(fraction * 100).toFixed(0).padStart(3)}% ${text}`);
      this.lastLine = now;
      this.lastKey = key;
    }
  }

  done(): void {
    if (this.io.interactive) process.stderr.write('\r\x1b[K');
  }
}
