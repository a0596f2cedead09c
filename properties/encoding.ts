// encoding (seed 002): the requirements raised in the thread, checked against
// every design. Where a design is expected to break one, its counterexample
// is an expected finding. The landed encoding is also round-tripped through
// the target: encode N, create the VM, observe its IPA size.

import fc from 'fast-check';
import { observeVmCreate } from './observe/vmCreate.ts';
import type { VmCreateCase } from '../core/cases.ts';
import { conformance, type DesignProperty } from '../core/property.ts';
import { DESIGNS, landed, type Design } from '../oracles/encoding.ts';
import { vmCreate } from '../oracles/vmCreate.ts';
import { hostArb } from './arbitraries/host.ts';
import { ipaBitsFor } from './arbitraries/ipaBits.ts';

interface Requirement {
  readonly name: string;
  readonly description: string;
  readonly arbitrary: fc.Arbitrary<number>;
  check(d: Design, bits: number): string | null;
}

const REQUIREMENTS: readonly Requirement[] = [
  {
    name: 'zero-is-default',
    description: 'backward compatible: type 0 still means the 40-bit default',
    arbitrary: fc.constant(0),
    check: (d) => (d.decode(d.encode('default') ?? -1n) === 40 && d.decode(0n) === 40 ? null : 'type 0 is not the 40-bit default'),
  },
  {
    name: 'every-size',
    description: 'every IPA size from 32 to 52 bits can be asked for',
    arbitrary: fc.integer({ min: 32, max: 52 }),
    check: (d, bits) => (d.encode({ bits }) === undefined ? `${bits} bits cannot be expressed` : null),
  },
  {
    name: 'future-parange',
    description: 'sizes beyond 52 bits that future PARange values may name (0b0111 is already 56) fit without reusing its bits',
    arbitrary: fc.integer({ min: 53, max: 64 }),
    check: (d, bits) => (d.encode({ bits }) === undefined ? `${bits} bits (a future PARange) cannot be expressed` : null),
  },
  {
    name: 'round-trip',
    description: 'whatever can be encoded decodes to the same size',
    arbitrary: fc.integer({ min: 1, max: 255 }),
    check: (d, bits) => {
      const w = d.encode({ bits });
      if (w === undefined) return null;
      const back = d.decode(w);
      return back === bits ? null : `${bits} bits encodes as 0x${w.toString(16)}, which decodes to ${String(back)}`;
    },
  },
];

/** Which (design, requirement) pairs the thread says fail: the expected findings. */
const EXPECTED_VIOLATIONS = new Set(['ps3-flag/every-size', 'ps3-flag/future-parange', 'half-diff/every-size', 'half-diff/future-parange']);

export const designProperties: DesignProperty<number>[] = DESIGNS.flatMap((d) =>
  REQUIREMENTS.map(
    (r): DesignProperty<number> => ({
      kind: 'design',
      family: 'encoding',
      name: `${d.name}/${r.name}`,
      description: `${d.source}: ${r.description}`,
      violated: EXPECTED_VIOLATIONS.has(`${d.name}/${r.name}`),
      arbitrary: () => r.arbitrary,
      check: (bits) => r.check(d, bits),
    }),
  ),
);

export const landedRoundTripProperty = conformance('vm-create', {
  family: 'encoding',
  name: 'landed/kernel-round-trip',
  description: 'KVM_VM_TYPE_ARM_IPA_SIZE(N) for every N the host allows gives a VM of N bits on the target',
  arbitrary: (g) =>
    hostArb(g).chain((host) => ipaBitsFor(host).map((bits): VmCreateCase => ({ host, type: landed.encode({ bits }) ?? 0n }))),
  expect: (c, o) => vmCreate(c, o.profile),
  observe: observeVmCreate,
  hostOf: (c) => c.host,
});

export const encodingProperties = [landedRoundTripProperty, ...designProperties];
