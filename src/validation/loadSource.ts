/** A validation case's `source:`: a URL or a repository and path, a real date not after today, a fixture that exists. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../model/data.js';
import type { Reader, Field } from '../input/reader.js';
import { nonEmpty, opt } from './loadCompare.js';
import { SOURCE_KINDS, type CaseSource } from './types.js';

export const ID_RE = /^[a-z0-9][a-z0-9-]*$/;
const DATE_RE = /^(\d{4})(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$/;
const COMMIT_RE = /^[0-9a-f]{40}$/;
const URL_RE = /^https?:\/\/\S+$/;
const REPO_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*\/[A-Za-z0-9][A-Za-z0-9_.-]*$/;

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

export function readSource(r: Reader, v: Field): CaseSource | undefined {
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
