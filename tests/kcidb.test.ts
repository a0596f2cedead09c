// kcidb.json is a valid KCIDB v5.3 submission, and the schema check fails on files that
// break its rules (required fields, patterns, the status enum, unknown fields).

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { runCommand, type RunArgs } from '../cli/run.ts';
import type { Summary } from '../core/result.ts';
import { mergeKcidb, testPath, toKcidb, type KcidbSubmission } from '../reports/kcidb.ts';
import { kcidbProblems } from '../reports/kcidbSchema.ts';

const BIN = join(import.meta.dirname, '..', 'bin', 's2conform.mjs');
const tmp = () => mkdtempSync(join(tmpdir(), 's2c-kcidb-'));

async function run(
  target: string,
  families: RunArgs['families'],
  seed = 3,
): Promise<{ dir: string; summary: Summary; kcidb: KcidbSubmission }> {
  const dir = tmp();
  await runCommand(
    { target, profile: 'auto', families, property: undefined, runs: 30, seed, path: undefined, strict: false, report: dir, quiet: true },
    '0.0.0-test',
  );
  return {
    dir,
    summary: JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as Summary,
    kcidb: JSON.parse(readFileSync(join(dir, 'kcidb.json'), 'utf8')) as KcidbSubmission,
  };
}

describe('kcidb.json (KCIDB v5.3)', () => {
  it('a passing run: valid, one checkout and build, one test per property and corpus entry', async () => {
    const { summary, kcidb } = await run('sim', ['vm-create', 'mte']);
    expect(kcidbProblems(kcidb)).toEqual([]);
    expect(kcidb.version).toEqual({ major: 5, minor: 3 });
    expect(kcidb.checkouts).toHaveLength(1);
    expect(kcidb.builds).toMatchObject([{ architecture: 'arm64', checkout_id: kcidb.checkouts[0]?.id, origin: 's2conform' }]);
    expect(kcidb.tests).toHaveLength(summary.properties.length + (summary.regressions?.length ?? 0));
    for (const t of kcidb.tests) {
      expect(t.id).toMatch(/^s2conform:/);
      expect(t.path).toMatch(/^s2conform\.[a-zA-Z0-9_-]+(\.[a-zA-Z0-9_-]+)+$/);
      expect(t.environment.comment).toBe('sim');
    }
    // a property name with '/' becomes path segments; '.' inside a name is made legal
    expect(testPath('mte', 'seed-003-notagaccess/notag-orthogonal')).toBe('s2conform.mte.seed-003-notagaccess.notag-orthogonal');
    expect(testPath('abort', 'v6.8/x')).toBe('s2conform.abort.v6_8.x');
  }, 120_000);

  it('a failing run: FAIL with the diff in log_excerpt and misc, replay in misc', async () => {
    const { kcidb } = await run('sim:memslot-bound-off-by-one', ['memslot']);
    expect(kcidbProblems(kcidb)).toEqual([]);
    const failed = kcidb.tests.filter((t) => t.status === 'FAIL' && t.path.startsWith('s2conform.memslot.'));
    expect(failed.length).toBeGreaterThanOrEqual(1);
    const f = failed[0];
    expect(f?.log_excerpt).toMatch(/results\[\d+\]: expected "ok", got "EFAULT"/);
    expect(f?.misc).toMatchObject({ seed: 3, replay: expect.stringMatching(/^npx s2conform run --target sim:memslot-bound-off-by-one /) });
  }, 120_000);

  it('s2conform kcidb merges runs of one kernel into one checkout and checks the result', async () => {
    const a = await run('sim', ['vm-create'], 1);
    const b = await run('sim', ['vm-create'], 2);
    const out = join(tmp(), 'all.json');
    const r = await execa('node', [BIN, 'kcidb', join(a.dir, 'summary.json'), join(b.dir, 'summary.json'), '--out', out], {
      reject: false,
    });
    expect(r.exitCode, r.stderr).toBe(0);
    const merged = JSON.parse(readFileSync(out, 'utf8')) as KcidbSubmission;
    expect(kcidbProblems(merged)).toEqual([]);
    expect(merged.checkouts).toHaveLength(1);
    expect(merged.tests).toHaveLength(a.kcidb.tests.length + b.kcidb.tests.length);
    expect(mergeKcidb([a.kcidb, a.kcidb]).tests).toHaveLength(a.kcidb.tests.length);
    const check = await execa('node', [BIN, 'kcidb', '--check', out, join(a.dir, 'kcidb.json')], { reject: false });
    expect(check.exitCode, check.stderr).toBe(0);
    const notSummary = await execa('node', [BIN, 'kcidb', out], { reject: false });
    expect(notSummary.exitCode).toBe(2);
    expect(notSummary.stderr).toMatch(/not a summary\.json written by s2conform run/);
  }, 120_000);

  it('the check fails on files that break the schema, naming the rule', async () => {
    const { kcidb } = await run('sim', ['vm-create']);
    const broken: [string, (k: KcidbSubmission & Record<string, unknown>) => void, RegExp][] = [
      ['an unknown field in a test', (k) => Object.assign(k.tests[0] ?? {}, { waived: false }), /tests\[0\]: unknown field 'waived'/],
      [
        'a path with a slash',
        (k) => Object.assign(k.tests[0] ?? {}, { path: 's2conform.mte/anon' }),
        /tests\[0\]\.path: .* does not match/,
      ],
      [
        'a status outside the enum',
        (k) => Object.assign(k.tests[0] ?? {}, { status: 'OK' }),
        /tests\[0\]\.status: "OK" is not one of FAIL, ERROR, MISS, PASS, DONE, SKIP/,
      ],
      [
        'an origin with a hyphen',
        (k) => Object.assign(k.builds[0] ?? {}, { origin: 's2-conform' }),
        /builds\[0\]\.origin: .* does not match/,
      ],
      [
        'a test without its build',
        (k) => delete (k.tests[0] as Partial<KcidbSubmission['tests'][number]>).build_id,
        /tests\[0\]: required field 'build_id' is missing/,
      ],
      ['a build with valid (a v4 field)', (k) => Object.assign(k.builds[0] ?? {}, { valid: true }), /builds\[0\]: unknown field 'valid'/],
      ['version 5.4', (k) => Object.assign(k, { version: { major: 5, minor: 4 } }), /version\.minor: must be at most 3/],
      [
        'an id without its origin',
        (k) => Object.assign(k.checkouts[0] ?? {}, { id: 'no-origin' }),
        /checkouts\[0\]\.id: .* does not match/,
      ],
      [
        'a start_time that is not RFC 3339',
        (k) => Object.assign(k.tests[0] ?? {}, { start_time: 'yesterday' }),
        /is not an RFC 3339 date-time/,
      ],
      [
        'a dangling build_id',
        (k) => Object.assign(k.tests[0] ?? {}, { build_id: 's2conform:nope' }),
        /tests\[0\]\.build_id: no such build/,
      ],
    ];
    const dir = tmp();
    for (const [what, breakIt, message] of broken) {
      const k = JSON.parse(JSON.stringify(kcidb)) as KcidbSubmission & Record<string, unknown>;
      breakIt(k);
      expect(kcidbProblems(k).join('\n'), what).toMatch(message);
      const f = join(dir, 'broken.json');
      writeFileSync(f, JSON.stringify(k));
      const r = await execa('node', [BIN, 'kcidb', '--check', f], { reject: false });
      expect(r.exitCode, what).toBe(1);
    }
  }, 120_000);

  it('older summaries without a start time still convert (no start_time)', () => {
    const s: Summary = {
      tool: 's2conform',
      version: '0.1.0',
      target: { kind: 'sim', spec: 'sim' },
      profile: 'mainline',
      strict: false,
      seed: 1,
      properties: [],
      totals: { pass: 0, fail: 0, skip: 0, error: 0 },
      durationMs: 1,
      complete: true,
    };
    const k = toKcidb(s);
    expect(kcidbProblems(k)).toEqual([]);
    expect(k.checkouts[0]?.start_time).toBeUndefined();
  });
});
