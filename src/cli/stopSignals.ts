import { STOP_TEXT } from '../pool/stopWords.js';
import { ExitStatus, type CliIo } from './io.js';

/**
 * The signals that stop a command's simulation with what it did kept (`run`'s partial results,
 * `what-if`'s configurations that ran): Ctrl-C, and SIGTERM, which a CI runner sends a job it
 * cancels or times out (as `timeout` and Kubernetes do): it ended the process with nothing written
 * and nothing said. `text` opens a partial run's partialReason; the exit status is 128 + the
 * signal's number, as a shell reports a process the signal ended.
 */
export const STOP_SIGNALS = {
  SIGINT: { text: STOP_TEXT.interrupted, status: ExitStatus.INTERRUPTED },
  SIGTERM: { text: 'terminated (SIGTERM)', status: ExitStatus.TERMINATED },
} as const;
export type StopSignal = keyof typeof STOP_SIGNALS;
export const STOP_SIGNAL_NAMES = Object.keys(STOP_SIGNALS) as StopSignal[];

/** What the first signal says it does: it stopped a running simulation, or only what was still to start. */
export interface StopWords {
  /** After "interrupted: " when `stop` stopped a running simulation. */
  readonly stopping: string;
  /** After "interrupted: " when nothing was running. */
  readonly between: string;
}

/**
 * Ctrl-C or SIGTERM while `command` simulates: the first calls `stop` (true when it stopped a running
 * simulation) and says so; a second ends the process at once, saying which asked-for files it leaves
 * unwritten (`unwritten`): a junit.xml of an earlier run left in place would read as this one's.
 * Node runs these handlers on the main thread only, between the pool's messages: a simulation on
 * the main thread would not see them. Returns the listener, for removeStopHandler.
 */
export function installStopHandler(
  io: CliIo,
  command: string,
  stop: (sig: StopSignal) => boolean,
  unwritten: () => string[],
  words: StopWords,
): (sig: StopSignal) => void {
  let seen = 0;
  const onSignal = (sig: StopSignal): void => {
    const who = sig === 'SIGINT' ? 'interrupted' : sig;
    if (++seen > 1) {
      const lost = unwritten();
      io.err(
        `vmexit-lab ${command}: ${who} again: quitting at once${lost.length > 0 ? `; not written: ${lost.join(', ')}` : ''}`,
      );
      process.exit(STOP_SIGNALS[sig].status);
    }
    const again = sig === 'SIGINT' ? 'Ctrl-C again to quit at once' : 'a second signal quits at once';
    io.err(`vmexit-lab ${command}: ${who}: ${stop(sig) ? words.stopping : words.between} (${again})`);
  };
  for (const sig of STOP_SIGNAL_NAMES) process.on(sig, onSignal);
  return onSignal;
}

export function removeStopHandler(listener: (sig: StopSignal) => void): void {
  for (const sig of STOP_SIGNAL_NAMES) process.off(sig, listener);
}
