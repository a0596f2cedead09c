// mte (seed 003): the kernel rules per profile, pinned on the cases the thread and the commits name.
import { describe, expect, it } from 'vitest';
import type { MteCase } from '../core/cases.ts';
import { MEM_TYPES, mte, stage2DenyTags, vmmNextStep } from '../oracles/mte.ts';
import { getProfile, type Profile } from '../oracles/profiles.ts';
import { runProperty } from '../core/runner.ts';
import { mteDesignProperties } from '../properties/mte.ts';
import { simulatorTarget } from '../adapters/simulator/index.ts';
import { twinKnobs } from '../cli/twins.ts';

const P = (n: string): Profile => {
  const p = getProfile(n);
  if (!p) throw new Error(n);
  return p;
};
const base: MteCase = {
  host: { parange: 2, granule: 4, lpa2: false, kernelPaBits: 48, vaBits: 39, mode: 'vhe' },
  hostMte: true,
  mtePerm: false,
  cap: 'before-vcpu',
  backing: { kind: 'anon', shared: false },
  remap: null,
  access: 'load',
};

describe('mte oracle', () => {
  it('6.1 refuses VM_SHARED; 6.2+ refuses what lacks VM_MTE_ALLOWED', () => {
    const shared = { ...base, backing: { kind: 'memfd', shared: true } } as const;
    const ramfs = { ...base, backing: { kind: 'ramfs', shared: false } } as const;
    expect(mte(shared, P('v6.1')).memslot).toBe('EINVAL');
    expect(mte(shared, P('v6.12')).memslot).toBe('ok');
    expect(mte(ramfs, P('v6.1')).memslot).toBe('ok');
    expect(mte(ramfs, P('v6.12')).memslot).toBe('EINVAL');
  });
  it('hugetlbfs gets VM_MTE_ALLOWED in 6.13 (25c17c4b55de)', () => {
    const h = { ...base, backing: { kind: 'hugetlb', shared: false } } as const;
    expect(mte(h, P('v6.12')).memslot).toBe('EINVAL');
    expect(mte(h, P('mainline')).memslot).toBe('ok');
  });
  it('fault time: a refused VMA put under the slot is EFAULT, a Device one is not checked', () => {
    expect(mte({ ...base, remap: { kind: 'ramfs', shared: true } }, P('mainline')).run).toEqual({ kind: 'run-errno', errno: 'EFAULT' });
    expect(mte({ ...base, remap: { kind: 'pfnmap', shared: true } }, P('mainline')).run).toEqual({ kind: 'completed' });
  });
  it('KVM_CAP_ARM_MTE: EINVAL after a vCPU, with flags, without MTE, before 5.14', () => {
    expect(mte({ ...base, cap: 'after-vcpu' }, P('mainline')).enable).toEqual(['EINVAL']);
    expect(mte({ ...base, cap: 'bad-flags' }, P('mainline')).enable).toEqual(['EINVAL']);
    expect(mte({ ...base, hostMte: false }, P('mainline')).enable).toEqual(['EINVAL']);
    expect(mte({ ...base, cap: 'twice' }, P('mainline')).enable).toEqual(['ok', 'ok']);
    expect(mte(base, P('v5.12')).enable).toEqual(['EINVAL']);
    // ea7fc1bb1cd1 is in v5.14 (applied after v5.13's release)
    expect(mte(base, P('v5.14')).enable).toEqual(['ok']);
  });
  it('seed 003: with FEAT_MTE_PERM a ramfs slot is taken and a tag access exits', () => {
    const c = { ...base, mtePerm: true, backing: { kind: 'ramfs', shared: false }, access: 'tag-load' } as const;
    expect(mte(c, P('seed-003-notagaccess'))).toEqual({
      enable: ['ok'],
      memslot: 'ok',
      run: { kind: 'notag-access', gpa: 0x400000n, size: 0x1000n },
    });
    expect(mte(c, P('mainline')).memslot).toBe('EINVAL');
  });
});

