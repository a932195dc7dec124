/**
 * What the benches that load the service share (service.ts: the pool and /metrics in this process;
 * hostile.ts: a `vmexit-lab serve` process under hostile clients; realtime.ts: a live fleet): the
 * 10,000-guest fleet the /metrics target (<= 50 ms) is stated for, and a sleep (the summary of a
 * series of timings is bench/stats.ts's medianP95Max).
 */

export const sleep = (ms: number): Promise<void> => new Promise((ok) => setTimeout(ok, ms));

/**
 * The fleet of the /metrics target as scenario text: 10,000 idle FreeBSD guests (2 variants x 1,250
 * hosts x 4 guests), `durationS` simulated seconds long (longer than any bench lets it run).
 */
export const tenThousandGuests = (durationS: number): string => `name: bench-10k-guests
seed: 1
host: { cpu: i7-6700K, cores: 8, count: 1250 }
guests:
  - os: freebsd-12.1
    count: 4
    vcpus: 1
    phases: [{ phase: idle }]
duration: ${durationS}s
matrix:
  policy: [bhyve-12.1, bhyve-tpr-v3]
`;
