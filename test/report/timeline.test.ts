/**
 * `run --timeline` (src/report/timeline.ts, src/run/timelineRun.ts): a Chrome trace-event file of
 * one guest's vCPUs over a window of simulated time.
 *
 * Perfetto's UI needs the network and chrome://tracing is gone from current Chromium, so the file
 * is checked against a JSON Schema written from the "Trace Event Format" document
 * (test/fixtures/timeline/trace-event.schema.json, with the citation), in Node and in headless
 * Chromium: the browser loads the file itself (fetch + JSON.parse), runs the schema's compiled
 * validator and counts the slices per process, vCPU and exit reason; those counts must equal the
 * run's exits of that guest's vCPUs in that window, taken from two runs of the host cut at the
 * window's start and end.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import AjvModule from 'ajv';
import standaloneModule from 'ajv/dist/standalone/index.js';
import { chromiumSkip, launchChromium } from '../support/chromium.js';
import { parseScenario } from '../../src/scenario/load.js';
import { loadModelData, REPO_ROOT } from '../../src/model/data.js';
import { EPOCH_NS, hostGuests, hostSimulations } from '../../src/run/simulate.js';
import { hostOfGuest } from '../../src/run/replay.js';
import { recordTimeline } from '../../src/run/timelineRun.js';
import {
  buildTimeline,
  parseWindow,
  renderTrace,
  type TimelineVariant,
  type TraceFile,
} from '../../src/report/timeline.js';
import { EXIT_KINDS } from '../../src/core/vcpu/exits.js';
import type { Scenario } from '../../src/scenario/types.js';
import { main } from '../../src/cli/main.js';
import { writeTimeline } from '../../src/cli/timeline.js';
import { capture } from '../support/cli.js';
import { desktopFleet } from '../support/fleets.js';

// CommonJS modules: their default export is the module object, whose .default is the function.
const Ajv = AjvModule.default;
const standaloneCode = standaloneModule.default;
const data = loadModelData();
const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-timeline-'));
const SCHEMA = JSON.parse(
  readFileSync(join(REPO_ROOT, 'test', 'fixtures', 'timeline', 'trace-event.schema.json'), 'utf8'),
) as object;

// A Windows guest beside a Linux one on a desktop CPU without APICv: under bhyve 12.1 every %cr8
// access exits (a storm of CR_ACCESS), under the committed change none do.
const YAML = desktopFleet({
  name: 'timeline',
  seed: 11,
  cores: 2,
  hosts: 2,
  windowsBoot: '1s',
  freebsd: false,
  duration: '3s',
  policies: ['bhyve-12.1', 'bhyve-tpr-v3'],
});
const scenario = parseScenario(YAML, 'timeline.yaml');
const GUEST = 2; // host 1's Windows guest
const FROM = 1e9; // on a simulated second, where a run can be cut exactly
const TO = 1.25e9;

/** Exits per vCPU of the guest and reason after a run of its host cut at `cutNs` (stepped as `run` steps). */
function exitsAt(s: Scenario, vi: number, guest: number, cutNs: number): Map<string, number> {
  const cut: Scenario = { ...s, duration: { kind: 'fixed', ns: cutNs } };
  const variant = cut.variants[vi];
  const { host } = hostOfGuest(cut, vi, guest);
  const guests = hostGuests(variant, data, host);
  const sim = hostSimulations(cut, variant, data)(host, guests);
  for (let t = 0; t < cutNs;) {
    t = Math.min(cutNs, t + EPOCH_NS);
    sim.advanceTo(t);
  }
  let first = 0;
  for (const g of guests) {
    if (g.index === guest) break;
    first += g.vcpus;
  }
  const out = new Map<string, number>();
  const g = guests.find((x) => x.index === guest)!;
  for (let c = 0; c < g.vcpus; c++)
    for (const k of EXIT_KINDS) {
      if (k.vendor !== variant.host.cpu.vendor) continue;
      const n = sim.machine.exitCount(first + c, k.slot);
      if (n > 0) out.set(`${c} ${k.name}`, n);
    }
  return out;
}

/** The run's exits in the window [FROM, TO], per `pid vcpu reason`. */
function expectedExits(s: Scenario, guest: number): Map<string, number> {
  const want = new Map<string, number>();
  s.variants.forEach((_, vi) => {
    const a = exitsAt(s, vi, guest, FROM);
    const b = exitsAt(s, vi, guest, TO + 1);
    for (const [k, n] of b) {
      const d = n - (a.get(k) ?? 0);
      if (d > 0) want.set(`${vi + 1} ${k}`, d);
    }
  });
  return want;
}

