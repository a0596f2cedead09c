// memslot: sequences of KVM_SET_USER_MEMORY_REGION calls, every errno exact.

import fc from 'fast-check';
import { observeMemslots } from './observe/memslot.ts';
import { conformance } from '../core/property.ts';
import { memslots } from '../oracles/memslot.ts';
import { hostArb } from './arbitraries/host.ts';
import { ipaBitsFor } from './arbitraries/ipaBits.ts';
import { memslotOps } from './arbitraries/memslotOps.ts';

export const memslotSequenceProperty = conformance('memslot', {
  family: 'memslot',
  name: 'sequence',
  description:
    'create/delete/move/flags sequences: each call returns the errno of the first failing check in the kernel order, the IPA bound last',
  arbitrary: (g) =>
    hostArb(g)
      .chain((host) => fc.record({ host: fc.constant(host), ipaBits: ipaBitsFor(host) }))
      .chain(({ host, ipaBits }) =>
        fc.record({
          host: fc.constant(host),
          vmType: fc.constant(BigInt(ipaBits)),
          ops: memslotOps(host, ipaBits),
        }),
      ),
  expect: (c, o) => memslots(c, o.profile),
  observe: observeMemslots,
  hostOf: (c) => c.host,
});

export const memslotProperties = [memslotSequenceProperty];
