// Every named mutant of the simulator (a historical kernel bug put
// back) is killed by the suite under the mainline profile; each mutant is
// exactly the bug it names (it differs from mainline only where that bug does).

import { describe, expect, it } from 'vitest';
import { checkTargetSpec, targetFromSpec, UsageError } from '../adapters/index.ts';
import { observeAccess } from '../properties/observe/access.ts';
import { observeIpaLimit, observeVmCreate } from '../properties/observe/vmCreate.ts';
import { observeMemslots } from '../properties/observe/memslot.ts';
import { simulatorTarget } from '../adapters/simulator/index.ts';
import { MAINLINE_KNOBS, type SimKnobs } from '../adapters/simulator/knobs.ts';
import { getMutant, MUTANTS, mutantNames, PENDING_MUTANTS } from '../adapters/simulator/mutants.ts';
import type { AccessCase } from '../core/cases.ts';
import type { HostConfig, MemoryRegion } from '../core/target.ts';
import { killMutant } from '../scripts/killMutants.ts';

const RUNS = Number(process.env['S2C_MUTANT_RUNS'] ?? 100);
const SEED = Number(process.env['S2C_SEED'] ?? 20261122);

const sim = (name: string) => simulatorTarget({ knobs: getMutant(name)?.knobs ?? {} });
const mainline = simulatorTarget();

describe('the named mutants', () => {
  it('are unique, each cites an upstream commit and a source, and turns at least one knob away from mainline', () => {
    expect(new Set(mutantNames()).size).toBe(MUTANTS.length);
    expect(MUTANTS.length).toBeGreaterThanOrEqual(10);
    for (const m of MUTANTS) {
      expect(m.name).toMatch(/^[a-z0-9][a-z0-9.-]*$/);
      for (const text of [m.ref, m.bug, m.upstream, m.source]) expect(text.length, m.name).toBeGreaterThan(5);
      const changed = (Object.keys(m.knobs) as (keyof SimKnobs)[]).filter((k) => m.knobs[k] !== MAINLINE_KNOBS[k]);
      expect(changed.length, m.name).toBeGreaterThan(0);
      expect(changed.length, m.name).toBe(Object.keys(m.knobs).length);
    }
    for (const p of PENDING_MUTANTS) {
      expect(getMutant(p.name)).toBeUndefined();
      for (const text of [p.ref, p.bug, p.upstream, p.source, p.family]) expect(text.length, p.name).toBeGreaterThan(2);
    }
  });

  it('cover the commits the issue names', () => {
    const cited = MUTANTS.map((m) => m.upstream).join(' ');
    for (const c of ['7d717558dd5e', '262b003d059c', '85ea6b1ec915', '11e5ea5242e3', 'f5fe0adeed60']) expect(cited).toContain(c);
    expect(getMutant('seed-004-v1-size-fault')?.source).toContain('seed 004');
  });

  it('are targets: --target sim:<mutant>', async () => {
    for (const n of mutantNames()) expect(() => checkTargetSpec(`sim:${n}`)).not.toThrow();
    expect(() => checkTargetSpec('sim:no-such-bug')).toThrow(UsageError);
    expect(() => checkTargetSpec('sim:')).toThrow(/unknown simulator mutant/);
    const t = await targetFromSpec('sim:memslot-bound-off-by-one');
    expect((await t.open()).spec).toBe('sim:memslot-bound-off-by-one');
  });
});

describe(`every mutant is killed by the suite (mainline, ${RUNS} runs, seed ${SEED})`, () => {
  for (const m of MUTANTS) {
    it(m.name, async () => {
      const v = await killMutant(m, { runs: RUNS, seed: SEED, firstOnly: true });
      expect(v.errors, JSON.stringify(v.errors)).toEqual([]);
      expect(v.killer?.verdict, `${m.name} survived`).toBe('fail');
      expect(v.killer?.counterexample).toBeDefined();
      expect(v.killer?.diff?.length).toBeGreaterThan(0);
    });
  }
});

// Each mutant is the bug it names, and nothing else: pinned on hand-picked cases.
const H = (o: Partial<HostConfig> = {}): HostConfig => ({
  parange: 5,
  granule: 4,
  lpa2: false,
  kernelPaBits: 48,
  vaBits: 48,
  mode: 'vhe',
  ...o,
});
const slot = (id: number, gpa: bigint, size = 0x1000n, flags = 0, uaddr = 0x10_0000_0000n): MemoryRegion => ({
  slot: id,
  flags,
  guestPhysAddr: gpa,
  memorySize: size,
  userspaceAddr: uaddr,
});
const access = (o: Partial<AccessCase> & Pick<AccessCase, 'access'>): AccessCase => ({
  host: H({ parange: 6 }),
  ipaBits: 40,
  slots: [],
  state: 'el1h',
  nisvToUser: false,
  ...o,
});
const load = (ipa: bigint) => ({ kind: 'load' as const, size: 8 as const, ipa, data: 0n, syndromeValid: true });

