import type { HostSimulation } from '../../src/core/engine/host.js';
import { loadModelData } from '../../src/model/data.js';
import { hostGuests, hostSimulations } from '../../src/run/simulate.js';
import { parseScenario } from '../../src/scenario/load.js';
import type { Scenario } from '../../src/scenario/types.js';

/**
 * Host `host` of a scenario's first variant, built as a run builds it (src/run/simulate.ts), before any
 * event: for tests that drive the engine's or the guests' functions directly. `scenario` is YAML text
 * (read as `file`) or a parsed scenario.
 */
export function firstHost(scenario: string | Scenario, file = 'test.yaml', host = 0): HostSimulation {
  const s = typeof scenario === 'string' ? parseScenario(scenario, file) : scenario;
  const variant = s.variants[0];
  const data = loadModelData();
  return hostSimulations(s, variant, data)(host, hostGuests(variant, data, host));
}
