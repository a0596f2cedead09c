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

describe('stable releases: --profile auto folds in the backports a release carries', () => {
  it('5.10.x: which backports, from which release', async () => {
    const { backportsAt, profileForRelease, getProfile } = await import('../oracles/profiles.ts');
    const ids = (v: number) =>
      backportsAt([5, 10], v).map((b) => `${b.change.cite.match(/\b[0-9a-f]{12}\b/)?.[0]}@5.10.${b.backport.from}`);
    expect(ids(23)).toEqual([]);
    expect(ids(24)).toEqual(['7d717558dd5e@5.10.24', '262b003d059c@5.10.24']);
    expect(ids(223)).toEqual(['7d717558dd5e@5.10.24', '262b003d059c@5.10.24', '5e5df9571c31@5.10.68']);
    const at = (s: string) => profileForRelease('5.10.0-32-cloud-arm64', s);
    expect(at('5.10.23')).toMatchObject({
      name: 'v5.10.23',
      memslotBound: 'inclusive-bug',
      defaultIpa: 'accept-misprogrammed',
      ipaLimit: 'unclamped',
    });
    expect(at('5.10.67')).toMatchObject({ memslotBound: 'exclusive', defaultIpa: 'reject', ipaLimit: 'unclamped' });
    // 5.10.223: the bullseye kernel; 4fc096a99e01 (SHRT_MAX memslots) and 85ea6b1ec915 were never backported
    expect(at('5.10.223')).toMatchObject({
      name: 'v5.10.223',
      memslotBound: 'exclusive',
      defaultIpa: 'reject',
      ipaLimit: 'cap48-4k16k',
      memslotIds: 512,
      outOfRange: 'mmio',
    });
    expect(at('5.10.223')?.source).toMatch(/5e5df9571c31 \(5\.10\.68\)/);
    // without the sublevel, the series as it left mainline
    expect(profileForRelease('5.10.0-32-cloud-arm64')).toMatchObject({ name: 'v5.10', memslotBound: 'inclusive-bug' });
    // a stable string of another series is not believed
    expect(profileForRelease('5.10.0-32-cloud-arm64', '6.1.1')?.name).toBe('v5.10');
    const { name: _a, source: _b, ...plus } = getProfile('v5.10+stable') as Profile;
    const { name: _c, source: _d, ...s223 } = at('5.10.223') as Profile;
    expect(plus).toEqual(s223);
    expect(getProfile('v6.8.5')?.outOfRange).toBe('split');
    expect(getProfile('v6.8.4')?.outOfRange).toBe('split-wrong-class');
    expect(getProfile('v4.19.1')).toBeUndefined();
    expect(getProfile('v6.13')?.mteHugetlb).toBe(true);
  });

  it("the stable release comes from /proc/version, not gcc's version in it", async () => {
    const { stableRelease } = await import('../adapters/kvm/index.ts');
    const pv =
      'Linux version 5.10.0-32-cloud-arm64 (debian-kernel@lists.debian.org) (gcc-10 (Debian 10.2.1-6) 10.2.1 20210110, GNU ld (GNU Binutils for Debian) 2.35.2) #1 SMP Debian 5.10.223-1 (2024-08-10)';
    expect(stableRelease({ release: '5.10.0-32-cloud-arm64', procVersion: pv })).toBe('5.10.223');
    expect(
      stableRelease({
        release: '6.12.95+deb12-cloud-arm64',
        procVersion: 'Linux version 6.12.95+deb12-cloud-arm64 (x) #1 SMP PREEMPT_DYNAMIC Debian 6.12.95-1~bpo12+1 (2025-01-01)',
      }),
    ).toBe('6.12.95');
    expect(stableRelease({ release: '5.10.0-32-cloud-arm64', procVersion: undefined })).toBeUndefined();
    expect(stableRelease({ release: '7.3.0-rc7-dirty', procVersion: 'Linux version 7.3.0-rc7-dirty (me@box) #3 SMP' })).toBe('7.3.0');
  });
});