describe("mte oracle: the design checks' helpers", () => {
  it('a failed enable leaves MTE off: the slot is then taken whatever backs it', () => {
    const ramfs = { ...base, backing: { kind: 'ramfs', shared: true } } as const;
    expect(mte({ ...ramfs, cap: 'bad-flags' }, P('mainline'))).toEqual({ enable: ['EINVAL'], memslot: 'ok', run: { kind: 'completed' } });
    expect(mte({ ...ramfs, cap: 'after-vcpu' }, P('mainline'))).toEqual({ enable: ['EINVAL'], memslot: 'ok', run: { kind: 'completed' } });
    expect(mte({ ...ramfs, cap: 'none' }, P('mainline'))).toEqual({ enable: [], memslot: 'ok', run: { kind: 'completed' } });
    expect(mte({ ...ramfs, cap: 'twice' }, P('mainline'))).toEqual({ enable: ['ok', 'ok'], memslot: 'EINVAL', run: null });
    // /dev/mem is VM_SHARED whatever the VMM asked for: 6.1 refuses it
    expect(mte({ ...base, backing: { kind: 'pfnmap', shared: false } }, P('v6.1')).memslot).toBe('EINVAL');
  });
  it("the proposal's stage-2 attribute: Normal loses tag access, Device and Normal-NC become Normal with tags (mainline never asks)", () => {
    expect(MEM_TYPES).toEqual(['normal', 'normal-nc', 'device']);
    expect(stage2DenyTags('normal', P('seed-003-notagaccess'))).toEqual({ type: 'normal', tags: 'denied' });
    expect(stage2DenyTags('device', P('seed-003-notagaccess'))).toEqual({ type: 'normal', tags: 'allowed' });
    expect(stage2DenyTags('normal-nc', P('seed-003-notagaccess'))).toEqual({ type: 'normal', tags: 'allowed' });
    for (const t of MEM_TYPES) expect(stage2DenyTags(t, P('mainline'))).toBe('not-used');
  });
  it("every documented outcome tells the VMM what to do; the proposal's exit does not", () => {
    expect(vmmNextStep({ enable: ['ok'], memslot: 'EINVAL', run: null })).toMatch(/anonymous, memfd or tmpfs.*api\.rst/);
    expect(vmmNextStep({ enable: ['ok'], memslot: 'ok', run: { kind: 'run-errno', errno: 'EFAULT' } })).toMatch(/restore.*api\.rst/);
    expect(vmmNextStep({ enable: ['ok'], memslot: 'ok', run: { kind: 'notag-access', gpa: 0x400000n, size: 0x1000n } })).toBeNull();
    expect(vmmNextStep({ enable: ['ok'], memslot: 'ok', run: { kind: 'completed' } })).toBe('nothing to do');
  });
});

describe('mte design properties (seed 003)', () => {
  it('the proposal breaks every objection (expected findings), mainline none', async () => {
    const target = simulatorTarget();
    const info = await target.open();
    for (const p of mteDesignProperties) {
      const r = await runProperty(p, { target, info, profile: P('mainline') }, { runs: 200, seed: 1, strict: false });
      expect(r.verdict, p.name).toBe('pass');
      expect(r.finding === 'expected', p.name).toBe(p.name.startsWith('seed-003'));
    }
  });
  it('the simulator with the proposal knob conforms to the proposal profile', async () => {
    const { mteBackingProperties } = await import('../properties/mte.ts');
    const target = simulatorTarget({ knobs: twinKnobs(P('seed-003-notagaccess')) });
    const info = await target.open();
    for (const p of mteBackingProperties) {
      const r = await runProperty(p, { target, info, profile: P('seed-003-notagaccess') }, { runs: 100, seed: 3, strict: false });
      expect(r.verdict, `${p.name} ${JSON.stringify(r.diff)}`).toBe('pass');
    }
  });
  it('the simulator with 6.1 knobs conforms to v6.1', async () => {
    const { mteBackingProperties } = await import('../properties/mte.ts');
    const target = simulatorTarget({ knobs: twinKnobs(P('v6.1')) });
    const info = await target.open();
    for (const p of mteBackingProperties) {
      const r = await runProperty(p, { target, info, profile: P('v6.1') }, { runs: 100, seed: 5, strict: false });
      expect(r.verdict, `${p.name} ${JSON.stringify(r.diff)}`).toBe('pass');
    }
  });
});
