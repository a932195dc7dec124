/**
 * scenarios/scenario.schema.json and the loader must agree: the same keys at the same places, the
 * same enums as the code, and every valid fixture valid for the schema too.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseDocument } from 'yaml';
import { SCRIPT_OP_NAMES } from '../../src/core/script/ops.js';
import { LINUX_CLOCKSOURCES } from '../../src/core/guests/linuxClock.js';
import { HOST_OS_NAMES, HOST_TICK_HZ_CHOICES, type HostOs } from '../../src/model/hostOs.js';
import { POLICY_NAMES, TUNABLES } from '../../src/core/hypervisor/policy.js';
import { APIC_REGISTER_BY_NAME } from '../../src/core/apic/registers.js';
import { CONTROL_NAMES, type ControlWord } from '../../src/core/vmx/controls.js';
import { ACCEPTED_KEYS, loadScenarioFile } from '../../src/scenario/load.js';
import { WORK_PHASES } from '../../src/scenario/phases.js';
import { MATRIX_KEYS } from '../../src/scenario/matrix.js';
import { SCRIPT_OPS_WITHOUT_ARGS } from '../../src/scenario/script.js';
import {
  METRIC_NAMES,
  VIOLATION_CHECKS,
  parseThresholdExpr,
  parseThresholdKey,
} from '../../src/scenario/thresholds.js';
import { GUEST_OS_NAMES, PHASE_NAMES } from '../../src/scenario/types.js';
import {
  ANNOTATIONS,
  FIXTURES,
  ROOT,
  SCHEMA_PATH,
  SUPPORTED_KEYWORDS,
  validateSchema,
  type Schema,
} from './helpers.js';

type Obj = Record<string, unknown>;
const schema = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as Obj;
const defs = schema.$defs as Record<string, Obj>;
const props = (s: Obj): Obj => s.properties as Obj;
const at = (path: string[]): Obj => {
  let s: Obj = schema;
  for (const p of path) s = p.startsWith('$') ? defs[p.slice(1)] : (props(s)[p] as Obj);
  return s;
};
const keys = (s: Obj): string[] => Object.keys(props(s)).sort();

function yamlFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return yamlFiles(p);
    return f.endsWith('.yaml') || f.endsWith('.yml') ? [p] : [];
  });
}

const toJson = (file: string): unknown => parseDocument(readFileSync(file, 'utf8')).toJS({ maxAliasCount: 1000 });

describe('scenario.schema.json', () => {
  it('is draft 2020-12 and uses only keywords the test validator implements', () => {
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
    const walk = (s: unknown, path: string): void => {
      if (typeof s !== 'object' || s === null) return;
      for (const [k, v] of Object.entries(s as Obj)) {
        if (path.endsWith('.properties') || path.endsWith('.$defs')) {
          walk(v, `${path}.${k}`);
          continue;
        }
        assert.ok(SUPPORTED_KEYWORDS.has(k) || ANNOTATIONS.has(k), `unsupported keyword ${k} at ${path}`);
        if (k === 'enum' || k === 'const' || k === 'required' || k === 'examples' || k === 'default') continue;
        if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}.${k}[${i}]`));
        else walk(v, `${path}.${k}`);
      }
    };
    walk(schema, '$');
  });

  it('describes every property', () => {
    const missing: string[] = [];
    const walk = (s: unknown, path: string): void => {
      if (typeof s !== 'object' || s === null) return;
      const o = s as Obj;
      if (o.properties !== undefined) {
        for (const [k, v] of Object.entries(o.properties as Obj)) {
          if (typeof (v as Obj).description !== 'string' || ((v as Obj).description as string).length < 3)
            missing.push(`${path}.${k}`);
        }
      }
      for (const [k, v] of Object.entries(o)) {
        if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}.${k}[${i}]`));
        else if (typeof v === 'object') walk(v, `${path}.${k}`);
      }
    };
    walk(schema, '$');
    assert.deepEqual(missing, []);
  });

  it('has the same keys as the loader at every place', () => {
    assert.deepEqual(keys(schema), [...ACCEPTED_KEYS.root].sort());
    assert.deepEqual(keys(at(['host'])), [...ACCEPTED_KEYS.host].sort());
    assert.deepEqual(keys(at(['hypervisor'])), [...ACCEPTED_KEYS.hypervisor].sort());
    assert.deepEqual(keys(at(['hypervisor', 'vmcs'])), [...ACCEPTED_KEYS.vmcs].sort());
    for (const w of ['pinBased', 'procBased', 'procBased2', 'exit'])
      assert.deepEqual(keys(at(['hypervisor', 'vmcs', w])), [...ACCEPTED_KEYS.vmcsWord].sort());
    assert.deepEqual(keys(defs.guest), [...ACCEPTED_KEYS.guest].sort());
    assert.deepEqual(keys(defs.phase), [...ACCEPTED_KEYS.phase].sort());
    assert.deepEqual(keys(at(['expect'])), [...ACCEPTED_KEYS.expect].sort());
    const writable = TUNABLES.filter((t) => !t.readOnly).map((t) => t.name);
    assert.deepEqual(keys(at(['matrix'])), [...MATRIX_KEYS, ...writable.map((t) => `tunables.${t}`)].sort());
    assert.deepEqual(keys(at(['hypervisor', 'tunables'])), [...writable].sort());
    for (const x of [
      schema,
      at(['host']),
      at(['hypervisor']),
      at(['hypervisor', 'vmcs']),
      defs.guest,
      defs.phase,
      at(['expect']),
      at(['matrix']),
      at(['hypervisor', 'tunables']),
    ]) {
      assert.equal(x.additionalProperties, false);
    }
    assert.deepEqual(schema.required, ['name', 'guests']);
  });

  it('has the same enums and ranges as the code', () => {
    assert.deepEqual(at(['hypervisor', 'policy']).enum, [...POLICY_NAMES]);
    assert.deepEqual((props(defs.guest).os as Obj).enum, [...GUEST_OS_NAMES, 'scripted']);
    assert.deepEqual((props(defs.guest).clocksource as Obj).enum, [...LINUX_CLOCKSOURCES]);
    assert.deepEqual(at(['host', 'os']).enum, [...HOST_OS_NAMES]);
    // Conditional rules: tickHz per stated host OS, work only on work-bound phases.
    for (const rule of at(['host']).allOf as Obj[]) {
      const os = ((rule.if as Obj).properties as { os: Obj }).os.const as HostOs;
      assert.deepEqual(((rule.then as Obj).properties as { tickHz: Obj }).tickHz.enum, HOST_TICK_HZ_CHOICES[os], os);
    }
    assert.deepEqual(
      (at(['host']).allOf as Obj[]).map((r) => ((r.if as Obj).properties as { os: Obj }).os.const).sort(),
      HOST_OS_NAMES.filter((os) => HOST_TICK_HZ_CHOICES[os] !== undefined).sort(),
    );
    assert.deepEqual((((defs.phase.allOf as Obj[])[0].if as Obj).properties as { phase: Obj }).phase.enum, [
      ...WORK_PHASES,
    ]);
    assert.deepEqual((props(defs.phase).phase as Obj).enum, [...PHASE_NAMES]);
    assert.deepEqual((at(['expect', 'violations']).items as Obj).enum, [...VIOLATION_CHECKS]);
    for (const w of Object.keys(CONTROL_NAMES) as ControlWord[]) {
      for (const part of ['set', 'clear']) {
        assert.deepEqual(
          ((at(['hypervisor', 'vmcs', w]).properties as Obj)[part] as { items: Obj }).items.enum,
          Object.keys(CONTROL_NAMES[w]),
        );
      }
    }
    for (const t of TUNABLES.filter((x) => !x.readOnly)) {
      const s = at(['hypervisor', 'tunables', t.name]);
      assert.equal(s.minimum, t.min);
      assert.equal(s.maximum, t.max);
    }
    const ops = defs.scriptOp.anyOf as Obj[];
    assert.deepEqual(ops[0].enum, [...SCRIPT_OPS_WITHOUT_ARGS]);
    assert.deepEqual(
      ops.slice(1).map((o) => (o.required as string[])[0]),
      [...SCRIPT_OP_NAMES],
    );
    const reg = (
      props(props(ops.slice(1).find((o) => (o.required as string[])[0] === 'write_apic')!).write_apic as Obj).reg as Obj
    ).anyOf as Obj[];
    assert.deepEqual(reg[0].enum, Object.keys(APIC_REGISTER_BY_NAME));
    const keyPattern = new RegExp((at(['thresholds']).propertyNames as Obj).pattern as string, 'u');
    for (const m of METRIC_NAMES) assert.ok(keyPattern.test(m), m);
    assert.ok(!keyPattern.test('exits_totl'));
  });

  it('accepts every good fixture and example scenario', () => {
    const files = [...yamlFiles(join(FIXTURES, 'good')), ...yamlFiles(join(ROOT, 'scenarios'))];
    assert.ok(files.length >= 5);
    for (const f of files) {
      loadScenarioFile(f);
      assert.deepEqual(validateSchema(schema as Schema, toJson(f)), [], f);
    }
  });

  it('has the yaml-language-server hint in every good fixture', () => {
    for (const f of yamlFiles(join(FIXTURES, 'good'))) {
      assert.match(
        readFileSync(f, 'utf8').split('\n')[0],
        /^# yaml-language-server: \$schema=\.\.\/\.\.\/\.\.\/\.\.\/scenarios\/scenario\.schema\.json$/,
      );
    }
  });

  it('agrees with the threshold parser on the key and expression patterns', () => {
    const keyPattern = new RegExp((at(['thresholds']).propertyNames as Obj).pattern as string, 'u');
    const exprPattern = new RegExp(
      ((at(['thresholds']).additionalProperties as Obj).items as Obj).pattern as string,
      'u',
    );
    const parses = (f: () => unknown): boolean => {
      try {
        f();
        return true;
      } catch {
        return false;
      }
    };
    const keysToTry = [
      'exits_total',
      'exits_total{reason="CR_ACCESS"}',
      ' exits_total { reason = "x" , } ',
      'ratio(exits_total, variant="a", variant="b")',
      'exits_total{reason=CR_ACCESS}',
      'exits_total{',
      'ratio(exits_total, variant="a")',
      'phase_seconds{phase="a\\"b"}',
    ];
    for (const k of keysToTry)
      assert.equal(
        keyPattern.test(k),
        parses(() => parseThresholdKey(k)),
        k,
      );
    for (const e of [
      '< 1',
      '<=1e3',
      'p99 < 0.5',
      'p99.9<1',
      'p(99) < 0.5',
      'p(95)<200',
      'p( 99.9 ) <= 1',
      'avg < 1',
      'med<1',
      'p(99 < 1',
      'medium < 1',
      'p() < 1',
      'mean >= -1',
      'count == 0',
      '<< 1',
      '1',
      'max < 1',
      '< 1 2',
      '!= .5',
    ]) {
      assert.equal(
        exprPattern.test(e),
        parses(() => parseThresholdExpr(e)),
        e,
      );
    }
  });

  it('rejects what the loader rejects for structural mistakes', () => {
    const bad = [
      'unknown-key-top',
      'unknown-key-host',
      'unknown-key-guest',
      'unknown-key-phase',
      'wrong-type-vcpus',
      'wrong-type-x2apic',
      'unknown-os',
      'unknown-policy',
      'script-cr8-too-large',
      'script-vector-too-small',
      'scripted-without-script',
      'scripted-with-count',
      'script-on-modelled',
      'threshold-malformed-expr',
      'matrix-unknown-key',
      'vmcs-unknown-control',
      'bad-duration',
      'bad-size',
      'zero-count',
      'tunable-read-only',
    ];
    for (const b of bad) {
      const errors = validateSchema(schema, toJson(join(FIXTURES, 'bad', `${b}.yaml`)));
      assert.ok(errors.length > 0, `${b}.yaml is valid for the schema`);
    }
  });
});
