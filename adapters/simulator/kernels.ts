// Simulated kernels by release: the knobs (knobs.ts) of the simulated kernel code as each release
// has it, from docs/kernel/ and the stable trees, not from the oracle's timeline, so that a profile
// checked against its simulated kernel checks the timeline too (tests/kernels.test.ts) and a real
// kernel's disagreement can be replayed on its simulated twin (s2conform crosscheck).

import type { SimKnobs } from './knobs.ts';

/**
 * The simulated kernels, from docs/kernel/ (not from the oracle's timeline):
 * each entry is what changed in the simulated kernel code at that version.
 */
const KERNEL_CHANGES: readonly (readonly [readonly [number, number], Partial<SimKnobs>])[] = [
  // 233a7cb23531: clamps to PHYS_MASK_SHIFT and stage-1 levels, `parange & 7`; type 0 unchecked;
  // the memslot bound off by one; 512 user memslots; no out-of-range check. The 52-bit VA layout
  // of the time: a linear region of half the VA space, the ID map at VA_BITS, EL2 VA bits from
  // the ID map. No KVM_CAP_ARM_MTE; hugetlbfs mappings without VM_MTE_ALLOWED.
  [
    [4, 20],
    {
      ipaLimitClamp: 'stage1-levels',
      parangeRead: 'and-7',
      defaultIpaBelowLimit: 'accept',
      protectedForcesLimit: false,
      memslotBoundCompare: 'ge',
      userMemSlots: 512,
      outOfRangeCheck: 'none',
      linearRegion52: 'half',
      linearCap51: 'never',
      idmapT0sz: 'va-bits',
      hypVaBits: 'idmap-t0sz',
      mteCap: false,
      mteVmaCheck: 'vm-shared',
      hugetlbfsMteAllowed: false,
    },
  ],
  [[5, 10], { ipaLimitClamp: 'none', parangeRead: 'unsigned-field' }], // c9b69a0cf0b4
  [[5, 11], { linearRegion52: 'extended' }], // f4693c2716b3
  [[5, 12], { defaultIpaBelowLimit: 'reject', memslotBoundCompare: 'gt', userMemSlots: 32767 }], // 7d717558dd5e, 262b003d059c, 4fc096a99e01
  [[5, 12], { idmapT0sz: 'va-bits-min' }], // 7ba8f2b2d652
  [[5, 14], { mteCap: true }], // ea7fc1bb1cd1: KVM_CAP_ARM_MTE, VM_SHARED refused
  [[5, 15], { ipaLimitClamp: 'cap48' }], // 5e5df9571c31
  [[5, 15], { linearCap51: 'nvhe-on-lva' }], // 88053ec8cb1b
  [[5, 18], { outOfRangeCheck: 'split' }], // 85ea6b1ec915
  [[6, 2], { protectedForcesLimit: true }], // 60dfe093ec13 pKVM stage 2 at EL2
  [[6, 2], { hypVaBits: 'max-idmap-vabits' }], // 579d7ebe90a3
  [[6, 2], { mteVmaCheck: 'not-mte-allowed' }], // d89585fbb308, c911f0d46879
  [[6, 8], { ipaLimitClamp: 'cap48-unless-lpa2', outOfRangeCheck: 'split-wrong-class' }], // d782ac5b2cee, 11e5ea5242e3
  [[6, 9], { outOfRangeCheck: 'split' }], // f5fe0adeed60
  [[6, 13], { hugetlbfsMteAllowed: true }], // 25c17c4b55de
];

/**
 * Stable releases of the simulated kernel code: the changes a stable series took before the release
 * they landed in, from the stable trees (docs/kernel/stable-backports.md), kept apart from the
 * oracle's own list so the two are checked against each other.
 */
const STABLE_BACKPORTS: readonly (readonly [readonly [number, number], number, Partial<SimKnobs>])[] = [
  [[5, 4], 106, { defaultIpaBelowLimit: 'reject', memslotBoundCompare: 'gt' }], // 7d717558dd5e, 262b003d059c
  [[5, 10], 24, { defaultIpaBelowLimit: 'reject', memslotBoundCompare: 'gt' }], // 7d717558dd5e, 262b003d059c
  [[5, 10], 68, { ipaLimitClamp: 'cap48' }], // 5e5df9571c31
  [[5, 11], 7, { defaultIpaBelowLimit: 'reject', memslotBoundCompare: 'gt' }],
  [[5, 14], 7, { ipaLimitClamp: 'cap48' }],
  [[6, 8], 5, { outOfRangeCheck: 'split' }], // f5fe0adeed60
];

/** The simulated kernel of a release: its series' code, plus what its stable sublevel carries. */
export function simulatedKernel(v: readonly [number, number], sublevel?: number): Partial<SimKnobs> {
  let k: Partial<SimKnobs> = {};
  for (const [at, change] of KERNEL_CHANGES) if (at[0] < v[0] || (at[0] === v[0] && at[1] <= v[1])) k = { ...k, ...change };
  if (sublevel !== undefined)
    for (const [series, from, change] of STABLE_BACKPORTS)
      if (series[0] === v[0] && series[1] === v[1] && sublevel >= from) k = { ...k, ...change };
  return k;
}

// The proposals' simulated kernels, and which profile each simulated kernel is checked against: cli/twins.ts.