function build(s: Scenario, guest: number, maxEvents: number): ReturnType<typeof buildTimeline> {
  const variants: TimelineVariant[] = s.variants.map((v, vi) => ({
    name: v.name,
    cpu: v.host.cpu.id,
    policy: v.hypervisor.policy,
    run: recordTimeline({ scenario: s, variantIndex: vi, data, guest, fromNs: FROM, toNs: TO, maxRecords: maxEvents }),
  }));
  return buildTimeline(variants, {
    scenario: s.name,
    seed: s.seed,
    fromNs: FROM,
    toNs: TO,
    maxEventsPerVariant: maxEvents,
  });
}

/** What a trace shows: exits carried by the exit slices per `pid vcpu reason`, and slice counts. */
function slicesOf(trace: TraceFile): { exits: Map<string, number>; slices: Map<string, number> } {
  const exits = new Map<string, number>();
  const slices = new Map<string, number>();
  for (const e of trace.traceEvents) {
    if (e.ph !== 'X' || e.cat === undefined || !e.cat.startsWith('exit')) continue;
    const k = `${e.pid} ${e.tid - 1} ${e.name}`;
    exits.set(k, (exits.get(k) ?? 0) + (e.args!.exits as number));
    slices.set(k, (slices.get(k) ?? 0) + 1);
  }
  return { exits, slices };
}

const built = build(scenario, GUEST, 100_000);
const traceFile = join(dir, 'trace.json');
writeFileSync(traceFile, renderTrace(built.trace));
const want = expectedExits(scenario, GUEST);

test("the trace is valid Trace Event Format JSON (schema from the spec) and its exits are the run's, per vCPU and reason", () => {
  const text = readFileSync(traceFile, 'utf8');
  const trace = JSON.parse(text) as TraceFile;
  const validate = new Ajv({ allErrors: true }).compile(SCHEMA);
  assert.ok(validate(trace), JSON.stringify(validate.errors?.slice(0, 5)));
  assert.equal(trace.displayTimeUnit, 'ns');
  assert.equal(built.truncated.length, 0);
  const { exits, slices } = slicesOf(trace);
  assert.deepEqual(new Map([...exits].sort()), new Map([...want].sort()), 'exits per variant, vCPU and reason');
  assert.ok(want.size > 5, `${want.size} (variant, vCPU, reason) cells`);
  // The %cr8 storm: CR_ACCESS slices under bhyve 12.1 only, some fast-forwarded in bulk.
  const cr8 = [...exits].filter(([k]) => k.endsWith(' CR_ACCESS'));
  assert.ok(cr8.length > 0 && cr8.every(([k]) => k.startsWith('1 ')), 'CR_ACCESS exits under bhyve-12.1 only');
  assert.ok(
    trace.traceEvents.some((e) => e.cat === 'exit,fast-forward'),
    'fast-forwarded %cr8 pairs',
  );
  // Slice counts: one per exit, except the fast-forwarded ones (one slice, args.exits of them).
  for (const [k, n] of slices) {
    const bulk = trace.traceEvents.some(
      (e) => e.cat === 'exit,fast-forward' && `${e.pid} ${e.tid - 1} ${e.name}` === k,
    );
    if (!bulk) assert.equal(n, exits.get(k), `${k}: one slice per exit`);
  }
  // Tracks: every vCPU's slices follow one another without overlap, from the window's start.
  const tracks = new Map<string, { ts: number; dur: number; name: string }[]>();
  for (const e of trace.traceEvents) {
    if (e.ph !== 'X') continue;
    const key = `${e.pid} ${e.tid}`;
    tracks.set(key, [...(tracks.get(key) ?? []), { ts: e.ts, dur: e.dur!, name: e.name }]);
  }
  assert.equal(tracks.size, 4, 'two variants x two vCPUs');
  for (const [key, list] of tracks) {
    list.sort((a, b) => a.ts - b.ts);
    assert.equal(list[0].ts, FROM / 1000, `${key} starts at the window`);
    for (let i = 1; i < list.length; i++)
      assert.ok(
        list[i].ts >= list[i - 1].ts + list[i - 1].dur - 1e-6,
        `${key}: ${list[i - 1].name} overlaps ${list[i].name}`,
      );
    // Guest code runs, or the vCPU sleeps through the window (an idle Windows vCPU that is not the
    // clock owner can halt for the whole quarter second: one 'halted' slice to the window's end).
    const sleeps = list.length === 1 && list[0].name === 'halted' && list[0].dur >= (TO - FROM) / 1000 - 1e-6;
    assert.ok(list.some((s) => s.name === 'running') || sleeps, `${key}: neither running nor halted throughout`);
  }
  for (const pid of ['1', '2'])
    assert.ok(
      [...tracks].some(([key, list]) => key.startsWith(`${pid} `) && list.some((s) => s.name === 'running')),
      `variant ${pid}: guest code runs in the window`,
    );
  // Interrupts: each delivery with a latency has its arrival, latency earlier.
  const delivered = trace.traceEvents.filter(
    (e) => e.name === 'interrupt delivered' && e.args?.latencyNs !== undefined,
  );
  const arrivals = trace.traceEvents.filter((e) => e.name === 'interrupt arrives');
  assert.ok(delivered.length > 0);
  assert.equal(arrivals.length, delivered.length);
  assert.ok(
    trace.traceEvents.some((e) => e.name === 'halted'),
    'halted slices (HLT to the next interrupt)',
  );
  // Metadata: a process per variant, a thread per vCPU.
  const names = trace.traceEvents.filter((e) => e.ph === 'M' && e.name === 'process_name').map((e) => e.args!.name);
  assert.deepEqual(names, [
    'bhyve-12.1 (i7-6700K, bhyve-12.1), host 1',
    'bhyve-tpr-v3 (i7-6700K, bhyve-tpr-v3), host 1',
  ]);
});

