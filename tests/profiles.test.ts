// A suite that passes on every kernel has found nothing: each older profile
// (and each proposal) must fail against the mainline simulator, with a shrunk
// counterexample, in the families where its rules differ.

import { describe, expect, it } from 'vitest';
import { simulatorTarget } from '../adapters/simulator/index.ts';
import { propertyId } from '../core/property.ts';
import { runProperty } from '../core/runner.ts';
import { getProfile, profileForRelease, type Profile } from '../oracles/profiles.ts';
import { ALL_PROPERTIES } from '../properties/index.ts';

async function run(profileName: string, id: string) {
  const target = simulatorTarget();
  const info = await target.open();
  const p = ALL_PROPERTIES.find((x) => propertyId(x) === id);
  if (!p) throw new Error(id);
  return runProperty(p, { target, info, profile: getProfile(profileName) as Profile }, { runs: 1000, seed: 1, strict: false });
}

describe('older kernels and proposals deviate from mainline', () => {
  it.each([
    ['pre-5.12', 'vm-create/type-word'],
    ['seed-000-v1', 'vm-create/type-word'],
    ['pre-5.12', 'memslot/sequence'],
    ['v4.20', 'vm-create/ipa-limit'],
    ['v5.15', 'vm-create/ipa-limit'],
    ['pre-5.18', 'abort/between-ipa-and-limit'],
    ['seed-004-v1', 'abort/between-ipa-and-limit'],
    ['v6.8-regression', 'abort/beyond-limit'],
    ['seed-001-v1', 'layout/el2-mappable'],
    ['v6.1', 'layout/boot'],
    ['v5.12', 'layout/boot-log'],
  ])('%s fails %s with a replayable counterexample', async (profile, id) => {
    const r = await run(profile, id);
    expect(r.verdict).toBe('fail');
    expect(r.counterexample).toBeDefined();
    expect(r.diff?.length).toBeGreaterThan(0);
    expect(r.path).toMatch(/^[0-9:]+$/);
  });

  it('pre-5.18: an access between the IPA size and the limit is an MMIO exit in the profile, an abort in mainline', async () => {
    const r = await run('pre-5.18', 'abort/between-ipa-and-limit');
    expect((r.expected as { outcome: { kind: string } }).outcome.kind).toBe('mmio');
    expect((r.actual as { outcome: { kind: string } }).outcome.kind).toBe('exception');
  });
});

describe('--profile auto', () => {
  it('picks the newest profile not newer than the release', () => {
    expect(profileForRelease('6.1.0-28-cloud-arm64')?.name).toBe('v6.1');
    expect(profileForRelease('6.12.12+bpo-cloud-arm64')?.name).toBe('v6.12');
    expect(profileForRelease('6.10.3')?.version).toEqual([6, 10]);
    expect(profileForRelease('7.2.0')?.name).toBe('mainline');
  });
});
