/**
 * The smallest valid Intel CPU profile: what the profile tests change one line of to see a file
 * refused or read back.
 */
export const MINIMAL_INTEL = `id: test-cpu
model: Test CPU
vendor: intel
microarchitecture: haswell
baseClockMHz: 3000
cores: 4
threads: 8
vmx:
  trueControls: true
  pinBased:
    allowed0: 0x16
    allowed1: 0x7f
  procBased:
    allowed0: 0x401e172
    allowed1: 0xfff9fffe
  procBased2:
    allowed0: 0x0
    allowed1: 0x4ff
  exit:
    allowed0: 0x36dff
    allowed1: 0x7fffff
sources:
  - "a test"
`;
