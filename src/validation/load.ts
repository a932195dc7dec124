/**
 * Validation-case loader: YAML text -> a typed, frozen ValidationCase (src/validation/types.ts), or a
 * ScenarioError listing every problem with file:line:col, what was expected and what was found (the
 * scenario loader's diagnostics, src/input/diagnostics.ts). The embedded `scenario:` is loaded by the
 * scenario loader itself (scenarioFromNode), so its errors point into the case file too.
 *
 * Format (version 1; data/validation/README.md has an annotated example):
 *
 *   validationCase: 1
 *   id: kvm-sysbench-blog-2020            # [a-z0-9-]+, unique in the corpus; file name = id.yaml
 *   title: ...
 *   fitted: false                         # true: the model was fitted to this figure (the seed's)
 *   knownGap: ...                         # optional: why the case stays outside
 *   source: { id, kind, title, url | repository + path [+ commit], date, dateNote, locator, fixture }
 *   published: { ... }                    # numbers as published (no prose)
 *   setup:                                # every item: stated: X | assumed: X + why; model, note
 *     guest / vcpus / hypervisor / hostCpu / clockSource / enlightenments / hpet / workload
 *   notExpressed: [ { what, why } ]       # setup the scenario format cannot express (yet)
 *   scenario: { ...a scenario... }        # shipped guest models, CPU profiles, policies only
 *   compare:
 *     - { metric: exit_share, reasons: [MSR_WRITE], real: 0.354, label: "MSR_WRITE Samples% 35.40" }
 *
 * Provenance rules (the spirit of src/model/data.ts): a source must have a URL or a repository and
 * path, a date (a real day not after today, or "unknown" with a note), and a fixture file must
 * exist (loadSource.ts); the stated enlightenments, the HPET and a Linux clocksource must be what the scenario runs
 * (loadSetup.ts), an assumed empty enlightenment list what some Windows guest runs (loadAssumed.ts);
 * a setup item's `model` must agree with the scenario (vcpus, guest, hostCpu, hypervisor). The setup's
 * items and notExpressed are read by loadSetupItems.ts, the compare list by loadCompare.ts.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { REPO_ROOT } from '../model/data.js';
import { ScenarioError } from '../input/diagnostics.js';
import { scenarioFromNode } from '../scenario/load.js';
import type { Scenario } from '../scenario/types.js';
import { openYamlMapping, type YamlInputKind } from '../input/document.js';
import { nonEmpty, opt, readCompare } from './loadCompare.js';
import { checkSetupAgainstScenario } from './loadSetup.js';
import { checkAssumedAgainstScenario } from './loadAssumed.js';
import { ID_RE, readSource } from './loadSource.js';
import { readNotExpressed, readSetup } from './loadSetupItems.js';
import { SETUP_ITEMS, VALIDATION_CASE_VERSION, type ValidationCase } from './types.js';

export const VALIDATION_DIR = join(REPO_ROOT, 'data', 'validation');
const MAX_CASE_BYTES = 256 * 1024;
const MAX_ALIAS_COUNT = 100;
const CASE_INPUT: YamlInputKind = { noun: 'validation case', maxBytes: MAX_CASE_BYTES, maxAliases: MAX_ALIAS_COUNT };

export const ROOT_KEYS = [
  'validationCase',
  'id',
  'title',
  'fitted',
  'knownGap',
  'source',
  'published',
  'setup',
  'notExpressed',
  'scenario',
  'compare',
] as const;

/** Parse and validate one case; throws ScenarioError listing every problem with its position. */
export function parseValidationCase(text: string, file: string): ValidationCase {
  const { sink, r, root } = openYamlMapping(text, file, CASE_INPUT);
  const f = r.fields(root, 'the validation case', ROOT_KEYS, [
    'validationCase',
    'id',
    'title',
    'source',
    'published',
    'setup',
    'scenario',
    'compare',
  ]);
  opt(f, 'validationCase', (v) =>
    r.int(
      v,
      'validationCase (the format version)',
      VALIDATION_CASE_VERSION,
      VALIDATION_CASE_VERSION,
      String(VALIDATION_CASE_VERSION),
    ),
  );
  const id = opt(f, 'id', (v) => r.str(v, 'id', ID_RE, 'an id of lower-case letters, digits and "-"'));
  const idField = f.get('id');
  if (id !== undefined && idField !== undefined && !file.startsWith('<') && basename(file) !== `${id}.yaml`) {
    r.error(
      idField,
      `the file name must be the id: ${id}.yaml`,
      `${basename(file, '.yaml')} (the file name)`,
      JSON.stringify(id),
    );
  }
  const title = opt(f, 'title', (v) => nonEmpty(r, v, 'title'));
  const fitted = opt(f, 'fitted', (v) => r.bool(v, 'fitted')) ?? false;
  const knownGap = opt(f, 'knownGap', (v) => nonEmpty(r, v, 'knownGap'));
  const source = opt(f, 'source', (v) => readSource(r, v));
  const published = opt(f, 'published', (v) => {
    const m = r.map(v, 'published');
    if (m === undefined) return undefined;
    if (m.items.length === 0)
      return r.error(v, 'published must hold the numbers as published', 'a non-empty mapping', 'an empty mapping');
    return m.toJSON() as Record<string, unknown>;
  });
  const setupField = f.get('setup');
  const setup = setupField === undefined ? undefined : readSetup(r, setupField);
  const notExpressed = opt(f, 'notExpressed', (v) => readNotExpressed(r, v)) ?? [];
  const scenarioField = f.get('scenario');
  let scenario: Scenario | undefined;
  if (scenarioField !== undefined) {
    const m = r.map(scenarioField, 'scenario');
    if (m !== undefined) scenario = scenarioFromNode(r, m, file, { workloadBaseDir: null });
  }
  const compareField = f.get('compare');
  const compare =
    compareField === undefined
      ? undefined
      : readCompare(
          r,
          compareField,
          scenario === undefined
            ? undefined
            : {
                variants: scenario.variants.map((v) => v.name),
                vendors: [...new Set(scenario.variants.map((v) => v.host.cpu.vendor))],
                phases: [
                  ...new Set(
                    scenario.variants.flatMap((v) =>
                      v.guests.flatMap((g) => (g.kind === 'modelled' ? g.phases.map((p) => p.phase) : [])),
                    ),
                  ),
                ],
              },
        );

  // Consistency between the setup, notExpressed and the scenario.
  if (setup !== undefined && setupField !== undefined) {
    const setupMap = r.map(setupField, 'setup');
    const setupFields = setupMap === undefined ? undefined : r.fields(setupMap, 'setup', SETUP_ITEMS);
    if (scenario !== undefined) {
      // Enlightenments, the HPET and a Linux clocksource are scenario keys (issue #14 part 4): what the
      // setup states must be what the scenario runs (loadSetup.ts).
      checkSetupAgainstScenario(r, setup, scenario, (name) => setupFields?.get(name) ?? setupField);
      checkAssumedAgainstScenario(r, setup, scenario, (name) => setupFields?.get(name) ?? setupField);
      const v0 = scenario.variants[0];
      const g0 = v0.guests[0];
      const vc = setup.vcpus.model;
      if (vc !== undefined && g0 !== undefined && vc !== g0.vcpus) {
        r.error(
          setupFields?.get('vcpus') ?? setupField,
          "setup.vcpus.model differs from the scenario's first guest",
          String(g0.vcpus),
          String(vc),
        );
      }
      // A number the source states is the scenario's, not a free choice.
      if (typeof setup.vcpus.stated === 'number' && vc !== undefined && vc !== setup.vcpus.stated) {
        r.error(
          setupFields?.get('vcpus') ?? setupField,
          'setup.vcpus.model differs from what the source states',
          String(setup.vcpus.stated),
          String(vc),
        );
      }
      const os = setup.guest.model;
      const oses = scenario.variants.flatMap((v) =>
        v.guests.flatMap((g) => (g.kind === 'modelled' ? [g.os as string] : [])),
      );
      if (typeof os === 'string' && !oses.includes(os)) {
        r.error(
          setupFields?.get('guest') ?? setupField,
          'setup.guest.model is not a guest of the scenario',
          [...new Set(oses)].join(' or '),
          os,
        );
      }
      const cpu = setup.hostCpu.model;
      if (typeof cpu === 'string' && !scenario.variants.some((v) => v.host.cpu.id === cpu)) {
        r.error(
          setupFields?.get('hostCpu') ?? setupField,
          'setup.hostCpu.model is not a CPU of the scenario',
          scenario.variants.map((v) => v.host.cpu.id).join(' or '),
          cpu,
        );
      }
      const hv = setup.hypervisor.model;
      if (typeof hv === 'string' && !scenario.variants.some((v) => v.hypervisor.policy === hv)) {
        r.error(
          setupFields?.get('hypervisor') ?? setupField,
          'setup.hypervisor.model is not a policy of the scenario',
          scenario.variants.map((v) => v.hypervisor.policy).join(' or '),
          hv,
        );
      }
    }
  }
  sink.throwIfAny();
  const c: ValidationCase = {
    id: id!,
    file,
    title: title!,
    fitted,
    ...(knownGap !== undefined ? { knownGap } : {}),
    source: source!,
    published: published!,
    setup: setup!,
    notExpressed,
    scenario: scenario!,
    compare: compare!,
  };
  return deepFreeze(c, new Set<unknown>([scenario]));
}

