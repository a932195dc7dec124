/**
 * The limits and defaults of a scenario (docs/SCENARIOS.md lists them for
 * the reader of a scenario file).
 */

/** A scenario file (or posted body) larger than this is refused before parsing. */
export const MAX_FILE_BYTES = 1024 * 1024;
/**
 * Characters of a scenario's `name`: every run record, the service's list of runs and its pages
 * repeat it (a 1 MB name made GET /api/runs 10 MB for ten runs).
 */
export const MAX_NAME_LENGTH = 128;
/** What a scenario's `name` can be: the loader checks it, and the service's run filter refuses what no name can be. */
export const SCENARIO_NAME_RE = new RegExp(`^[a-z0-9._-]{1,${MAX_NAME_LENGTH}}$`);
/** yaml's maxAliasCount: alias expansions allowed before the document counts as an alias bomb. */
export const MAX_ALIAS_COUNT = 1000;
/** Guests of a scenario: hosts x guests per host. */
export const MAX_TOTAL_GUESTS = 100_000;
export const MAX_VCPUS = 64;
export const MAX_HOST_COUNT = 10_000;
/** Any simulated duration (duration, maxDuration, a phase's duration or work): 30 days. */
export const MAX_DURATION_NS = 30 * 86_400 * 1e9;
export const MAX_MEMORY_BYTES = 16 * 1024 ** 4;
export const DEFAULT_DURATION_NS = 60e9;
/** The cap of an `until-complete` run without maxDuration. */
export const DEFAULT_MAX_DURATION_NS = 4 * 3600e9;
export const DEFAULT_MEMORY_BYTES = 2 * 1024 ** 3;
/** `cardinalityBudget`, the /metrics series a scenario may create (src/metrics/cardinality.ts): default and cap. */
export const DEFAULT_CARDINALITY_BUDGET = 10_000;
export const MAX_CARDINALITY_BUDGET = 10_000_000;
