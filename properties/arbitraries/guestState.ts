// The state the vCPU makes the access in.

import fc from 'fast-check';
import type { GuestState } from '../../core/target.ts';

export const guestState: fc.Arbitrary<GuestState> = fc.oneof(
  { weight: 4, arbitrary: fc.constant<GuestState>('el1h') },
  { weight: 2, arbitrary: fc.constantFrom<GuestState>('el1t', 'el0') },
  { weight: 1, arbitrary: fc.constantFrom<GuestState>('a32-lpae', 'a32-short') },
);
