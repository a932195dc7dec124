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
 * exist; the stated enlightenments, the HPET and a Linux clocksource must be what the scenario runs
 * (loadSetup.ts), an assumed empty enlightenment list what some Windows guest runs (loadAssumed.ts);
 * a setup item's `model` must agree with the scenario (vcpus, guest, hostCpu, hypervisor).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { isSeq } from 'yaml';
import { REPO_ROOT } from '../model/data.js';
import { ScenarioError } from '../input/diagnostics.js';
import { scenarioFromNode } from '../scenario/load.js';
import type { Scenario } from '../scenario/types.js';
import type { Reader, Field, Val } from '../input/reader.js';
import { openYamlMapping, type YamlInputKind } from '../input/document.js';
import { nonEmpty, opt, readCompare } from './loadCompare.js';
import { checkSetupAgainstScenario } from './loadSetup.js';
import { checkAssumedAgainstScenario } from './loadAssumed.js';
import { HV_ENLIGHTENMENTS, type HvEnlightenment } from '../core/hypervisor/hyperv.js';
import {
  SETUP_ITEMS,
  SOURCE_KINDS,
  VALIDATION_CASE_VERSION,
  type CaseSetup,
  type CaseSource,
  type NotExpressed,
  type SetupItem,
  type SetupValue,
  type ValidationCase,
} from './types.js';

