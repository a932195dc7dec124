/**
 * The input tests' one small valid scenario: a file the loader accepts, into which a test puts the
 * byte, tag or character it is about (so that a refusal is the input's, not the scenario's).
 */
export const SMALL_SCENARIO = `name: t
host: { cpu: i7-6700K, cores: 4 }
hypervisor: { policy: kvm }
guests:
  - { os: ubuntu-18.04, vcpus: 2 }
duration: 1s
`;
