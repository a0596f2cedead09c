// The table of flags (cli/flags.ts) is what the command line, --help, the target's options and the
// replay line are made of: each read back from it.

import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { passThrough, replayLine } from '../cli/flagParse.ts';
import { COMMAND_NAMES, type Command, FLAGS } from '../cli/flags.ts';
import { parseCommandLine } from '../cli/main.ts';
import { replayCommand } from '../cli/runShared.ts';
import { targetOptions } from '../cli/runTarget.ts';
import type { Profile } from '../core/profile.ts';
import { ALL_PROPERTIES } from '../properties/index.ts';

const BIN = join(import.meta.dirname, '..', 'bin', 's2conform.mjs');
const TABLED = COMMAND_NAMES;
const flagsOf = (cmd: Command) => FLAGS.filter((f) => (f.commands as readonly Command[]).includes(cmd));

describe('s2conform <cmd> --help', () => {
  it.each(TABLED)('%s --help: exit 0, every flag of the table with its help', async (cmd) => {
    const r = await execa('node', [BIN, cmd, '--help'], { reject: false });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    for (const f of flagsOf(cmd)) {
      expect(r.stdout).toContain(`--${f.name}`);
      expect(r.stdout).toContain(f.help.split('\n')[0]);
    }
  });

  it.each(TABLED)('parseCommandLine: %s --help and -h ask for that command’s help, whatever else is given', (cmd) => {
    expect(parseCommandLine([cmd, '--help'])).toEqual({ cmd: 'help', exit: 0, of: cmd });
    expect(parseCommandLine([cmd, '--bogus', '-h'])).toEqual({ cmd: 'help', exit: 0, of: cmd });
  });

  it('docs/options.md names every flag of the table', () => {
    const doc = readFileSync(join(import.meta.dirname, '..', 'docs', 'options.md'), 'utf8');
    for (const f of FLAGS) expect(doc, f.name).toContain(`--${f.name}`);
  });

  it('a table of flags without two entries of one name on one command', () => {
    for (const cmd of TABLED) {
      const names = flagsOf(cmd).map((f) => f.name);
      expect(new Set(names).size, cmd).toBe(names.length);
    }
  });
});

describe('checks and defaults from the table', () => {
  it.each([
    [['run', '--runs', '0'], "--runs takes a positive whole number, not '0'"],
    [['run', '--runs', '-1'], "--runs takes a positive whole number, not '-1'"],
    [['bench', '--runs', '1e3'], "--runs takes a positive whole number, not '1e3'"],
    [['run', '--jobs', '0'], "--jobs takes a positive whole number, not '0'"],
    [['bench', '--seed', '99999999999999999999'], "--seed takes an integer, not '99999999999999999999'"],
    [['run', '--shard', '3/2'], "--shard takes i/n with 1 <= i <= n, not '3/2'"],
    [['run', '--path', '1:2', '--property', 'abort/in-range'], '--path needs the --seed it was found with'],
    [['run', '--ssh-config', BIN], '--ssh-config goes with an ssh: target'],
    [['run', 'x'], "unexpected argument 'x'"],
    [['crosscheck'], 'crosscheck takes one summary.json (try --help)'],
  ])('%j: %s', (argv, message) => {
    expect(() => parseCommandLine(argv)).toThrow(message);
  });

  it('the defaults', () => {
    const run = parseCommandLine(['run']);
    expect(run.cmd === 'run' && { ...run.args, seed: 0 }).toMatchObject({ target: 'sim', profile: 'auto', runs: 100, jobs: 'auto' });
    expect(parseCommandLine(['bench'])).toEqual({ cmd: 'bench', args: { targets: [], runs: 200, seed: 1 } });
    expect(parseCommandLine(['kcidb', 'a.json'])).toEqual({
      cmd: 'kcidb',
      args: { files: ['a.json'], out: 'kcidb.json', check: false, quiet: false },
    });
    expect(parseCommandLine(['report', 'a.json'])).toEqual({
      cmd: 'report',
      args: { files: ['a.json'], out: 'report.html', quiet: false },
    });
  });
});

describe('pass-through to the target, and the replay line', () => {
  const argv = ['--target', 'qemu:max@6.12', '--qemu', '9.2', '--boot-timeout', '60', '--kernel-args', 'arm64.nolva nokaslr'];
  const inv = parseCommandLine(['run', ...argv, '--kernel-config', BIN, '--strict', '--seed', '4']);
  const args = inv.cmd === 'run' ? inv.args : undefined;

  it('the target is opened with what the pass-through flags give, and the run’s artefacts and --strict', () => {
    expect(args?.targetFlags).toEqual({ qemu: '9.2', 'kernel-config': BIN, 'boot-timeout': '60', 'kernel-args': 'arm64.nolva nokaslr' });
    expect(args && targetOptions(args, '/tmp/r')).toEqual({
      artefactDir: '/tmp/r',
      strict: true,
      qemu: '9.2',
      kernelConfig: BIN,
      bootTimeoutMs: 60_000,
      kernelArgs: 'arm64.nolva nokaslr',
    });
    expect(passThrough({})).toEqual({});
  });

  it('the replay line: the pass-through flags after --target, then profile, property, seed, path, runs, --strict', () => {
    const p = ALL_PROPERTIES[0];
    if (!args || !p) throw new Error('no run');
    const replay = replayCommand(args, { name: 'v6.12' } as Profile, 30)(p, 7, '3:1');
    expect(replay).toBe(
      `npx s2conform run --target qemu:max@6.12 --qemu 9.2 --kernel-config ${BIN} --boot-timeout 60 --kernel-args 'arm64.nolva nokaslr' ` +
        `--profile v6.12 --property ${p.family}/${p.name} --seed 7 --path 3:1 --runs 30 --strict`,
    );
    expect(replayLine({ target: 'sim', profile: 'mainline', property: 'abort/x', seed: -5, path: '0', runs: 100, strict: false })).toBe(
      'npx s2conform run --target sim --profile mainline --property abort/x --seed -5 --path 0 --runs 100',
    );
  });
});
