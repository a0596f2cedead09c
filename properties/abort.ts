// abort (seed 004): what a guest gets when it touches an address, compared
// bit for bit: completion, MMIO exit fields, the no-syndrome exit, injected
// aborts (vector, ESR_EL1, FAR_EL1), in-guest stage-1 faults, hangs.

import fc from 'fast-check';
import { observeAccess, observeReuse, observeReuseFresh } from './observe/access.ts';
import { conformance, type GenContext } from '../core/property.ts';
import type { Capability, GuestState } from '../core/target.ts';
import { accessOutcome } from '../oracles/abort.ts';
import { accessCase, type AccessCaseOptions } from './arbitraries/accessCase.ts';
import { aarch32State, aarch64State } from './arbitraries/guestState.ts';
import { reuseCase } from './arbitraries/reuseCase.ts';

function accessProperty(name: string, description: string, opts: AccessCaseOptions, needs: readonly Capability[] = []) {
  return conformance('access', {
    family: 'abort',
    name,
    description,
    needs,
    arbitrary: (g: GenContext) => accessCase(g, opts),
    expect: (c, o) => accessOutcome(c, o.profile, { strict: o.strict }),
    observe: observeAccess,
    hostOf: (c) => c.host,
  });
}

/**
 * VM reuse: a target may run access cases on a VM an earlier case gave back, to be fast; this is the
 * property that lets it. The probe on the reused VM must observe exactly what it observes on a fresh
 * one (and must have been on a reused VM). The oracle predicts the same for both.
 */
const reuseEquivalence = conformance('reuse', {
  family: 'abort',
  name: 'reuse-equivalence',
  description: 'a case on a VM that earlier cases used and gave back observes exactly what it observes on a fresh VM',
  arbitrary: (g: GenContext) => reuseCase(g),
  expect: (c, o) => {
    const probe = accessOutcome(c.probe, o.profile, { strict: o.strict });
    return { probe, onReusedVm: probe.vm === 'ok' };
  },
  observe: observeReuse,
  expectOn: observeReuseFresh,
  hostOf: (c) => c.probe.host,
});

export const abortProperties = [
  accessProperty('routing', 'every address, every AArch64 state: the outcome class and all its fields', {
    states: fc.constantFrom<GuestState>('el1h', 'el1h', 'el1t', 'el0'), // EL1h twice: the common state, drawn half the time
  }),
  accessProperty('between-ipa-and-limit', 'N <= ipa < L: a synchronous external abort, ESR_EL1 and FAR_EL1 exact (85ea6b1ec915)', {
    region: 'between',
    states: aarch64State,
  }),
  accessProperty('beyond-limit', 'L <= ipa < P: an address size fault at level 0 (85ea6b1ec915)', {
    region: 'beyond-limit',
    states: aarch64State,
  }),
  accessProperty('beyond-parange', 'ipa >= P: the CPU raises a stage-1 address size fault itself (MMU off); KVM never sees it', {
    region: 'beyond-parange',
    states: aarch64State,
  }),
  accessProperty(
    'in-range',
    'ipa < N: completion in a slot, MMIO exit (exact phys_addr, len, is_write, data) outside, read-only slots, no-syndrome exits',
    { region: 'in-range', states: aarch64State },
  ),
  accessProperty('aarch32', 'AArch32 EL1 with and without LPAE: DFSR/IFSR and DFAR/IFAR as KVM injects them', { states: aarch32State }, [
    'aarch32',
  ]),
  reuseEquivalence,
];