function deepFreeze<T>(value: T, skip: ReadonlySet<unknown>): T {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value) || skip.has(value)) return value;
  for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v, skip);
  return Object.freeze(value);
}

/** Read a case file; a missing or unreadable file is a ScenarioError without a position. */
export function loadValidationCase(path: string): ValidationCase {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ScenarioError([
      { file: path, line: 0, column: 0, message: `cannot read the file: ${(e as Error).message}` },
    ]);
  }
  return parseValidationCase(text, path);
}

/** Every *.yaml case of a directory, sorted by file name; duplicate ids are an error. */
export function loadValidationCorpus(dir: string = VALIDATION_DIR): ValidationCase[] {
  const files = readdirSync(dir)
    .filter((n) => n.endsWith('.yaml'))
    .sort();
  const cases: ValidationCase[] = [];
  const errors: ScenarioError[] = [];
  for (const name of files) {
    try {
      cases.push(loadValidationCase(join(dir, name)));
    } catch (e) {
      if (e instanceof ScenarioError) errors.push(e);
      else throw e;
    }
  }
  if (errors.length > 0)
    throw new ScenarioError(
      errors.flatMap((e) => e.diagnostics),
      errors.reduce((n, e) => n + e.total, 0),
    );
  return cases;
}

/** The `before` values: case id -> comparison key -> the model value measured before any fix (null: n/a). */
export type BeforeValues = Readonly<Record<string, Readonly<Record<string, number | null>>>>;

export const BEFORE_FILE = 'before.json';

export function loadBeforeValues(dir: string = VALIDATION_DIR): BeforeValues {
  const p = join(dir, BEFORE_FILE);
  if (!existsSync(p)) return {};
  const raw = JSON.parse(readFileSync(p, 'utf8')) as { readonly values?: BeforeValues };
  return raw.values ?? {};
}
