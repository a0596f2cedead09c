// The run as a person sees it: family verdicts with cases/s, progress
// on long runs, --quiet, colour only on a terminal and never with NO_COLOR.

import { execa } from 'execa';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Progress, useColour } from '../cli/progress.ts';
import type { PropertyResult } from '../core/result.ts';

const BIN = join(import.meta.dirname, '..', 'bin', 's2conform.mjs');
const COLOUR = /\x1b\[[0-9;]*m/;

function harness(tty: boolean, env: Record<string, string> = {}, quiet = false) {
  let out = '';
  let t = 0;
  const p = new Progress({ write: (s) => (out += s), tty, quiet, env, now: () => t, heartbeatMs: 1000 });
  const r = (name: string, verdict: PropertyResult['verdict']): PropertyResult => ({
    family: 'abort',
    name,
    verdict,
    runs: 10,
    seed: 1,
    durationMs: 5,
    reason: 'why',
  });
  const family = () => {
    p.startFamily('abort', 2);
    p.startProperty('abort/routing');
    for (let i = 0; i < 50; i++) {
      t += 40;
      p.tick();
    }
    p.endProperty(r('routing', 'pass'));
    p.startProperty('abort/in-range');
    t += 1000;
    p.tick();
    p.endProperty(r('in-range', 'fail'));
    p.endFamily();
    p.final('1 passed, 1 failed, 0 skipped, 0 errors; report: x');
  };
  return { family, out: () => out };
}

describe('progress', () => {
  it('on a terminal: colour, a status line rewritten in place, a verdict per family with cases/s', () => {
    const h = harness(true);
    h.family();
    const out = h.out();
    expect(out).toMatch(COLOUR);
    expect(out).toContain('\r\x1b[K');
    expect(out).toMatch(/abort 1\/2 · abort\/routing: \d+ cases, [\d.,]+ cases\/s/);
    expect(out.replace(/\x1b\[[0-9;]*[mK]/g, '')).toMatch(/== abort: DEVIATES \(1 ok, 1 failed of 2; 51 cases, 17\.0 cases\/s, 3\.0 s\)\n/);
  });

  it('NO_COLOR (not empty) turns colour off; a pipe never gets colour or cursor codes', () => {
    expect(useColour(true, {})).toBe(true);
    expect(useColour(true, { NO_COLOR: '1' })).toBe(false);
    expect(useColour(true, { NO_COLOR: '' })).toBe(true);
    expect(useColour(false, {})).toBe(false);
    const nc = harness(true, { NO_COLOR: '1' });
    nc.family();
    expect(nc.out()).not.toMatch(COLOUR);
    const pipe = harness(false);
    pipe.family();
    expect(pipe.out()).not.toContain('\x1b');
    // in a log: a progress line once per heartbeat (2 s of cases, 1 s heartbeat), not per case
    expect(pipe.out().match(/^ {3}… abort 1\/2 · abort\/routing: /gm)).toHaveLength(2);
  });

  it('--quiet: only the final line', () => {
    const h = harness(true, {}, true);
    h.family();
    expect(h.out()).toBe('1 passed, 1 failed, 0 skipped, 0 errors; report: x\n');
  });

  it('the CLI through a pipe: plain lines, a verdict per family, the final line last', async () => {
    const dir = mkdtempSync(join(tmpdir(), 's2c-prog-'));
    const r = await execa('node', [BIN, 'run', '--profile', 'pre-5.18', '--seed', '2', '--report', dir], {
      reject: false,
      env: { NO_COLOR: '' },
    });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).not.toContain('\x1b');
    const verdicts = r.stdout.split('\n').filter((l) => l.startsWith('== '));
    expect(verdicts.map((l) => l.split(':')[0])).toEqual(['== vm-create', '== memslot', '== encoding', '== abort', '== layout', '== mte']);
    for (const l of verdicts) expect(l).toMatch(/cases\/s/);
    expect(r.stdout.trim().split('\n').at(-1)).toMatch(/^\d+ passed, \d+ failed, 0 skipped, 0 errors; report: /);
    const q = await execa('node', [BIN, 'run', '--profile', 'pre-5.18', '--seed', '2', '--report', dir, '--quiet'], { reject: false });
    expect(q.stdout.trim().split('\n')).toHaveLength(1);
  });
});
