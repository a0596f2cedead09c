// Pipelining: the runner observes a property's cases ahead of fast-check on a target that pipelines
// (core/runner.ts, Ahead). The verdicts, runs, paths and counterexamples must be those of one case at
// a time, and every case fast-check runs before a failure must have been drawn ahead (fc.sample of the
// property draws exactly fc.check's cases): otherwise the pipeline would buy nothing.

import { describe, expect, it } from 'vitest';
import { targetFromSpec } from '../adapters/index.ts';
import { runProperty } from '../core/runner.ts';
import { OVERLAPS } from '../core/families.ts';
import type { AnyConformance } from '../core/property.ts';
import { isErrno, type HostConfig, type HostHandle, type Target, type TargetInfo, type VmHandle } from '../core/target.ts';
import { getProfile, type Profile } from '../oracles/profiles.ts';
import { propertiesOf } from '../properties/index.ts';
import { defined } from '../core/object.ts';

/** A simulator seen through a pipelining target: counts the observations (one host() call each) and how many overlap. */
async function counted(
  spec: string,
  depth: number | undefined,
): Promise<{ target: Target; info: TargetInfo; stats: { observed: number; maxInFlight: number } }> {
  const inner = await targetFromSpec(spec);
  const info = await inner.open();
  const stats = { observed: 0, maxInFlight: 0 };
  let inFlight = 0;
  const target: Target = {
    ...defined({ pipelineDepth: depth }),
    open: () => inner.open(),
    close: () => inner.close(),
    async host(c: HostConfig): Promise<HostHandle> {
      stats.observed++;
      inFlight++;
      stats.maxInFlight = Math.max(stats.maxInFlight, inFlight);
      // the observation of this case ends a few turns later: others start meanwhile
      await new Promise((r) => setImmediate(r));
      const h = await inner.host(c);
      inFlight--;
      return h;
    },
  };
  return { target, info, stats };
}

/** the properties whose cases may overlap (core/families.ts OVERLAPS); the others run one case at a time */
const conformance = (fam: 'abort' | 'memslot' | 'vm-create'): AnyConformance[] =>
  propertiesOf([fam]).filter((p): p is AnyConformance => p.kind === 'conformance' && OVERLAPS[p.caseKind]);

const conformanceAll = (fam: 'abort'): AnyConformance[] => propertiesOf([fam]).filter((p): p is AnyConformance => p.kind === 'conformance');

const shape = (r: Awaited<ReturnType<typeof runProperty>>) => ({
  verdict: r.verdict,
  runs: r.runs,
  path: r.path,
  counterexample: r.counterexample,
  diff: r.diff,
  known: r.known,
});

describe('observing ahead (pipelineDepth)', () => {
  it('passing properties: every case observed once, ahead, up to depth at once; the same result', async () => {
    const profile = getProfile('mainline') as Profile;
    for (const p of [...conformance('abort'), ...conformance('memslot'), ...conformance('vm-create')]) {
      const one = await counted('sim', undefined);
      const many = await counted('sim', 8);
      const a = await runProperty(p, { target: one.target, info: one.info, profile }, { runs: 150, seed: 3, strict: false });
      const b = await runProperty(p, { target: many.target, info: many.info, profile }, { runs: 150, seed: 3, strict: false });
      expect(shape(b), p.name).toEqual(shape(a));
      if (a.verdict !== 'pass') continue;
      // 150 cases, each observed exactly once: none was observed again in line
      expect(many.stats.observed, p.name).toBe(a.runs);
      expect(many.stats.maxInFlight, p.name).toBeGreaterThan(1);
      expect(many.stats.maxInFlight, p.name).toBeLessThanOrEqual(8 + 1);
      expect(one.stats.maxInFlight).toBe(1);
    }
  });

  it('failing properties: the same counterexample, path and diff as one case at a time', async () => {
    // v6.8's wrong abort class, against the mainline simulator: abort properties fail and shrink
    const profile = getProfile('v6.8-regression') as Profile;
    let failed = 0;
    for (const p of conformance('abort')) {
      const one = await counted('sim', undefined);
      const many = await counted('sim', 8);
      const a = await runProperty(p, { target: one.target, info: one.info, profile }, { runs: 200, seed: 5, strict: false });
      const b = await runProperty(p, { target: many.target, info: many.info, profile }, { runs: 200, seed: 5, strict: false });
      expect(shape(b), p.name).toEqual(shape(a));
      if (a.verdict === 'fail') failed++;
    }
    expect(failed).toBeGreaterThan(0);
  });
});

describe('abort/reuse-equivalence can fail', () => {
  it('a target that gives a VM back with its memslots still in place fails it, shrunk and replayable', async () => {
    const inner = await targetFromSpec('sim');
    const info = await inner.open();
    const parked = new Map<string, VmHandle[]>();
    // reuse done wrong: the VM goes back to the pool as the case left it
    const sloppy: Target = {
      open: () => inner.open(),
      close: () => inner.close(),
      async host(c: HostConfig): Promise<HostHandle> {
        const h = await inner.host(c);
        return {
          config: h.config,
          checkExtension: (cap) => h.checkExtension(cap),
          async createVm(type: bigint, reuse?: string) {
            const k = `${type}/${reuse ?? ''}`;
            const again = reuse !== undefined ? parked.get(k)?.pop() : undefined;
            const vm = again ?? (await h.createVm(type));
            if (isErrno(vm)) return vm;
            const handle: VmHandle = {
              reused: again !== undefined,
              setMemoryRegion: (r) => vm.setMemoryRegion(r),
              enableCap: (cap, args, flags) => vm.enableCap(cap, args, flags),
              run: (req) => vm.run(req),
              async destroy() {
                if (reuse !== undefined) (parked.get(k) ?? parked.set(k, []).get(k))?.push(handle);
              },
            };
            return handle;
          },
        };
      },
    };
    const p = conformanceAll('abort').find((q) => q.name === 'reuse-equivalence');
    if (!p) throw new Error('no abort/reuse-equivalence');
    const r = await runProperty(
      p,
      { target: sloppy, info, profile: getProfile('mainline') as Profile },
      { runs: 300, seed: 1, strict: false },
    );
    expect(r.verdict).toBe('fail');
    expect(r.diff?.map((d) => d.path).some((x) => x.startsWith('probe'))).toBe(true);
    // the same target done right (the simulator's own reuse) passes
    const ok = await runProperty(
      p,
      { target: inner, info, profile: getProfile('mainline') as Profile },
      { runs: 300, seed: 1, strict: false },
    );
    expect(ok.verdict).toBe('pass');
    expect(ok.vms?.reused).toBeGreaterThan(0);
  });
});
