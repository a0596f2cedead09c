// Every profile against a simulator of that kernel: the oracle's rules for an
// old kernel (or a proposal) and the simulated kernel code with that kernel's
// knobs were written independently; each must agree with the other on every
// property. This is what checks the older branches of both (the mainline run
// only reaches mainline's). The simulated kernels (adapters/simulator/kernels.ts,
// paired with profiles in cli/twins.ts) are taken from docs/kernel/, not from the
// oracle's timeline, so the timeline is checked too.

import { describe, expect, it } from 'vitest';
import { simulatorTarget } from '../adapters/simulator/index.ts';
import { twinKnobs } from '../cli/twins.ts';
import { propertyId } from '../core/property.ts';
import { runProperty } from '../core/runner.ts';
import { getProfile, profileNames, type Profile } from '../oracles/profiles.ts';
import { ALL_PROPERTIES } from '../properties/index.ts';

const RUNS = Number(process.env['S2C_KERNEL_RUNS'] ?? 100);
const SEED = Number(process.env['S2C_SEED'] ?? 20261122);
const FAMILIES = ['vm-create', 'memslot', 'encoding', 'abort', 'layout', 'mte'];

/** Stable releases on both sides of each backport the timeline names. */
const STABLE_PROFILES = ['v5.4.105', 'v5.4.106', 'v5.10.23', 'v5.10.24', 'v5.10.67', 'v5.10.68', 'v5.10.223', 'v6.8.4', 'v6.8.5'];

const props = ALL_PROPERTIES.filter((p) => p.kind === 'conformance' && FAMILIES.includes(p.family));

describe(`every profile conforms on a simulator of that kernel (${RUNS} runs, seed ${SEED})`, () => {
  for (const name of [...profileNames(), ...STABLE_PROFILES]) {
    const profile = getProfile(name) as Profile;
    const knobs = twinKnobs(profile);
    if (!knobs) {
      it.todo(`${name}: no simulated kernel for this profile in cli/twins.ts`);
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