test('the schema rejects what the spec does not allow', () => {
  const validate = new Ajv({ allErrors: true }).compile(SCHEMA);
  const ok = { traceEvents: [{ name: 'x', ph: 'X', ts: 1, dur: 2, pid: 1, tid: 1 }] };
  assert.ok(validate(ok));
  for (const bad of [
    { traceEvents: [{ name: 'x', ph: 'X', ts: 1, pid: 1, tid: 1 }] }, // X without dur
    { traceEvents: [{ name: 'x', ph: 'i', ts: 1, s: 'x', pid: 1, tid: 1 }] }, // bad scope
    { traceEvents: [{ name: 'x', ph: 'Q', ts: 1, pid: 1, tid: 1 }] }, // unknown phase
    { traceEvents: [{ name: 'thread_name', ph: 'M', ts: 0, pid: 1, tid: 1, args: {} }] }, // no args.name
    { traceEvents: [{ name: 'x', ph: 'b', ts: 0, pid: 1, tid: 1 }] }, // async without id
    { traceEvents: [], displayTimeUnit: 'us' },
    { events: [] },
  ])
    assert.equal(validate(bad), false, JSON.stringify(bad));
});

test('the output is bounded: at most the event budget, and it says where it stops', () => {
  // A budget below what either variant's window holds (the idle Windows guest under bhyve-tpr-v3 makes
  // the fewest: a few hundred events in the quarter second since its idle bursts are work at 0.68 %).
  const small = build(scenario, GUEST, 100);
  assert.ok(small.events <= 200, `${small.events} events`);
  assert.equal(small.truncated.length, 2, 'both variants stop early');
  for (const t of small.truncated) assert.ok(t.atNs >= FROM && t.atNs <= TO + 1, String(t.atNs));
  assert.deepEqual(
    (small.trace.otherData.truncated as { variant: string }[]).map((t) => t.variant),
    ['bhyve-12.1', 'bhyve-tpr-v3'],
  );
  const io = capture();
  const file = join(dir, 'small.json');
  writeTimeline(io, scenario, { file, guest: GUEST, window: [FROM, TO] }, false, 200);
  const err = io.stderr.join('\n');
  assert.match(
    err,
    /variant bhyve-12\.1: more than 100 events in the window \(200 per file\); its trace stops at 1\.\d+ s simulated: narrow --timeline-window/,
  );
  assert.match(
    err,
    /timeline: .*small\.json: guest 2 \(windows-10-1909, host 1\), 1\.\.1\.25 s, 2 variants, \d+ events/,
  );
  assert.ok((JSON.parse(readFileSync(file, 'utf8')) as TraceFile).traceEvents.length <= 200);
});

