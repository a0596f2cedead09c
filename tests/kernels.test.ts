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
const FAMILIES = ['vm-create', 'memslot', 'encoding', 'abort'];

/**
 * The simulated kernels, from docs/kernel/ (not from the oracle's timeline):
 * each entry is what changed in the simulated kernel code at that version.
 */
const KERNEL_CHANGES: readonly (readonly [readonly [number, number], Partial<SimKnobs>])[] = [
  // 233a7cb23531: clamps to PHYS_MASK_SHIFT and stage-1 levels, `parange & 7`; type 0 unchecked;
  // the memslot bound off by one; 512 user memslots; no out-of-range check
  [[4, 20], { ipaLimitClamp: 'stage1-levels', parangeRead: 'and-7', defaultIpaBelowLimit: 'accept', protectedForcesLimit: false, memslotBoundCompare: 'ge', userMemSlots: 512, outOfRangeCheck: 'none' }],
  [[5, 10], { ipaLimitClamp: 'none', parangeRead: 'unsigned-field' }], // c9b69a0cf0b4
  [[5, 12], { defaultIpaBelowLimit: 'reject', memslotBoundCompare: 'gt', userMemSlots: 32767 }], // 7d717558dd5e, 262b003d059c, SHRT_MAX
  [[5, 15], { ipaLimitClamp: 'cap48' }], // 5e5df9571c31
  [[5, 18], { outOfRangeCheck: 'split' }], // 85ea6b1ec915
  [[6, 2], { protectedForcesLimit: true }], // pKVM stage 2 at EL2
  [[6, 8], { ipaLimitClamp: 'cap48-unless-lpa2', outOfRangeCheck: 'split-wrong-class' }], // d782ac5b2cee, 11e5ea5242e3
  [[6, 9], { outOfRangeCheck: 'split' }], // f5fe0adeed60
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
  'seed-001-v1': kernelAt([5, 12]), // a layout proposal against 5.12: these families as 5.12
  'seed-003-notagaccess': kernelAt([6, 18]), // an MTE proposal: these families as mainline
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
