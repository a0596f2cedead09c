// Every rule names its seed and the upstream commit it comes from, and that
// commit is in the release the rule is dated to (fixtures/upstream-commits.json,
// each entry verified against the kernel history). The modules are imported
// inside the tests: a module that throws while it loads then fails a test here,
// where a file whose static imports throw would run no test at all.

import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

interface Commit {
  readonly subject: string;
  readonly release: readonly [number, number];
  readonly evidence: string;
}
const COMMITS = JSON.parse(readFileSync(new URL('../fixtures/upstream-commits.json', import.meta.url), 'utf8')) as {
  commits: Record<string, Commit>;
};
const SEEDS = ['000', '001', '002', '003', '004'];
const COMMIT_ID = /\b[0-9a-f]{12}\b/g;

const oracles = () => import('../oracles/profiles.ts');

describe('modules load', () => {
  // one test per module: a module-level throw shows up as a failing test
  it.each([
    ['oracles/profiles', () => import('../oracles/profiles.ts')],
    ['oracles/ipaLimit', () => import('../oracles/ipaLimit.ts')],
    ['oracles/vmCreate', () => import('../oracles/vmCreate.ts')],
    ['oracles/memslot', () => import('../oracles/memslot.ts')],
    ['oracles/abort', () => import('../oracles/abort.ts')],
    ['oracles/encoding', () => import('../oracles/encoding.ts')],
    ['oracles/layout', () => import('../oracles/layout.ts')],
    ['oracles/mte', () => import('../oracles/mte.ts')],
    ['adapters/simulator/index', () => import('../adapters/simulator/index.ts')],
    ['adapters/simulator/knobs', () => import('../adapters/simulator/knobs.ts')],
    ['adapters/simulator/mutants', () => import('../adapters/simulator/mutants.ts')],
  ] as const)('%s', async (_name, load) => {
    const m: Record<string, unknown> = await load();
    expect(Object.keys(m).length).toBeGreaterThan(0);
  });
});

