// The CLI contract: flags, exit codes and summary.json, through the real binary.

import { execa } from 'execa';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const BIN = join(import.meta.dirname, '..', 'bin', 's2conform.mjs');

async function cli(...args: string[]) {
  return execa('node', [BIN, ...args], { reject: false });
}

describe('s2conform run', () => {
  it('runs every family on the simulator, writes summary.json and exits 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 's2c-'));
    const r = await cli('run', '--runs', '100', '--seed', '3', '--report', dir, '--quiet');
    expect(r.exitCode, r.stderr).toBe(0);
    const s = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
    expect(s.tool).toBe('s2conform');
    expect(s.profile).toBe('mainline');
    expect(s.complete).toBe(true);
    expect(new Set(s.properties.map((p: { family: string }) => p.family))).toEqual(
      new Set(['vm-create', 'memslot', 'encoding', 'abort', 'layout', 'mte']),
    );
    for (const p of s.properties) {
      expect(p.verdict).toBe('pass');
      expect(typeof p.seed).toBe('number');
      expect(p.runs).toBeGreaterThanOrEqual(100);
    }
    expect(s.totals).toEqual({ pass: s.properties.length, fail: 0, skip: 0, error: 0 });
  });

  it('exits 1 with a shrunk counterexample whose replay command reproduces it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 's2c-'));
    const r = await cli('run', '--profile', 'pre-5.12', '--family', 'vm-create', '--seed', '5', '--report', dir);
    expect(r.exitCode).toBe(1);
    const s = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
    const failed = s.properties.find((p: { name: string }) => p.name === 'type-word');
    expect(failed.verdict).toBe('fail');
    expect(failed.counterexample.host).toBeDefined();
    const replayDir = mkdtempSync(join(tmpdir(), 's2c-'));
    const args = (failed.replay as string).replace(/^npx s2conform /, '').split(' ');
    const again = await cli(...args, '--report', replayDir);
    expect(again.exitCode).toBe(1);
    const s2 = JSON.parse(readFileSync(join(replayDir, 'summary.json'), 'utf8'));
    expect(s2.properties[0].counterexample).toEqual(failed.counterexample);
    expect(s2.properties[0].diff).toEqual(failed.diff);
  });

  it.each([
    [['run', '--bogus']],
    [['run', '--runs', '0']],
    [['run', '--family', 'nope']],
    [['run', '--profile', 'v9.9']],
    [['run', '--target', 'qemu:']],
    [['run', '--path', '1:2']],
    [['frobnicate']],
  ])('%j: one line on stderr, exit 2, nothing run', async (args) => {
    const r = await cli(...args);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toBe('');
  });

  it('--help explains every flag', async () => {
    const r = await cli('run', '--help');
    expect(r.exitCode).toBe(0);
    for (const f of ['--target', '--profile', '--family', '--property', '--runs', '--seed', '--path', '--strict', '--report', '--quiet']) {
      expect(r.stdout).toContain(f);
    }
  });
});