test('run --timeline writes the trace; bad options exit 2 before anything runs', async () => {
  const file = join(dir, 's.yaml');
  writeFileSync(file, YAML);
  const out = join(dir, 'cli.json');
  const io = capture();
  const args = ['run', '--timeline', out, '--timeline-guest', String(GUEST), '--timeline-window', '1..1.25', file];
  assert.equal(await main(args, io), 0, io.stderr.join(''));
  assert.equal(readFileSync(out, 'utf8'), renderTrace(built.trace), 'the CLI writes what buildTimeline gives');
  assert.match(io.stderr.join('\n'), /open it in ui\.perfetto\.dev or chrome:\/\/tracing/);
  for (const [bad, message] of [
    [['run', '--timeline-guest', '1', file], /need --timeline FILE/],
    [['run', '--timeline', out, '--timeline-window', '2..1', file], /FROM\.\.TO/],
    [['run', '--timeline', out, '--timeline-window', 'soon', file], /FROM\.\.TO/],
    [['run', '--timeline', out, '--timeline-guest=-1', file], /guest index/],
    [['run', '--timeline', out, '--timeline-guest', '99', file], /guest 99 does not exist/],
    [['run', '--timeline', out, '--timeline-window', '5..6', file], /after the scenario's 3 simulated seconds/],
    [['run', '--timeline', out, file, file], /one scenario file/],
  ] as const) {
    const e = capture();
    assert.equal(await main([...bad], e), 2, bad.join(' '));
    assert.match(e.stderr.join('\n'), message);
    assert.equal(e.stdout.length, 0, 'nothing ran');
  }
  assert.deepEqual(parseWindow('2..2.05'), [2e9, 2.05e9]);
  assert.deepEqual(parseWindow('0.000000001..1'), [1, 1e9]);
  assert.equal(parseWindow('1..1'), undefined);
});

const skip = chromiumSkip("the timeline's browser test");

let closeChromium: (() => Promise<void>) | undefined;
after(async () => {
  await closeChromium?.();
  rmSync(dir, { recursive: true, force: true });
});

test(
  "headless Chromium loads the file, validates it against the schema and counts the run's exits",
  { skip, timeout: 120_000 },
  async () => {
    // The schema compiled to a self-contained validator (no runtime require): the page runs it.
    const ajv = new Ajv({ code: { source: true, esm: false }, allErrors: true });
    const code = standaloneCode(ajv, ajv.compile(SCHEMA));
    assert.doesNotMatch(code, /require\(/, 'the validator needs no module at run time');
    const page_ = `<!doctype html><meta charset="utf-8"><title>trace check</title><script>
const module = { exports: {} };
${code}
window.validateTrace = module.exports;
window.checkTrace = async (url) => {
  const trace = JSON.parse(await (await fetch(url)).text());
  const valid = window.validateTrace(trace);
  const exits = {};
  const slices = {};
  for (const e of trace.traceEvents) {
    if (e.ph !== 'X' || !String(e.cat).startsWith('exit')) continue;
    const k = e.pid + ' ' + (e.tid - 1) + ' ' + e.name;
    exits[k] = (exits[k] || 0) + e.args.exits;
    slices[k] = (slices[k] || 0) + 1;
  }
  return { valid, errors: window.validateTrace.errors || null, events: trace.traceEvents.length, exits, slices };
};
</script>`;
    const { context, close } = await launchChromium();
    closeChromium = close;
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    // The page and the trace file, served to the browser as they are (no network).
    await page.route('http://timeline.test/**', async (route) => {
      const url = route.request().url();
      if (url.endsWith('/trace.json'))
        await route.fulfill({ body: readFileSync(traceFile), contentType: 'application/json' });
      else await route.fulfill({ body: page_, contentType: 'text/html' });
    });
    await page.goto('http://timeline.test/check.html');
    const r = await page.evaluate<{
      valid: boolean;
      errors: unknown;
      events: number;
      exits: Record<string, number>;
      slices: Record<string, number>;
    }>("window.checkTrace('http://timeline.test/trace.json')");
    assert.deepEqual(problems, []);
    assert.equal(r.valid, true, JSON.stringify(r.errors));
    assert.equal(r.events, built.events);
    assert.deepEqual(
      new Map(Object.entries(r.exits).sort()),
      new Map([...want].sort()),
      "the run's exits, per variant, vCPU and reason",
    );
    assert.deepEqual(new Map(Object.entries(r.slices).sort()), new Map([...slicesOf(built.trace).slices].sort()));
  },
);
