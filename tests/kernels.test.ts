// Every profile against a simulator of that kernel: the oracle's rules for an
// old kernel (or a proposal) and the simulated kernel code with that kernel's
// knobs were written independently; each must agree with the other on every
// property. This is what checks the older branches of both (the mainline run
// only reaches mainline's). The simulated kernels below are taken from
// docs/kernel/, not from the oracle's timeline, so the timeline is checked too.

import { describe, expect, it } from 'vitest';
import { simulatorTarget } from '../adapters/simulator/index.ts';
import type { SimKnobs } from '../adapters/simulator/knobs.ts';
import { propertyId } from '../core/property.ts';
import { runProperty } from '../core/runner.ts';
import { getProfile, profileNames, type Profile } from '../oracles/profiles.ts';
import { ALL_PROPERTIES } from '../properties/index.ts';

const RUNS = Number(process.env['S2C_KERNEL_RUNS'] ?? 100);
const SEED = Number(process.env['S2C_SEED'] ?? 20261122);
const FAMILIES = ['vm-create', 'memslot', 'encoding', 'abort', 'layout', 'mte'];

/**
 * The simulated kernels, from docs/kernel/ (not from the oracle's timeline):
 * each entry is what changed in the simulated kernel code at that version.
 */
const KERNEL_CHANGES: readonly (readonly [readonly [number, number], Partial<SimKnobs>])[] = [
  // 233a7cb23531: clamps to PHYS_MASK_SHIFT and stage-1 levels, `parange & 7`; type 0 unchecked;
  // the memslot bound off by one; 512 user memslots; no out-of-range check. The 52-bit VA layout
  // of the time: a linear region of half the VA space, the ID map at VA_BITS, EL2 VA bits from
  // the ID map. No KVM_CAP_ARM_MTE; hugetlbfs mappings without VM_MTE_ALLOWED.
  [[4, 20], {
    ipaLimitClamp: 'stage1-levels', parangeRead: 'and-7', defaultIpaBelowLimit: 'accept', protectedForcesLimit: false,
    memslotBoundCompare: 'ge', userMemSlots: 512, outOfRangeCheck: 'none',
    linearRegion52: 'half', linearCap51: 'never', idmapT0sz: 'va-bits', hypVaBits: 'idmap-t0sz',
    mteCap: false, mteVmaCheck: 'vm-shared', hugetlbfsMteAllowed: false,
  }],
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

function kernelAt(v: readonly [number, number]): Partial<SimKnobs> {
  let k: Partial<SimKnobs> = {};
  for (const [at, change] of KERNEL_CHANGES) if (at[0] < v[0] || (at[0] === v[0] && at[1] <= v[1])) k = { ...k, ...change };
  return k;
}

/** Proposals: the kernel they were posted against plus what they change (in these families). */
const PROPOSALS: Readonly<Record<string, Partial<SimKnobs>>> = {
  'seed-000-v1': { ...kernelAt([5, 12]), defaultIpaBelowLimit: 'cap' },
  'seed-004-v1': { ...kernelAt([5, 18]), outOfRangeCheck: 'asf-beyond-ipa' },
  // seed 001 v1: EL2 laid out in a low 2^48 window, TCR_EL2 programmed for the whole VA space
  'seed-001-v1': { ...kernelAt([5, 12]), hypLayout: 'low-window-48', hypVaBits: 'max-idmap-vabits' },
  // seed 003: a refused VMA mapped with the NoTagAccess attribute when the host has FEAT_MTE_PERM
  'seed-003-notagaccess': { ...kernelAt([6, 18]), mteNoTagAccess: 'memattr' },
};

function kernelOf(p: Profile): Partial<SimKnobs> | undefined {
  return PROPOSALS[p.name] ?? (p.version ? kernelAt(p.version) : undefined);
}

const props = ALL_PROPERTIES.filter((p) => p.kind === 'conformance' && FAMILIES.includes(p.family));

describe(`every profile conforms on a simulator of that kernel (${RUNS} runs, seed ${SEED})`, () => {
  for (const name of profileNames()) {
    const profile = getProfile(name) as Profile;
    const knobs = kernelOf(profile);
    if (!knobs) {
      it.todo(`${name}: no simulated kernel for this profile in tests/kernels.test.ts`);
      continue;
    }
    it(name, async () => {
      const target = simulatorTarget({ knobs, label: `sim(${name})` });
      const info = await target.open();
      for (const p of props) {
        const r = await runProperty(p, { target, info, profile }, { runs: RUNS, seed: SEED, strict: false });
        expect(r.verdict, `${name}: ${propertyId(p)}: ${JSON.stringify(r.counterexample)} ${JSON.stringify(r.diff)}`).toBe('pass');
      }
    });
  }

});
