// --shard i/n splits the selected properties over n runs; with the same seed the shares
// give exactly the verdicts, counterexamples and paths of one run.

import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { runCommand, type RunArgs } from '../cli/run.ts';
import type { Summary } from '../core/result.ts';

const BIN = join(import.meta.dirname, '..', 'bin', 's2conform.mjs');
const base: Omit<RunArgs, 'report'> = {
  target: 'sim:memslot-bound-off-by-one',
  profile: 'auto',
  families: ['vm-create', 'memslot', 'abort'],
  property: undefined,
  runs: 40,
  seed: 11,
  path: undefined,
  strict: false,
  quiet: true,
};

async function run(shard?: RunArgs['shard']): Promise<Summary> {
  const dir = mkdtempSync(join(tmpdir(), 's2c-shard-'));
  await runCommand({ ...base, report: dir, shard }, '0.0.0-test');
  return JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as Summary;
}

const key = (s: Summary) =>
  s.properties.map((p) => ({
    id: `${p.family}/${p.name}`,
    verdict: p.verdict,
    runs: p.runs,
    path: p.path,
    counterexample: p.counterexample,
    diff: p.diff,
  }));

describe('--shard i/n', () => {
  it('three shares give the verdicts of one run, each property once', async () => {
    const whole = await run();
    const shares = [await run({ index: 1, count: 3 }), await run({ index: 2, count: 3 }), await run({ index: 3, count: 3 })];
    expect(shares.map((s) => s.shard)).toEqual(['1/3', '2/3', '3/3']);
    const merged = shares.flatMap(key).sort((a, b) => a.id.localeCompare(b.id));
    expect(merged).toEqual(key(whole).sort((a, b) => a.id.localeCompare(b.id)));
    expect(whole.totals.fail).toBeGreaterThan(0); // the mutant is caught, in whichever share holds the killer
  }, 120_000);

  it('a bad or empty share is one line and exit 2', async () => {
    for (const [arg, msg] of [
      ['0/3', /--shard takes i\/n with 1 <= i <= n, not '0\/3'/],
      ['4/3', /--shard takes i\/n/],
      ['x', /--shard takes i\/n/],
      ['99/99', /--shard 99\/99: only \d+ properties are selected, so this share is empty/],
    ] as const) {
      const r = await execa(
        'node',
        [BIN, 'run', '--family', 'vm-create', '--shard', arg, '--report', join(mkdtempSync(join(tmpdir(), 's2c-shard-')), 'r')],
        { reject: false },
      );
      expect(r.exitCode, arg).toBe(2);
      expect(r.stderr.trim().split('\n'), arg).toEqual([expect.stringMatching(msg)]);
    }
  }, 60_000);
});

describe('--jobs N', () => {
  it('two and three simulator jobs give the report of one, in the same order', async () => {
    const one = await run();
    for (const jobs of [2, 3]) {
      const dir = mkdtempSync(join(tmpdir(), 's2c-jobs-'));
      const code = await runCommand({ ...base, report: dir, jobs }, '0.0.0-test');
      const s = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as Summary;
      expect(code).toBe(1);
      expect(key(s)).toEqual(key(one));
      expect(s.complete).toBe(true);
    }
  }, 120_000);
});
