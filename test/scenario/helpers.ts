/**
 * Shared helpers of the scenario tests: the repository root, fixture paths, a tiny JSON Schema
 * validator for the subset scenarios/scenario.schema.json uses, VariantTotals factories, and the
 * error of a scenario that must be refused.
 */
import assert from 'node:assert/strict';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ScenarioError } from '../../src/input/diagnostics.js';
import { parseScenario } from '../../src/scenario/load.js';
import type { LatencyHistogram, VariantTotals } from '../../src/results/types.js';

/** Compiled, this file is dist/test/scenario/helpers.js: the repository root is three levels up. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const FIXTURES = join(ROOT, 'test', 'fixtures', 'scenarios');
export const SCHEMA_PATH = join(ROOT, 'scenarios', 'scenario.schema.json');

/** The ScenarioError `text` is refused with (as file `file`); fails the test when it loads. */
export function rejected(text: string, file = 't.yaml'): ScenarioError {
  try {
    parseScenario(text, file);
  } catch (e) {
    assert.ok(e instanceof ScenarioError, `expected a ScenarioError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected the scenario to be rejected');
}

// ---------------------------------------------------------------------------------------------
// JSON Schema (draft 2020-12) subset

export type Schema = boolean | { readonly [k: string]: unknown };

/** Keywords the validator implements; annotations are accepted and ignored. */
export const SUPPORTED_KEYWORDS = new Set([
  'type',
  'enum',
  'const',
  'pattern',
  'minimum',
  'maximum',
  'multipleOf',
  'minItems',
  'maxItems',
  'uniqueItems',
  'minProperties',
  'properties',
  'additionalProperties',
  'propertyNames',
  'required',
  'items',
  'anyOf',
  'allOf',
  'not',
  'if',
  'then',
  'else',
  '$ref',
  '$defs',
]);
export const ANNOTATIONS = new Set(['$schema', '$id', 'title', 'description', 'default', 'examples']);

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Validate `value`; returns the problems as "path: message" strings (empty = valid). */
export function validateSchema(root: Schema, value: unknown): string[] {
  const errors: string[] = [];
  const resolveRef = (ref: string): Schema => {
    if (!ref.startsWith('#/')) throw new Error(`unsupported $ref ${ref}`);
    let s: unknown = root;
    for (const part of ref.slice(2).split('/')) s = (s as Record<string, unknown>)[part];
    if (s === undefined) throw new Error(`dangling $ref ${ref}`);
    return s as Schema;
  };
  const check = (schema: Schema, v: unknown, path: string, out: string[]): void => {
    if (schema === true) return;
    if (schema === false) {
      out.push(`${path}: not allowed`);
      return;
    }
    for (const k of Object.keys(schema)) {
      if (!SUPPORTED_KEYWORDS.has(k) && !ANNOTATIONS.has(k))
        throw new Error(`unsupported schema keyword ${k} at ${path}`);
    }
    const s = schema as Record<string, unknown>;
    if (s.$ref !== undefined) check(resolveRef(s.$ref as string), v, path, out);
    const t = typeOf(v);
    if (s.type !== undefined) {
      const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
      if (!types.some((x) => x === t || (x === 'number' && t === 'integer'))) {
        out.push(`${path}: expected type ${types.join('|')}, found ${t}`);
        return;
      }
    }
    if (s.enum !== undefined && !(s.enum as unknown[]).some((e) => deepEqual(e, v)))
      out.push(`${path}: ${JSON.stringify(v)} not in enum`);
    if (s.const !== undefined && !deepEqual(s.const, v)) out.push(`${path}: expected const ${JSON.stringify(s.const)}`);
    if (typeof v === 'string' && s.pattern !== undefined && !new RegExp(s.pattern as string, 'u').test(v))
      out.push(`${path}: ${JSON.stringify(v)} does not match pattern`);
    if (typeof v === 'number') {
      if (s.minimum !== undefined && v < (s.minimum as number))
        out.push(`${path}: ${v} < minimum ${JSON.stringify(s.minimum)}`);
      if (s.maximum !== undefined && v > (s.maximum as number))
        out.push(`${path}: ${v} > maximum ${JSON.stringify(s.maximum)}`);
      if (s.multipleOf !== undefined && v % (s.multipleOf as number) !== 0)
        out.push(`${path}: ${v} not a multiple of ${JSON.stringify(s.multipleOf)}`);
    }
    if (Array.isArray(v)) {
      if (s.minItems !== undefined && v.length < (s.minItems as number))
        out.push(`${path}: fewer than ${JSON.stringify(s.minItems)} items`);
      if (s.maxItems !== undefined && v.length > (s.maxItems as number))
        out.push(`${path}: more than ${JSON.stringify(s.maxItems)} items`);
      if (s.uniqueItems === true && new Set(v.map((x) => JSON.stringify(x))).size !== v.length)
        out.push(`${path}: items not unique`);
      if (s.items !== undefined) v.forEach((item, i) => check(s.items as Schema, item, `${path}[${i}]`, out));
    }
    if (t === 'object') {
      const o = v as Record<string, unknown>;
      const keys = Object.keys(o);
      if (s.minProperties !== undefined && keys.length < (s.minProperties as number))
        out.push(`${path}: fewer than ${JSON.stringify(s.minProperties)} properties`);
      for (const r of (s.required as string[] | undefined) ?? [])
        if (!(r in o)) out.push(`${path}: missing required ${r}`);
      const props = (s.properties as Record<string, Schema> | undefined) ?? {};
      for (const k of keys) {
        if (s.propertyNames !== undefined) check(s.propertyNames as Schema, k, `${path}{${k}}`, out);
        if (k in props) check(props[k], o[k], `${path}.${k}`, out);
        else if (s.additionalProperties !== undefined)
          check(s.additionalProperties as Schema, o[k], `${path}.${k}`, out);
      }
    }
    if (s.anyOf !== undefined) {
      const ok = (s.anyOf as Schema[]).some((sub) => {
        const e: string[] = [];
        check(sub, v, path, e);
        return e.length === 0;
      });
      if (!ok) out.push(`${path}: matches none of anyOf`);
    }
    if (s.allOf !== undefined) for (const sub of s.allOf as Schema[]) check(sub, v, path, out);
    if (s.not !== undefined) {
      const e: string[] = [];
      check(s.not as Schema, v, path, e);
      if (e.length === 0) out.push(`${path}: matches "not"`);
    }
    if (s.if !== undefined) {
      const e: string[] = [];
      check(s.if as Schema, v, path, e);
      const branch = e.length === 0 ? s.then : s.else;
      if (branch !== undefined) check(branch as Schema, v, path, out);
    }
  };
  check(root, value, '$', errors);
  return errors;
}

// ---------------------------------------------------------------------------------------------
// Results factories

export function histogram(boundsNs: number[], counts: number[], sumNs?: number): LatencyHistogram {
  const count = counts.reduce((a, b) => a + b, 0);
  return { boundsNs, counts, count, sumNs: sumNs ?? 0 };
}

export function totals(over: Partial<VariantTotals> = {}): VariantTotals {
  return {
    simulatedSeconds: 10,
    guestSeconds: 10,
    vcpuSeconds: 10,
    exits: {},
    exitsTotal: 0,
    cr8Accesses: 0,
    cr8Reads: 0,
    cr8Writes: 0,
    tprMmioWrites: 0,
    tprMsrWrites: 0,
    interruptsRaised: 0,
    interruptsInjected: 0,
    interruptsDelivered: 0,
    interruptsBySource: {
      timer: { raised: 0, delivered: 0 },
      device: { raised: 0, delivered: 0 },
      ipi: { raised: 0, delivered: 0 },
    },
    phaseSeconds: {},
    hostSecondsInExits: {},
    guestCpuSeconds: 0,
    interruptLatency: histogram([1000, 10000, 100000], [0, 0, 0, 0]),
    violations: [],
    entryFailures: [],
    guests: 1,
    vcpus: 1,
    ...over,
  };
}
