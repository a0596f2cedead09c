// Bad input, generated: every subcommand's arguments and every file the commands read back
// (summary.json, kcidb.json, corpus entries). Each must end in exit 0, 1 or 2; a usage error is one
// line; nothing ends in a stack trace or in an error of JavaScript's own (TypeError and the like),
// which main() reports as "internal error".
import { execa } from 'execa';
import fc from 'fast-check';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { UsageError } from '../adapters/spec.ts';
import { checkTargetSpec } from '../adapters/checkSpec.ts';
import { FixtureError } from '../core/deviations.ts';
import type { Json } from '../core/json.ts';
import { parseRegression } from '../core/regressions.ts';
import { main, parseCommandLine } from '../cli/main.ts';
import { ALL_PROPERTIES } from '../properties/index.ts';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 's2conform.mjs');
const tmp = () => mkdtempSync(join(tmpdir(), 's2c-fuzz-'));
/** S2C_FUZZ=N runs every property N times as many cases (a longer hunt than npm test's) */
const X = Math.max(1, Number(process.env['S2C_FUZZ'] ?? 1) || 1);

/** main() in this process, its output captured. */
async function invoke(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    out += String(s);
    return true;
  });
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
    err += String(s);
    return true;
  });
  try {
    return { code: await main(argv), out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}
afterEach(() => vi.restoreAllMocks());

const NO_BUG = /internal error|TypeError|RangeError|ReferenceError|Cannot read prop|is not a function|\n\s+at /;

function expectClean(r: { code: number; err: string }, what: string): void {
  expect([0, 1, 2], `${what}: exit ${r.code}\n${r.err}`).toContain(r.code);
  expect(r.err, what).not.toMatch(NO_BUG);
  if (r.code === 2) expect(r.err.trim().split('\n'), `${what}: a usage error is one line`).toHaveLength(1);
}

// ---- argument parsers ----

const FLAGS = [
  '--target',
  '--profile',
  '--family',
  '--property',
  '--runs',
  '--seed',
  '--path',
  '--strict',
  '--report',
  '--quiet',
  '--qemu',
  '--kernel-config',
  '--boot-timeout',
  '--kernel-args',
  '--ssh-config',
  '--shard',
  '--jobs',
  '--help',
  '--out',
  '--check',
  '--name',
  '--note',
  '--dir',
  '-h',
  '--',
  '-',
];
const VALUES = [
  '',
  '-1',
  '0',
  '1',
  '100',
  '-5',
  '1e3',
  '0x10',
  '3/2',
  '1/2',
  '2/0',
  'abc',
  'sim',
  'sim:nope',
  'qemu:max@6.12',
  'qemu:max,foo@6.12',
  'qemu:max@/nonexistent/Image',
  'ssh:-oProxyCommand=x',
  'native',
  'mainline',
  'v5.10',
  'v6.8-regression',
  'auto',
  'vm-create',
  'abort,',
  'abort/nope',
  'vm-create/type-word',
  '1:2:3',
  ':',
  '=',
  '--runs=-1',
  '--seed=x',
  'é',
  ' ',
  '\n',
  'a b',
  "'",
  '{}',
  '/dev/null',
];
const word = fc.oneof(
  fc.constantFrom(...FLAGS),
  fc.constantFrom(...VALUES),
  fc.string({ maxLength: 8 }),
  fc.constantFrom(...FLAGS).map((f) => `${f}=`),
);
const COMMANDS = ['run', 'report', 'bench', 'crosscheck', 'kcidb', 'regress', 'help', 'nope', ''];

describe('every subcommand, any arguments: parsed or one usage line', () => {
  it('parseCommandLine returns or throws a UsageError with a one-line message (and run checks its target)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...COMMANDS), fc.array(word, { maxLength: 8 }), (cmd, rest) => {
        try {
          const inv = parseCommandLine([cmd, ...rest]);
          if (inv.cmd === 'run') checkTargetSpec(inv.args.target);
        } catch (e) {
          if (!(e instanceof UsageError)) throw e;
          expect(e.message).not.toContain('\n');
          expect(e.message.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 3000 * X },
    );
  });

  it('regress (it parses its own): exit 0 or 2, one line, nothing written outside its --dir', async () => {
    const dir = tmp();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('add', 'list', 'nope', '--help'), fc.array(word, { maxLength: 6 }), async (sub, rest) => {
        const r = await invoke(['regress', sub, ...rest, '--dir', dir]);
        expectClean(r, `regress ${sub} ${rest.join(' ')}`);
      }),
      { numRuns: 300 * X },
    );
  });

  it('the same lines through the real command: --runs -1 says what --runs 0 says', async () => {
    const [a, b] = await Promise.all([
      execa('node', [BIN, 'run', '--runs', '-1'], { reject: false }),
      execa('node', [BIN, 'run', '--runs', '0'], { reject: false }),
    ]);
    expect(a.exitCode).toBe(2);
    expect(a.stderr).toBe("s2conform: --runs takes a positive whole number, not '-1'");
    expect(b.stderr).toBe("s2conform: --runs takes a positive whole number, not '0'");
    const c = await execa('node', [BIN, 'crosscheck', join(tmp(), 'missing.json')], { reject: false });
    expect(c.exitCode).toBe(2);
    expect(c.stderr.split('\n')).toHaveLength(1);
  }, 60_000);
});

// ---- files read back ----