export const VALIDATION_DIR = join(REPO_ROOT, 'data', 'validation');
const MAX_CASE_BYTES = 256 * 1024;
const MAX_ALIAS_COUNT = 100;
const CASE_INPUT: YamlInputKind = { noun: 'validation case', maxBytes: MAX_CASE_BYTES, maxAliases: MAX_ALIAS_COUNT };
const ID_RE = /^[a-z0-9][a-z0-9-]*$/;
const DATE_RE = /^(\d{4})(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$/;
const COMMIT_RE = /^[0-9a-f]{40}$/;
const URL_RE = /^https?:\/\/\S+$/;
const REPO_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*\/[A-Za-z0-9][A-Za-z0-9_.-]*$/;

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
export const SOURCE_KEYS = [
  'id',
  'kind',
  'title',
  'url',
  'repository',
  'path',
  'commit',
  'date',
  'dateNote',
  'locator',
  'fixture',
] as const;
export const SETUP_ITEM_KEYS = ['stated', 'assumed', 'why', 'model', 'note'] as const;

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

function readSource(r: Reader, v: Field): CaseSource | undefined {
  const m = r.map(v, 'source');
  if (m === undefined) return undefined;
  const f = r.fields(m, 'source', SOURCE_KEYS, ['id', 'kind', 'title', 'date']);
  const id = opt(f, 'id', (x) => r.str(x, 'source.id', ID_RE, 'an id of lower-case letters, digits and "-"'));
  const kind = opt(f, 'kind', (x) => r.oneOf(x, 'source.kind', SOURCE_KINDS, 'source kind'));
  const title = opt(f, 'title', (x) => nonEmpty(r, x, 'source.title'));
  const url = opt(f, 'url', (x) => r.str(x, 'source.url', URL_RE, 'an http(s) URL'));
  const repository = opt(f, 'repository', (x) => r.str(x, 'source.repository', REPO_RE, 'owner/name'));
  const path = opt(f, 'path', (x) => nonEmpty(r, x, 'source.path'));
  const commit = opt(f, 'commit', (x) => r.str(x, 'source.commit', COMMIT_RE, 'a 40-digit lower-case hex commit'));
  const date = opt(f, 'date', (x) => {
    const s = r.scalar(x);
    const text =
      s === undefined
        ? undefined
        : typeof s.value === 'string'
          ? s.value
          : s.value instanceof Date
            ? s.value.toISOString().slice(0, 10)
            : typeof s.value === 'number'
              ? String(s.value)
              : undefined;
    if (text === undefined || (text !== 'unknown' && !DATE_RE.test(text)))
      return r.error(x, 'invalid source.date', 'YYYY, YYYY-MM, YYYY-MM-DD or "unknown"', r.describe(x.node));
    if (text === 'unknown') return text;
    // A day the calendar has (2023-02-29, 2024-04-31 are none: a typo of the day or month), and no
    // later than today (a source cannot be published after the case citing it is written).
    const [y, mo, d] = text.split('-').map(Number);
    if (d !== undefined && new Date(Date.UTC(y, mo - 1, d)).getUTCDate() !== d)
      return r.error(x, `source.date ${text} is no such day`, 'a day of the calendar', text);
    const today = new Date().toISOString().slice(0, 10);
    if (text > today.slice(0, text.length))
      return r.error(x, `source.date ${text} is after today (${today})`, 'the date the source was published', text);
    return text;
  });
  const dateNote = opt(f, 'dateNote', (x) => nonEmpty(r, x, 'source.dateNote'));
  const locator = opt(f, 'locator', (x) => nonEmpty(r, x, 'source.locator'));
  const fixture = opt(f, 'fixture', (x) => {
    const p = nonEmpty(r, x, 'source.fixture');
    if (p !== undefined && !existsSync(join(REPO_ROOT, p)))
      return r.error(x, `source.fixture ${p} does not exist`, 'a path relative to the repository root');
    return p;
  });
  if (url === undefined && (repository === undefined || path === undefined) && !f.mentions('url')) {
    r.error(
      m,
      'a source needs a URL, or a repository and a path',
      'url: https://... or repository: owner/name + path: ...',
    );
  }
  if (date === 'unknown' && dateNote === undefined && !f.mentions('dateNote')) {
    r.error(
      f.get('date') ?? m,
      'source.date is "unknown" without a dateNote',
      'dateNote: why the date is not known (and what bounds it)',
    );
  }
  if (id === undefined || kind === undefined || title === undefined || date === undefined) return undefined;
  return {
    id,
    kind,
    title,
    date,
    ...(url !== undefined ? { url } : {}),
    ...(repository !== undefined ? { repository } : {}),
    ...(path !== undefined ? { path } : {}),
    ...(commit !== undefined ? { commit } : {}),
    ...(dateNote !== undefined ? { dateNote } : {}),
    ...(locator !== undefined ? { locator } : {}),
    ...(fixture !== undefined ? { fixture } : {}),
  };
}

/** A plain setup value: string, number, boolean, null or a list of strings. */
function setupValue(r: Reader, v: Val, what: string): SetupValue | undefined {
  const n = r.resolve(v.node);
  if (isSeq(n)) {
    const out: string[] = [];
    for (const item of r.seq(v, what) ?? []) {
      const s = r.str(item, `an item of ${what}`);
      if (s !== undefined) out.push(s);
    }
    return out;
  }
  const s = r.scalar(v);
  if (s === undefined)
    return r.error(
      v,
      `wrong type for ${what}`,
      'a string, number, boolean, null or a list of strings',
      r.describe(v.node),
    );
  if (s.value === null || typeof s.value === 'string' || typeof s.value === 'number' || typeof s.value === 'boolean')
    return s.value;
  return r.error(
    v,
    `wrong type for ${what}`,
    'a string, number, boolean, null or a list of strings',
    r.describe(v.node),
  );
}

function readSetupItem(
  r: Reader,
  v: Field,
  name: string,
  check?: (x: Val, value: SetupValue) => boolean,
): SetupItem<SetupValue> | undefined {
  const m = r.map(v, `setup.${name}`);
  if (m === undefined) return undefined;
  const f = r.fields(m, `setup.${name}`, SETUP_ITEM_KEYS);
  const stated = f.get('stated');
  const assumed = f.get('assumed');
  if ((stated === undefined) === (assumed === undefined)) {
    r.error(
      m,
      `setup.${name} needs exactly one of "stated" and "assumed"`,
      'stated: <what the source says> or assumed: <value> with why: <reasoning>',
      stated === undefined ? 'neither' : 'both',
    );
  }
  const read = (x: Field | undefined): SetupValue | undefined => {
    if (x === undefined) return undefined;
    const val = setupValue(r, x, `setup.${name}.${x.name}`);
    if (val !== undefined && check !== undefined && !check(x, val)) return undefined;
    return val;
  };
  const s = read(stated);
  const a = read(assumed);
  const why = opt(f, 'why', (x) => nonEmpty(r, x, `setup.${name}.why`));
  if (assumed !== undefined && why === undefined && !f.mentions('why'))
    r.error(m, `setup.${name} is assumed without a reason`, `why: <why ${name} was assumed so>`);
  const model = opt(f, 'model', (x) => {
    const sc = r.scalar(x);
    if (
      sc === undefined ||
      !(typeof sc.value === 'string' || typeof sc.value === 'number' || typeof sc.value === 'boolean')
    )
      return r.error(x, `wrong type for setup.${name}.model`, 'a string, number or boolean', r.describe(x.node));
    return sc.value;
  });
  const note = opt(f, 'note', (x) => nonEmpty(r, x, `setup.${name}.note`));
  return {
    ...(stated !== undefined && s !== undefined ? { stated: s } : {}),
    ...(assumed !== undefined && a !== undefined ? { assumed: a } : {}),
    ...(why !== undefined ? { why } : {}),
    ...(model !== undefined ? { model } : {}),
    ...(note !== undefined ? { note } : {}),
  };
}

function readSetup(r: Reader, v: Field): CaseSetup | undefined {
  const m = r.map(v, 'setup');
  if (m === undefined) return undefined;
  const f = r.fields(m, 'setup', SETUP_ITEMS, SETUP_ITEMS);
  const items: Partial<Record<string, SetupItem<SetupValue>>> = {};
  for (const name of SETUP_ITEMS) {
    const field = f.get(name);
    if (field === undefined) continue;
    let check: ((x: Val, value: SetupValue) => boolean) | undefined;
    if (name === 'enlightenments') {
      check = (x, value) => {
        if (!Array.isArray(value)) {
          r.error(
            x,
            'wrong type for setup.enlightenments',
            `a list of ${HV_ENLIGHTENMENTS.join(', ')} (empty: none)`,
            r.describe(x.node),
          );
          return false;
        }
        const bad = (value as string[]).find((e) => !(HV_ENLIGHTENMENTS as readonly string[]).includes(e));
        if (bad !== undefined) {
          r.error(x, `unknown enlightenment "${bad}"`, `one of ${HV_ENLIGHTENMENTS.join(', ')}`);
          return false;
        }
        return true;
      };
    } else if (name === 'hpet') {
      check = (x, value) => {
        if (value !== null && typeof value !== 'boolean') {
          r.error(x, 'wrong type for setup.hpet', 'true, false or null (unknown)', r.describe(x.node));
          return false;
        }
        return true;
      };
    }
    items[name] = readSetupItem(r, field, name, check);
  }
  if (SETUP_ITEMS.some((n) => items[n] === undefined)) return undefined;
  return {
    ...(items as Record<string, SetupItem<SetupValue>>),
    enlightenments: items.enlightenments as SetupItem<readonly HvEnlightenment[]>,
    hpet: items.hpet as SetupItem<boolean | null>,
  } as CaseSetup;
}

function readNotExpressed(r: Reader, v: Field): NotExpressed[] | undefined {
  const items = r.seq(v, 'notExpressed');
  if (items === undefined) return undefined;
  const out: NotExpressed[] = [];
  for (const item of items) {
    const m = r.map(item, 'an item of notExpressed');
    if (m === undefined) continue;
    const f = r.fields(m, 'an item of notExpressed', ['what', 'why'], ['what', 'why']);
    const what = opt(f, 'what', (x) => nonEmpty(r, x, 'notExpressed.what'));
    const why = opt(f, 'why', (x) => nonEmpty(r, x, 'notExpressed.why'));
    if (what !== undefined && why !== undefined) out.push({ what, why });
  }
  return out;
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