describe('each mutant differs from mainline exactly where its bug does', () => {
  it('default-ipa-accepted: only type 0 on a host below 40 bits', async () => {
    const t = sim('default-ipa-accepted');
    expect(await observeVmCreate({ host: H({ parange: 1 }), type: 0n }, t)).toEqual({
      result: 'created',
      ipaBits: 40,
      firstAccess: 'hang',
    });
    expect(await observeVmCreate({ host: H({ parange: 1 }), type: 40n }, t)).toEqual({ result: 'errno', errno: 'EINVAL' });
    expect(await observeVmCreate({ host: H({ parange: 2 }), type: 0n }, t)).toEqual({
      result: 'created',
      ipaBits: 40,
      firstAccess: 'completed',
    });
  });

  it('memslot-bound-off-by-one: only a slot ending exactly at 2^IPA', async () => {
    const top = 1n << 40n;
    const c = { host: H(), vmType: 40n, ops: [slot(0, top - 0x1000n), slot(1, top - 0x3000n), slot(2, top)] };
    expect(await observeMemslots(c, mainline)).toEqual({ vm: 'ok', results: ['ok', 'ok', 'EFAULT'] });
    expect(await observeMemslots(c, sim('memslot-bound-off-by-one'))).toEqual({ vm: 'ok', results: ['EFAULT', 'ok', 'EFAULT'] });
  });

  it('overlap-after-ipa-bound: EFAULT instead of EEXIST only for an overlapping slot beyond 2^IPA', async () => {
    const top = 1n << 40n;
    const ops = [
      slot(0, top - 0x2000n, 0x2000n),
      slot(1, top - 0x1000n, 0x2000n, 0, 0x20_0000_0000n),
      slot(2, top - 0x2000n, 0x1000n, 0, 0x30_0000_0000n),
    ];
    expect(await observeMemslots({ host: H(), vmType: 40n, ops }, mainline)).toEqual({ vm: 'ok', results: ['ok', 'EEXIST', 'EEXIST'] });
    expect(await observeMemslots({ host: H(), vmType: 40n, ops }, sim('overlap-after-ipa-bound'))).toEqual({
      vm: 'ok',
      results: ['ok', 'EFAULT', 'EEXIST'],
    });
  });

  it('readonly-toggle-accepted, delete-missing-slot-accepted, user-mem-slots-512', async () => {
    const s = slot(3, 0x100000n);
    const ro = { host: H(), vmType: 40n, ops: [s, { ...s, flags: 2 }, { ...s, flags: 3 }, { ...s, flags: 1 }] };
    expect(await observeMemslots(ro, mainline)).toEqual({ vm: 'ok', results: ['ok', 'EINVAL', 'EINVAL', 'ok'] });
    expect(await observeMemslots(ro, sim('readonly-toggle-accepted'))).toEqual({ vm: 'ok', results: ['ok', 'ok', 'ok', 'ok'] });
    const del = { host: H(), vmType: 40n, ops: [{ ...s, memorySize: 0n }, s, { ...s, memorySize: 0n }, { ...s, memorySize: 0n }] };
    expect(await observeMemslots(del, mainline)).toEqual({ vm: 'ok', results: ['EINVAL', 'ok', 'ok', 'EINVAL'] });
    expect(await observeMemslots(del, sim('delete-missing-slot-accepted'))).toEqual({ vm: 'ok', results: ['ok', 'ok', 'ok', 'ok'] });
    const ids = {
      host: H(),
      vmType: 40n,
      ops: [slot(511, 0x100000n), slot(512, 0x200000n), slot(32766, 0x300000n), slot(32767, 0x400000n)],
    };
    expect(await observeMemslots(ids, mainline)).toEqual({ vm: 'ok', results: ['ok', 'ok', 'ok', 'EINVAL'] });
    expect(await observeMemslots(ids, sim('user-mem-slots-512'))).toEqual({ vm: 'ok', results: ['ok', 'EINVAL', 'EINVAL', 'EINVAL'] });
  });

  it('the IPA limit mutants: one host class each', async () => {
    const limit = async (name: string | undefined, h: HostConfig) =>
      (await observeIpaLimit({ host: h }, name ? sim(name) : mainline)).ipaLimit;
    const big = H({ parange: 6 });
    const lpa2 = H({ parange: 6, lpa2: true, kernelPaBits: 52 });
    const k64 = H({ parange: 6, granule: 64, kernelPaBits: 52 });
    const va39 = H({ parange: 4, vaBits: 39 });
    const reserved = H({ parange: 9 });
    expect([
      await limit(undefined, big),
      await limit(undefined, lpa2),
      await limit(undefined, k64),
      await limit(undefined, va39),
      await limit(undefined, reserved),
    ]).toEqual([48, 52, 52, 44, 48]);
    expect(await limit('ipa-limit-no-48-cap', big)).toBe(52);
    expect(await limit('ipa-limit-no-48-cap', k64)).toBe(52);
    expect(await limit('ipa-limit-48-cap-ignores-lpa2', lpa2)).toBe(48);
    expect(await limit('ipa-limit-48-cap-ignores-lpa2', big)).toBe(48);
    expect(await limit('ipa-limit-48-cap-ignores-lpa2', k64)).toBe(52);
    expect(await limit('ipa-limit-v4.20-clamps', va39)).toBe(43);
    expect(await limit('ipa-limit-v4.20-clamps', H({ parange: 6, granule: 64, kernelPaBits: 48, vaBits: 48 }))).toBe(48);
    expect(await limit('parange-and-7', reserved)).toBe(36);
    expect(await limit('parange-and-7', H({ parange: 7 }))).toBe(48);
    expect(await limit('parange-and-7', big)).toBe(48);
  });

  it('pkvm-force-missing and pkvm-force-before-type-check: only in protected mode', async () => {
    const prot = H({ parange: 4, mode: 'protected' });
    expect(await observeVmCreate({ host: prot, type: 36n }, mainline)).toMatchObject({ result: 'created', ipaBits: 44 });
    expect(await observeVmCreate({ host: prot, type: 36n }, sim('pkvm-force-missing'))).toMatchObject({ result: 'created', ipaBits: 36 });
    expect(await observeVmCreate({ host: prot, type: 0x124n }, mainline)).toEqual({ result: 'errno', errno: 'EINVAL' });
    expect(await observeVmCreate({ host: prot, type: 0x124n }, sim('pkvm-force-before-type-check'))).toMatchObject({
      result: 'created',
      ipaBits: 44,
    });
    for (const mode of ['vhe', 'nvhe'] as const) {
      const h = H({ parange: 4, mode });
      expect(await observeVmCreate({ host: h, type: 0x124n }, sim('pkvm-force-before-type-check'))).toEqual({
        result: 'errno',
        errno: 'EINVAL',
      });
      expect(await observeVmCreate({ host: h, type: 36n }, sim('pkvm-force-missing'))).toMatchObject({ result: 'created', ipaBits: 36 });
    }
  });

  it('the abort mutants: each changes one band or one field', async () => {
    const between = access({ access: { ...load((1n << 40n) + 0x18n) } });
    const beyond = access({ access: { ...load((1n << 48n) + 0x18n) } });
    const inRange = access({ access: { ...load(0x3000_0018n) } });
    const el0 = { ...between, state: 'el0' as const };
    const ref = async (c: AccessCase) => (await observeAccess(c, mainline)).outcome;
    const mut = async (n: string, c: AccessCase) => (await observeAccess(c, sim(n))).outcome;
    const sea = { kind: 'exception', vector: 0x200, esr: 0x96000010n, far: (1n << 40n) + 0x18n };
    const asf = { kind: 'exception', vector: 0x200, esr: 0x96000000n, far: (1n << 48n) + 0x18n };
    expect(await ref(between)).toEqual(sea);
    expect(await ref(beyond)).toEqual(asf);
    expect(await ref(el0)).toEqual({ kind: 'exception', vector: 0x400, esr: 0x92000010n, far: (1n << 40n) + 0x18n });
    expect(await mut('out-of-range-as-mmio', between)).toEqual({
      kind: 'mmio',
      physAddr: (1n << 40n) + 0x18n,
      len: 8,
      isWrite: false,
      data: 0n,
    });
    expect(await mut('v6.8-permission-gate', beyond)).toEqual({
      kind: 'mmio',
      physAddr: (1n << 48n) + 0x18n,
      len: 8,
      isWrite: false,
      data: 0n,
    });
    expect(await mut('seed-004-v1-size-fault', between)).toEqual({ ...sea, esr: 0x96000000n });
    expect(await mut('seed-004-v1-size-fault', beyond)).toEqual(asf);
    expect(await mut('far-without-page-offset', between)).toEqual({ ...sea, far: 1n << 40n });
    expect(await mut('far-without-page-offset', beyond)).toEqual(asf);
    expect(await mut('size-fault-vs-vm-parange', beyond)).toEqual({ ...asf, esr: 0x96000010n });
    expect(await mut('size-fault-vs-vm-parange', between)).toEqual(sea);
    expect(await mut('abort-ec-from-target-el', el0)).toEqual({
      kind: 'exception',
      vector: 0x400,
      esr: 0x96000010n,
      far: (1n << 40n) + 0x18n,
    });
    expect(await mut('abort-ec-from-target-el', between)).toEqual(sea);
    for (const m of MUTANTS) expect(await mut(m.name, inRange), m.name).toEqual(await ref(inRange));
  });
});
