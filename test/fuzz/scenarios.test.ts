/**
 * Hostile and careless input for the YAML loaders (src/input, src/scenario, src/validation): the
 * shipped scenarios, workload profiles and validation cases mutated at the YAML level
 * (test/fuzz/mutate.ts yamlMutations: a key renamed, a value of another type or out of range, a
 * list for a map, a key twice, an anchor and alias, a merge key, a tag, a very long string) and at
 * the line level. A loader either accepts the document or throws a ScenarioError whose every
 * diagnostic has a line and column inside the document.
 */
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { REPO_ROOT } from '../../src/model/data.js';
import { ScenarioError } from '../../src/input/diagnostics.js';
import { parseScenario } from '../../src/scenario/load.js';
import { parseWorkloadProfile } from '../../src/scenario/workload.js';
import { parseValidationCase } from '../../src/validation/load.js';
import { anyText, yamlMutations } from './mutate.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 25);
const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed);

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? yamlFiles(join(dir, e.name)) : e.name.endsWith('.yaml') ? [join(dir, e.name)] : [],
  );
}

/** `load(text)` accepts, or refuses with diagnostics inside the text (or inside a file it reads). */
function check(text: string, file: string, load: (t: string) => unknown): void {
  try {
    load(text);
  } catch (e) {
    if (!(e instanceof ScenarioError)) throw new Error(`threw ${(e as Error)?.stack ?? String(e)}`, { cause: e });
    assert.ok(e.diagnostics.length > 0, e.message);
    for (const d of e.diagnostics) {
      const lines = (d.file === file ? text : readFileSync(d.file, 'utf8')).split('\n'); // yaml's lines (src/input/yaml.ts parseYaml)
      const width = (lines[d.line - 1] ?? '').length + 1;
      assert.ok(
        d.line >= 1 && d.line <= lines.length && d.column >= 1 && d.column <= width,
        `${d.line}:${d.column} outside ${lines.length} lines (that line ${width - 1} wide): ${e.message}`,
      );
    }
  }
}

const SCENARIOS = yamlFiles(join(REPO_ROOT, 'scenarios'));
const PROFILES = yamlFiles(join(REPO_ROOT, 'data/workloads'));
const CASES = yamlFiles(join(REPO_ROOT, 'data/validation')).slice(0, 6);

const KINDS = [
  { what: 'scenario', files: SCENARIOS, load: (f: string) => (t: string) => parseScenario(t, f) },
  { what: 'workload profile', files: PROFILES, load: (f: string) => (t: string) => parseWorkloadProfile(t, f) },
  { what: 'validation case', files: CASES, load: (f: string) => (t: string) => parseValidationCase(t, f) },
];

for (const kind of KINDS)
  describe(`${kind.what} loader under YAML mutations (fast-check)`, () => {
    for (const file of kind.files) {
      const text = readFileSync(file, 'utf8');
      it(relative(REPO_ROOT, file), () => {
        fc.assert(
          fc.property(yamlMutations(text), (m) => check(m.text, file, kind.load(file))),
          { numRuns: RUNS, seed: SEED },
        );
      });
    }
    it('arbitrary text', () => {
      const file = kind.files[0];
      fc.assert(
        fc.property(anyText, (t) => check(t, file, kind.load(file))),
        { numRuns: RUNS * 2, seed: SEED },
      );
    });
  });
