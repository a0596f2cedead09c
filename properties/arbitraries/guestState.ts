// The state the vCPU makes the access in.

import fc from 'fast-check';
import { AARCH32_STATES, AARCH64_STATES, type GuestState } from '../../core/target.ts';

/** Any AArch64 state, uniformly. */
export const aarch64State: fc.Arbitrary<GuestState> = fc.constantFrom(...AARCH64_STATES);

/** Any AArch32 state, uniformly. */
export const aarch32State: fc.Arbitrary<GuestState> = fc.constantFrom(...AARCH32_STATES);

/** Any state: EL1h most often, then the other AArch64 states, then the AArch32 ones. */
export const guestState: fc.Arbitrary<GuestState> = fc.oneof(
  { weight: 4, arbitrary: fc.constant<GuestState>('el1h') },
  { weight: 2, arbitrary: fc.constantFrom<GuestState>('el1t', 'el0') },
  { weight: 1, arbitrary: aarch32State },
);
