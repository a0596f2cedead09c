// A whole abort case: host, VM IPA size, backed slots, guest state and access.

import fc from 'fast-check';
import type { AccessCase } from '../../core/cases.ts';
import type { GenContext } from '../../core/property.ts';
import type { GuestState } from '../../core/target.ts';
import { accessArb, type Region } from './access.ts';
import { backedSlots } from './backedSlots.ts';
import { guestState } from './guestState.ts';
import { hostArb } from './host.ts';
import { ipaBitsFor } from './ipaBits.ts';

export interface AccessCaseOptions {
  readonly region?: Region;
  readonly states?: fc.Arbitrary<GuestState>;
}

export function accessCase(g: GenContext, o: AccessCaseOptions = {}): fc.Arbitrary<AccessCase> {
  return hostArb(g)
    .chain((host) => fc.record({ host: fc.constant(host), ipaBits: ipaBitsFor(host), state: o.states ?? guestState }))
    .chain(({ host, ipaBits, state }) =>
      fc.record({
        host: fc.constant(host),
        ipaBits: fc.constant(ipaBits),
        slots: backedSlots(host, ipaBits),
        state: fc.constant(state),
        access: accessArb(host, ipaBits, state, o.region ?? 'any'),
        nisvToUser: fc.boolean(),
      }),
    );
}
