// `npm test` runs the very property definitions `s2conform run` runs: here
// against the simulator, under the mainline profile, where all must conform.

import { describe, expect, it } from 'vitest';
import { propertyId } from '../core/property.ts';
import { runProperty } from '../core/runner.ts';
import { simulatorTarget } from '../adapters/simulator/index.ts';
import { getProfile, type Profile } from '../oracles/profiles.ts';
import { ALL_PROPERTIES } from '../properties/index.ts';

const RUNS = Number(process.env['S2C_RUNS'] ?? 300);
const SEED = Number(process.env['S2C_SEED'] ?? 20261122);

describe('every property conforms on the simulator (mainline)', async () => {
  const target = simulatorTarget();
  const info = await target.open();
  const profile = getProfile('mainline') as Profile;
  for (const p of ALL_PROPERTIES) {
    it(propertyId(p), async () => {
      const r = await runProperty(p, { target, info, profile }, { runs: RUNS, seed: SEED, strict: false });
      expect(r.verdict, JSON.stringify(r, null, 1)).toBe('pass');
      if (p.kind === 'design' && p.violated) expect(r.finding).toBe('expected');
      expect(r.runs).toBe(RUNS);
    });
  }
});

describe("--strict: the architecture's syndrome bits, on both sides", async () => {
  const target = simulatorTarget({ strict: true });
  const info = await target.open();
  const profile = getProfile('mainline') as Profile;
  for (const p of ALL_PROPERTIES.filter((x) => x.family === 'abort')) {
    it(propertyId(p), async () => {
      const r = await runProperty(p, { target, info, profile }, { runs: RUNS, seed: SEED, strict: true });
      expect(r.verdict, JSON.stringify(r, null, 1)).toBe('pass');
    });
  }
});