/** Every path (keys and indexes) in a JSON document. */
function paths(v: Json, at: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [at];
  if (Array.isArray(v)) for (const [i, x] of v.entries()) out.push(...paths(x, [...at, i]));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...paths(x as Json, [...at, k]));
  return out;
}

interface Mutation {
  readonly pick: number;
  readonly op: 'delete' | 'replace';
  readonly value: Json;
}
const mutation: fc.Arbitrary<Mutation> = fc.record({
  pick: fc.nat(),
  op: fc.constantFrom('delete' as const, 'replace' as const),
  value: fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>,
});

/** The document with one node deleted or replaced by any JSON value. */
function mutate(doc: Json, m: Mutation): Json {
  const copy = JSON.parse(JSON.stringify(doc)) as Json;
  const ps = paths(copy);
  const p = ps[m.pick % ps.length] as (string | number)[];
  if (p.length === 0) return m.op === 'delete' ? {} : m.value;
  let parent = copy as Record<string | number, Json>;
  for (const k of p.slice(0, -1)) parent = parent[k] as Record<string | number, Json>;
  const last = p[p.length - 1] as string | number;
  if (m.op === 'replace') parent[last] = m.value;
  else if (Array.isArray(parent)) parent.splice(last as number, 1);
  else delete parent[last];
  return copy;
}

const anyDoc = (base: () => Json) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.array(mutation, { minLength: 1, maxLength: 3 }).map((ms) => ms.reduce((d, m) => mutate(d, m), base())) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json> },
  );

describe('summary.json, kcidb.json and corpus entries, mutated: exit 0, 1 or 2 and a line that names the field', () => {
  let summary: Json = null;
  let kcidb: Json = null;
  beforeAll(async () => {
    // a real report with failures (counterexamples, diffs with decoded ESR fields) to mutate
    const dir = tmp();
    await execa(
      'node',
      [
        BIN,
        'run',
        '--profile',
        'pre-5.18',
        '--family',
        'vm-create,memslot,abort',
        '--runs',
        '20',
        '--seed',
        '3',
        '--report',
        dir,
        '--quiet',
      ],
      { reject: false },
    );
    summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as Json;
    kcidb = JSON.parse(readFileSync(join(dir, 'kcidb.json'), 'utf8')) as Json;
  }, 120_000);

  it(
    'report, kcidb, crosscheck and regress add read a mutated summary.json',
    async () => {
      const dir = tmp();
      const corpus = join(dir, 'corpus');
      mkdirSync(corpus);
      let n = 0;
      await fc.assert(
        fc.asyncProperty(
          anyDoc(() => summary),
          async (doc) => {
            const f = join(dir, `s${n++}.json`);
            writeFileSync(f, JSON.stringify(doc));
            for (const argv of [
              ['report', f, '--out', join(dir, 'r.html'), '--quiet'],
              ['kcidb', f, '--out', join(dir, 'k.json'), '--quiet'],
              ['crosscheck', f, '--quiet'],
              ['regress', 'add', f, '--dir', corpus],
            ]) {
              expectClean(await invoke(argv), `${argv[0]} on ${JSON.stringify(doc).slice(0, 300)}`);
            }
          },
        ),
        { numRuns: 300 * X },
      );
    },
    300_000 * X,
  );

  it(
    'kcidb --check reads a mutated kcidb.json',
    async () => {
      const dir = tmp();
      let n = 0;
      await fc.assert(
        fc.asyncProperty(
          anyDoc(() => kcidb),
          async (doc) => {
            const f = join(dir, `k${n++}.json`);
            writeFileSync(f, JSON.stringify(doc));
            const r = await invoke(['kcidb', '--check', f, '--quiet']);
            expectClean(r, `kcidb --check on ${JSON.stringify(doc).slice(0, 300)}`);
          },
        ),
        { numRuns: 300 * X },
      );
    },
    300_000 * X,
  );

  it('a mutated corpus entry parses or is refused with a FixtureError that names the file', () => {
    const entries = readdirSync(join(ROOT, 'fixtures', 'regressions')).filter((f) => f.endsWith('.json'));
    fc.assert(
      fc.property(
        fc.constantFrom(...entries),
        anyDoc(() => null),
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        (name, other, ms, useOther) => {
          const base = JSON.parse(readFileSync(join(ROOT, 'fixtures', 'regressions', name), 'utf8')) as Json;
          const doc = useOther ? other : ms.reduce((d, m) => mutate(d, m), base);
          try {
            parseRegression(JSON.stringify(doc), `/corpus/${name}`, ALL_PROPERTIES);
          } catch (e) {
            if (!(e instanceof FixtureError)) throw e;
            expect(e.message.startsWith(`/corpus/${name}: `)).toBe(true);
          }
        },
      ),
      { numRuns: 2000 * X },
    );
  });

  it('a run whose corpus holds a broken entry stops with one line naming the file, exit 2', async () => {
    const corpus = tmp();
    const base = JSON.parse(readFileSync(join(ROOT, 'fixtures', 'regressions', 'abort-ec-from-target-el.json'), 'utf8')) as Record<
      string,
      Json
    >;
    writeFileSync(join(corpus, 'broken.json'), JSON.stringify({ ...base, seed: 'x' }));
    const r = await execa('node', [BIN, 'run', '--family', 'abort', '--runs', '1', '--report', join(tmp(), 'r')], {
      reject: false,
      env: { S2C_REGRESSIONS: corpus },
    });
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/broken\.json: field 'seed' must be an integer/)]);
  }, 60_000);
});
