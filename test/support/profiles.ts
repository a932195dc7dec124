import type { CpuProfile } from '../../src/core/cpu/profile.js';

/**
 * Small synthetic profiles for unit tests of architectural rules, so the rules are tested
 * independently of the shipped data files. Masks follow SDM appendix A.3 Default1 settings.
 */
const PIN_ALLOWED0 = 0x16;
const PROC_ALLOWED0 = 0x0401e172;

/** Desktop-like: TPR shadow and APIC-access virtualization, no APICv (like a Core i7-2620M). */
export const DESKTOP: CpuProfile = {
  id: 'test-desktop',
  model: 'synthetic desktop',
  vendor: 'intel',
  microarchitecture: 'sandy-bridge',
  baseClockMHz: 2700,
  cores: 2,
  threads: 4,
  vmx: {
    trueControls: true,
    pinBased: { allowed0: PIN_ALLOWED0, allowed1: 0x7f },
    procBased: { allowed0: PROC_ALLOWED0, allowed1: 0xfff9fffe },
    procBased2: { allowed0: 0, allowed1: 0xff & ~((1 << 8) | (1 << 9)) },
    exit: { allowed0: 0x36dff, allowed1: 0x7fffff },
  },
  sources: ['test fixture'],
};

/** Server-like: full APICv (APIC-register virtualization, VID, posted interrupts), like an E5-2667 v4. */
export const SERVER: CpuProfile = {
  ...DESKTOP,
  id: 'test-server',
  model: 'synthetic server',
  microarchitecture: 'broadwell',
  vmx: {
    trueControls: true,
    pinBased: { allowed0: PIN_ALLOWED0, allowed1: 0xff },
    procBased: { allowed0: PROC_ALLOWED0, allowed1: 0xfff9fffe },
    procBased2: { allowed0: 0, allowed1: 0x77fff },
    exit: { allowed0: 0x36dff, allowed1: 0x7fffff },
  },
};

/** A CPU without the TPR shadow (pre-Core 2 class), to test policies that cannot shadow. */
export const NO_TPR_SHADOW: CpuProfile = {
  ...DESKTOP,
  id: 'test-noshadow',
  model: 'synthetic no-shadow',
  vmx: {
    trueControls: false,
    pinBased: { allowed0: PIN_ALLOWED0, allowed1: 0x3f },
    procBased: { allowed0: PROC_ALLOWED0, allowed1: 0xfff9fffe & ~(1 << 21) },
    procBased2: { allowed0: 0, allowed1: 0x3 },
    exit: { allowed0: 0x36dff, allowed1: 0x7fffff },
  },
};

export const AMD_NO_AVIC: CpuProfile = {
  id: 'test-amd',
  model: 'synthetic amd',
  vendor: 'amd',
  microarchitecture: 'zen2',
  baseClockMHz: 3600,
  cores: 8,
  threads: 16,
  svm: {
    avic: false,
    x2avic: false,
    nestedPaging: true,
    nripSave: true,
    decodeAssists: true,
    pauseFilter: true,
    pauseFilterThreshold: true,
  },
  sources: ['test fixture'],
};

export const AMD_AVIC: CpuProfile = {
  ...AMD_NO_AVIC,
  id: 'test-amd-avic',
  model: 'synthetic amd avic',
  svm: { ...AMD_NO_AVIC.svm!, avic: true },
};
