/** A validation case's `setup:` items, each stated or assumed (with why), and its `notExpressed:` list, as read. */
import { isSeq } from 'yaml';
import type { Reader, Field, Val } from '../input/reader.js';
import { nonEmpty, opt } from './loadCompare.js';
import { HV_ENLIGHTENMENTS, type HvEnlightenment } from '../core/hypervisor/hyperv.js';
import { SETUP_ITEMS, type CaseSetup, type NotExpressed, type SetupItem, type SetupValue } from './types.js';

export const SETUP_ITEM_KEYS = ['stated', 'assumed', 'why', 'model', 'note'] as const;

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

export function readSetup(r: Reader, v: Field): CaseSetup | undefined {
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

export function readNotExpressed(r: Reader, v: Field): NotExpressed[] | undefined {
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