describe('the timeline cites its commits', () => {
  it('every change names at least one verified upstream commit or a seed, and is dated to the release of the first commit it names', async () => {
    const { timeline } = await oracles();
    const changes = timeline();
    expect(changes.length).toBeGreaterThanOrEqual(15);
    for (const c of changes) {
      const ids = c.cite.match(COMMIT_ID) ?? [];
      expect(ids.length, c.cite).toBeGreaterThan(0);
      for (const id of ids) expect(COMMITS.commits[id], `${id} in fixtures/upstream-commits.json`).toBeDefined();
      const first = COMMITS.commits[ids[0] as string] as Commit;
      expect(c.version, `${c.cite}: dated to ${first.release.join('.')}`).toEqual(first.release);
      // the subject's words after the id, where given, are the commit's own
      const after =
        c.cite
          .split(ids[0] as string)[1]
          ?.trim()
          .split(/[;(]/)[0]
          ?.trim() ?? '';
      if (/^[A-Za-z]+:/.test(after)) expect(first.subject.toLowerCase()).toContain(after.toLowerCase());
      for (const s of c.cite.matchAll(/seed (\d{3})/g)) expect(SEEDS).toContain(s[1]);
      expect(Object.keys(c.rules).length, c.cite).toBeGreaterThan(0);
    }
  });

  it('the first change defines every rule; later changes only change them', async () => {
    const { timeline } = await oracles();
    const [first, ...rest] = timeline();
    const keys = Object.keys(first?.rules ?? {});
    expect(keys.length).toBe(15);
    for (const c of rest) for (const k of Object.keys(c.rules)) expect(keys).toContain(k);
    for (const c of rest) {
      const before = Object.entries(c.rules).every(([k, v]) => (first?.rules as Record<string, unknown> | undefined)?.[k] === v);
      // a change that restores v4.20 behaviour is the 6.9 fix of the 6.8 regression, nothing else
      if (before) expect(c.version).toEqual([6, 9]);
    }
  });

  it('nothing is encoded before v4.20', async () => {
    const { rulesAt, profileForRelease } = await oracles();
    expect(() => rulesAt([4, 19])).toThrow(/no rules before v4.20/);
    expect(rulesAt([4, 20]).ipaLimit).toBe('clamp-v4.20');
    expect(profileForRelease('4.20.0')?.name).toBe('v4.20');
    expect(profileForRelease('4.19.0')).toBeUndefined();
  });
});

describe('the rules cite verified commits', () => {
  it('every commit id a rule or the simulator names is in fixtures/upstream-commits.json', () => {
    const dirs = ['oracles', 'adapters/simulator'];
    let seen = 0;
    for (const d of dirs)
      for (const f of readdirSync(new URL(`../${d}/`, import.meta.url)).filter((x) => x.endsWith('.ts'))) {
        const text = readFileSync(new URL(`../${d}/${f}`, import.meta.url), 'utf8');
        for (const id of text.match(COMMIT_ID) ?? []) {
          expect(COMMITS.commits[id], `${d}/${f} names ${id}`).toBeDefined();
          seen++;
        }
      }
    expect(seen).toBeGreaterThan(40);
  });

  it('the list itself is well-formed', () => {
    for (const [id, c] of Object.entries(COMMITS.commits)) {
      expect(id).toMatch(/^[0-9a-f]{12}$/);
      expect(c.subject.length, id).toBeGreaterThan(10);
      expect(c.release[0] === 4 ? c.release[1] : 0, id).toBeLessThanOrEqual(20);
      expect(c.release[0], id).toBeGreaterThanOrEqual(4);
      expect(c.evidence.length, id).toBeGreaterThan(10);
    }
  });
});

describe('profiles say where they come from', () => {
  it('version profiles name a kernel; proposals name their seed and differ from their base only where the proposal does', async () => {
    const { profileNames, getProfile, rulesAt } = await oracles();
    const names = profileNames();
    expect(names).toEqual(
      expect.arrayContaining([
        'mainline',
        'pre-5.12',
        'pre-5.18',
        'v6.8-regression',
        'seed-000-v1',
        'seed-001-v1',
        'seed-003-notagaccess',
        'seed-004-v1',
      ]),
    );
    for (const n of names) {
      const p = getProfile(n);
      expect(p?.name).toBe(n);
      expect(p?.source.length, n).toBeGreaterThan(8);
      if (n.startsWith('seed-')) {
        expect(p?.version).toBeUndefined();
        expect(p?.source).toMatch(new RegExp(`^seed ${n.slice(5, 8)}: `));
      } else {
        expect(p?.version, n).toBeDefined();
        const v = p?.version as readonly [number, number];
        expect(p).toMatchObject(rulesAt(v));
        if (/^v\d+\.\d+$/.test(n)) expect(n).toBe(`v${v[0]}.${v[1]}`);
      }
    }
    for (const c of ['7d717558dd5e', '262b003d059c']) expect(getProfile('pre-5.12')?.source).toContain(c);
    expect(getProfile('pre-5.18')?.source).toContain('85ea6b1ec915');
    expect(getProfile('v6.8-regression')?.source).toMatch(/11e5ea5242e3.*f5fe0adeed60/);
    const differs = (n: string, base: readonly [number, number]) => {
      const p = getProfile(n) as unknown as Record<string, unknown>;
      const b = rulesAt(base) as unknown as Record<string, unknown>;
      return Object.keys(b)
        .filter((k) => p[k] !== b[k])
        .sort();
    };
    expect(differs('seed-000-v1', [5, 12])).toEqual(['defaultIpa']);
    expect(differs('seed-004-v1', [5, 18])).toEqual(['outOfRange']);
    expect(differs('seed-001-v1', [5, 12])).toEqual(['hypLayout52', 'hypVaBits']);
    expect(differs('seed-003-notagaccess', [6, 18])).toEqual(['mteNoTagAccess']);
  });

  it('every profile is a whole rule set', async () => {
    const { profileNames, getProfile, rulesAt } = await oracles();
    const keys = Object.keys(rulesAt([4, 20])).sort();
    for (const n of profileNames()) {
      const p = getProfile(n) as unknown as Record<string, unknown>;
      for (const k of keys) expect(p[k], `${n}.${k}`).toBeDefined();
    }
  });
});

describe('seed citations (oracles/seeds.ts)', () => {
  it('every seed a rule cites is named with its thread title and list, as the table gives them', async () => {
    const { seed, SEEDS: TABLE } = await import('../oracles/seeds.ts');
    type Id = keyof typeof TABLE;
    expect(Object.keys(TABLE)).toEqual(SEEDS);
    let seen = 0;
    for (const f of readdirSync(new URL('../oracles/', import.meta.url)).filter((x) => x.endsWith('.ts') && x !== 'seeds.ts')) {
      let inSource = false;
      for (const line of readFileSync(new URL(`../oracles/${f}`, import.meta.url), 'utf8').split('\n')) {
        // a design's or a proposal's own source line ('seed 002; …', 'seed 000: [PATCH] …'), or its string
        // on the line after `source:` where the formatter wrapped it
        const wasSource = inSource;
        inSource = /^\s*source:\s*$/.test(line);
        if (/^\s*source: /.test(line) || wasSource) continue;
        for (const m of line.matchAll(/seed (\d{3})/g)) {
          expect(line.slice(m.index).startsWith(seed(m[1] as Id)), `oracles/${f}: ${line.trim()}`).toBe(true);
          seen++;
        }
      }
    }
    expect(seen).toBeGreaterThan(30);
    const { timeline } = await oracles();
    for (const c of timeline()) for (const m of c.cite.matchAll(/seed (\d{3})/g)) expect(c.cite).toContain(seed(m[1] as Id));
  });

  it("the titles and lists are the seed files' own (../shared/seeds/, where present)", async () => {
    const { SEEDS: TABLE } = await import('../oracles/seeds.ts');
    const dir = new URL('../../shared/seeds/', import.meta.url);
    let files: string[];
    try {
      files = readdirSync(dir);
    } catch {
      return; // no seeds beside this checkout
    }
    for (const [n, s] of Object.entries(TABLE)) {
      const file = files.find((x) => x.startsWith(`${n}_`));
      expect(file, n).toBeDefined();
      const text = readFileSync(new URL(file as string, dir), 'utf8').replace(/\s+/g, ' ');
      if (s.title !== undefined) expect(text, n).toContain(s.title);
      for (const word of s.list.replace(/[()]/g, '').replace('lore.kernel.org/r/', '').split(' '))
        expect(text, `${n}: ${word}`).toContain(word);
    }
  });
});

describe('the seed-002 designs', () => {
  it('are named once each and cite seed 002', async () => {
    const { DESIGNS } = await import('../oracles/encoding.ts');
    expect(new Set(DESIGNS.map((d) => d.name)).size).toBe(DESIGNS.length);
    expect(DESIGNS.map((d) => d.name)).toEqual(['landed', 'ps3-flag', 'half-diff', 'create-vm2']);
    for (const d of DESIGNS) expect(d.source).toMatch(/^seed 002[;,] /);
    expect(DESIGNS[0]?.source).toContain('233a7cb23531');
  });
});

describe('named simulator mutants', () => {
  it('each cites the upstream commit or seed it puts back, and the commit is a verified one', async () => {
    const { MUTANTS } = await import('../adapters/simulator/mutants.ts');
    for (const m of MUTANTS) {
      const text = JSON.stringify(m);
      const ids = text.match(COMMIT_ID) ?? [];
      const seeds = [...text.matchAll(/seed (\d{3})/g)].map((s) => s[1]);
      // a rule every version has is cited by the function it lives in, not by a commit
      if (!/\(every version\)/.test(m.upstream)) expect(ids.length + seeds.length, m.name).toBeGreaterThan(0);
      for (const id of ids) expect(COMMITS.commits[id], `${m.name}: ${id}`).toBeDefined();
      // the table's columns: every one is filled and says something
      expect(m.name).toMatch(/^[a-z0-9.-]+$/);
      for (const f of [m.ref, m.bug, m.upstream, m.source]) expect(f.length, m.name).toBeGreaterThan(6);
      expect(m.source, m.name).toMatch(/seed \d{3}|docs\/kernel\//);
      expect(Object.keys(m.knobs).length, m.name).toBeGreaterThan(0);
    }
    expect(new Set(MUTANTS.map((m) => m.name)).size).toBe(MUTANTS.length);
  });
});
