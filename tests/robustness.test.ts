// Bad input, dying targets and hostile conditions at the level of a whole run: bad command lines stop before anything runs; a run on a real
// (QEMU) target keeps every report valid when it is SIGKILLed, has every counterexample on disk
// before the next case starts, and turns injected target deaths into `error`, never a verdict.
// The QEMU parts need `npm run provision` and skip with the reason otherwise.

import { execa, execaSync } from 'execa';
import { XMLValidator } from 'fast-xml-parser';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KvmTarget, notProvisioned, testHooks } from '../adapters/kvm/index.ts';
import { helperProblem } from '../adapters/kvm/paths.ts';
import { runCommand, type RunArgs } from '../cli/run.ts';
import type { Summary } from '../core/result.ts';
import type { Target } from '../core/target.ts';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 's2conform.mjs');
const tmp = () => mkdtempSync(join(tmpdir(), 's2c-rob-'));
const load = (dir: string): Summary => JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as Summary;
const why = notProvisioned();
const SPEC = 'qemu:max@6.12';

describe('bad command lines: one line on stderr, exit 2, nothing run, no report', () => {
  it.each([
    [['run', '--target', 'qemu:max@9.9']], // a kernel that is not provisioned by name
    [['run', '--target', 'qemu:max,foo@6.12']],
    [['run', '--target', 'qemu:cortex-a57,mte@6.1']],
    [['run', '--target', 'qemu:max,vhe,nvhe@6.12']],
    [['run', '--target', 'qemu:Max@6.12']],
    [['run', '--target', 'ssh:-oProxyCommand=x']],
    [['run', '--target', 'sim:no-such-mutant']],
    [['run', '--target', '']],
    [['run', '--family', 'abort,']],
    [['run', '--family', 'abort,nope']],
    [['run', '--property', 'abort/nope']],
    [['run', '--profile', 'v9.99']],
    [['run', '--profile', 'mainline2']],
    [['run', '--profile', '']],
    [['run', '--runs', 'abc']],
    [['run', '--runs', '-1']],
    [['run', '--runs', '1e3']],
    [['run', '--runs', '0x10']],
    [['run', '--seed', 'x']],
    [['run', '--seed', '1.5']],
    [['run', '--path', 'abc', '--property', 'abort/in-range']],
    [['run', '--report']],
    [['run', '--quiet=1']],
    [['run', '--strict=yes']],
    [['run', 'extra']],
    [['run', '--target', 'sim', '--target']],
    [['report']],
    [['report', '/nonexistent/summary.json']],
    // a report directory that cannot be made (Node's recursive mkdir spins forever under /proc)
    [['run', '--report', '/proc/s2conform-x'], /cannot create the directory \(ENOENT\)/],
    [['run', '--report', BIN], /is a file, not a directory/],
    [['crosscheck', BIN]],
  ])(
    '%j',
    async (args, message?: RegExp) => {
      const dir = join(tmp(), 'report');
      const r = await execa('node', [BIN, ...args, ...(args[0] === 'run' && !args.includes('--report') ? ['--report', dir] : [])], {
        reject: false,
      });
      expect(r.exitCode, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      if (message) expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe('');
      expect(existsSync(dir)).toBe(false);
    },
    30_000,
  );
});

describe('a full disk: exit 2 with one line, no temporary file left, the reports on disk still valid', () => {
  const mnt = mkdtempSync(join(tmpdir(), 's2c-tiny-'));
  const mounted = execaSync('mount', ['-t', 'tmpfs', '-o', 'size=12k', 'tmpfs', mnt], { reject: false }).exitCode === 0;
  it.skipIf(!mounted)(`on a 12 KiB tmpfs${mounted ? '' : ' (skipped: cannot mount a tmpfs here; needs root)'}`, async () => {
    try {
      const dir = join(mnt, 'r');
      const r = await execa('node', [BIN, 'run', '--report', dir, '--quiet'], { reject: false, timeout: 60_000 });
      expect(r.exitCode).toBe(2);
      expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/cannot write the reports in .*ENOSPC/)]);
      const files = readdirSync(dir);
      expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
      for (const f of files) {
        const text = readFileSync(join(dir, f), 'utf8');
        if (f.endsWith('.json')) expect(() => JSON.parse(text)).not.toThrow();
        if (f === 'ktap.txt') expect(text).toMatch(/^KTAP version 1\n/);
        if (f.endsWith('.xml')) expect(text).toMatch(/<\/testsuites>\s*$/);
        if (f.endsWith('.html')) expect(text).toMatch(/<\/html>\s*$/);
      }
      expect(files).toContain('summary.json');
    } finally {
      execaSync('umount', [mnt], { reject: false });
    }
  });
});

/** Children of a process (ids from /proc), so a test can end exactly what its run started. */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** Alive and not a zombie waiting for its (new) parent to reap it. */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function checkReports(dir: string): Summary {
  const s = load(dir);
  const ktap = readFileSync(join(dir, 'ktap.txt'), 'utf8');
  expect(ktap.startsWith('KTAP version 1\n')).toBe(true);
  expect(ktap).toMatch(/\n# totals: pass \d+, fail \d+, skip \d+, error \d+/);
  expect(XMLValidator.validate(readFileSync(join(dir, 'junit.xml'), 'utf8'))).toBe(true);
  expect(readFileSync(join(dir, 'index.html'), 'utf8')).toMatch(/<\/html>\n$/);
  for (const p of s.properties) {
    expect(ktap).toContain(` ${p.name}`);
    if (p.verdict === 'fail') {
      expect(p.counterexample, p.name).toBeDefined();
      expect(p.replay, p.name).toMatch(/^npx s2conform run --target /);
    }
  }
  return s;
}

describe.skipIf(why !== undefined)(`runs on ${SPEC}${why ? ` (skipped: ${why})` : ''}`, () => {
  it('a run SIGKILLed after its first counterexample leaves valid reports of what it finished', async () => {
    const dir = tmp();
    const p = execa(
      'node',
      [
        BIN,
        'run',
        '--target',
        SPEC,
        '--profile',
        'v6.8-regression',
        '--family',
        'abort',
        '--runs',
        '60',
        '--seed',
        '3',
        '--report',
        dir,
        '--quiet',
      ],
      {
        reject: false,
      },
    );
    const deadline = Date.now() + 240_000;
    let qemu: number[] = [];
    while (Date.now() < deadline) {
      qemu = p.pid !== undefined ? childrenOf(p.pid) : [];
      const f = join(dir, 'summary.json');
      if (existsSync(f) && load(dir).properties.some((x) => x.verdict === 'fail')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    p.kill('SIGKILL');
    await p;
    try {
      // no QEMU outlives its runner (PR_SET_PDEATHSIG through setpriv): gone within 5 s of the SIGKILL
      expect(qemu.length).toBeGreaterThanOrEqual(1);
      const t0 = Date.now();
      while (qemu.some(running) && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 50));
      expect(qemu.filter(running), 'QEMU still running 5 s after its runner got SIGKILL').toEqual([]);
      const s = checkReports(dir);
      expect(s.complete).toBe(false);
      expect(s.properties.filter((x) => x.verdict === 'fail').length).toBeGreaterThanOrEqual(1);
      expect(s.target).toMatchObject({ kind: 'qemu', spec: SPEC });
    } finally {
      // QEMU loses its parent with the run: end exactly the processes that run started
      for (const pid of qemu) if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
  }, 300_000);

  it('injected deaths: results kept, errors with their reason, counterexamples on disk before the next case', async () => {
    const dir = tmp();
    const onDisk: number[] = [];
    const badDisk: string[] = [];
    // every request of the run counts; deaths of each kind, the third one twice in a row (retry too)
    const plan = new Map([
      [25, 'kill-qemu'],
      [140, 'kill-helper'],
      [300, 'hang'],
    ] as const);
    let armedRetry = false;
    const kvm: KvmTarget = new KvmTarget(SPEC, {
      consoleLog: join(dir, 'console.log'),
      hangTimeoutMs: 1500,
      faults: (n) => {
        const f = plan.get(n as 25 | 140 | 300);
        if (f === 'hang') armedRetry = true;
        else if (armedRetry && testHooks(kvm).boots === 4) {
          armedRetry = false;
          return 'kill-qemu';
        }
        return f;
      },
    });
    const wrapped: Target = {
      open: () => kvm.open(),
      // a case starts: what is on disk now must hold every property finished so far
      host: async (c) => {
        if (existsSync(join(dir, 'summary.json'))) {
          const s = load(dir);
          onDisk.push(s.properties.length);
          for (const p of s.properties) if (p.verdict === 'fail' && p.counterexample === undefined) badDisk.push(p.name);
        } else onDisk.push(-1);
        return kvm.host(c);
      },
      restart: () => kvm.restart(),
      close: () => kvm.close(),
    };
    const args: RunArgs = {
      target: SPEC,
      profile: 'v6.8-regression',
      families: ['abort'],
      property: undefined,
      runs: 40,
      seed: 3,
      path: undefined,
      strict: false,
      report: dir,
      quiet: true,
    };
    const code = await runCommand(args, '0.0.0-test', async () => wrapped);
    const s = checkReports(dir);
    expect(s.complete).toBe(true);
    expect(testHooks(kvm).injected.map((f) => f.fault)).toEqual(['kill-qemu', 'kill-helper', 'hang', 'kill-qemu']);
    const errors = s.properties.filter((p) => p.verdict === 'error');
    expect(errors).toHaveLength(1); // the case whose retry died too
    expect(errors[0]?.reason).toMatch(/^TargetDied: qemu \(max@6\.12\) ended \(signal SIGKILL\)/);
    expect(errors[0]?.counterexample).toBeUndefined();
    expect(code).toBe(s.totals.fail > 0 ? 1 : 2);
    // counterexamples on disk before the next case: at the first case of property k+1 the disk held k results
    expect(badDisk).toEqual([]);
    expect([...onDisk].sort((a, b) => a - b)).toEqual(onDisk);
    s.properties.forEach((p, k) => {
      if (k > 0 && p.verdict !== 'skip') expect(onDisk, `before ${p.name}`).toContain(k);
    });
    // the undisturbed run of the same seed: every non-error verdict identical
    const clean = tmp();
    const code2 = await runCommand({ ...args, report: clean }, '0.0.0-test');
    const base = load(clean);
    expect(code2).toBe(base.totals.fail > 0 ? 1 : 0);
    for (const p of s.properties) {
      const b = base.properties.find((x) => x.name === p.name);
      if (p.verdict === 'error') continue;
      expect({ v: p.verdict, c: p.counterexample, d: p.diff }, p.name).toEqual({ v: b?.verdict, c: b?.counterexample, d: b?.diff });
    }
  }, 900_000);
});

/** Start a run, wait until its first property is on disk (or the marker line is printed), then signal it. */
async function signalAfterStart(args: string[], dir: string, signal: 'SIGINT' | 'SIGTERM', env: Record<string, string> = {}) {
  const p = execa('node', [BIN, ...args, '--report', dir], { reject: false, env, timeout: 600_000 });
  const deadline = Date.now() + 300_000;
  let kids: number[] = [];
  while (Date.now() < deadline) {
    if (p.pid !== undefined) kids = [...new Set([...kids, ...childrenOf(p.pid)])];
    const f = join(dir, 'summary.json');
    if (existsSync(f) && load(dir).properties.length > 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  p.kill(signal);
  const r = await p;
  return { r, kids };
}

describe('Ctrl-C and SIGTERM: exit 130 / 143, reports say complete: false and which signal', () => {
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)(
    '%s during a long simulator run',
    async (signal, status) => {
      const dir = tmp();
      const { r } = await signalAfterStart(['run', '--runs', '200000', '--seed', '5', '--quiet'], dir, signal);
      expect(r.exitCode, r.stderr).toBe(status);
      expect(r.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(
          new RegExp(`^s2conform: stopped by ${signal} after \\d+ properties: target sim closed; reports \\(incomplete\\) in `),
        ),
      ]);
      const s = checkReports(dir);
      expect(s.complete).toBe(false);
      expect(s.interrupted).toBe(signal);
      expect(s.properties.length).toBeGreaterThanOrEqual(1);
      expect(readFileSync(join(dir, 'ktap.txt'), 'utf8')).toMatch(/run not finished/);
    },
    120_000,
  );
});

const realKernel61 = join(process.env['HOME'] ?? '/root', '.cache', 's2conform', 'kernels', '6.1');
// a broken kernel is named only once the helper is there (what provisioning lacks is said helper first)
const brokenCacheWhy = !existsSync(join(realKernel61, 'vmlinuz')) ? 'kernel 6.1 is not provisioned' : (helperProblem() ?? undefined);

describe(`a corrupt cache: one line naming the file and the command that repairs it, exit 4${brokenCacheWhy ? ` (the kernel cases skipped: ${brokenCacheWhy})` : ''}`, () => {
  const real = realKernel61;
  const have = brokenCacheWhy === undefined && existsSync(join(real, 'config'));
  /** A cache with kernel 6.1 copied from the real one, then broken by `breakIt`. */
  function brokenCache(breakIt: (k: string) => void): string {
    const cache = tmp();
    const k = join(cache, 'kernels', '6.1');
    mkdirSync(k, { recursive: true });
    for (const f of ['vmlinuz', 'config']) copyFileSync(join(real, f), join(k, f));
    // the marker as an older provisioning wrote it (no recorded size), so the image's own structure is checked;
    // the case that needs the recorded size adds it
    const { vmlinuzBytes: _size, ...marker } = JSON.parse(readFileSync(join(real, '.s2conform-kernel.json'), 'utf8')) as {
      vmlinuzBytes?: number;
    };
    writeFileSync(join(k, '.s2conform-kernel.json'), JSON.stringify(marker));
    breakIt(k);
    return cache;
  }
  const run = (cache: string, extra: Record<string, string> = {}) =>
    execa('node', [BIN, 'run', '--target', 'qemu:max@6.1', '--report', join(tmp(), 'r'), '--quiet'], {
      reject: false,
      timeout: 30_000,
      env: { S2CONFORM_CACHE: cache, ...extra },
    });
  it.skipIf(!have).each([
    [
      'a truncated vmlinuz',
      (k: string) => truncateSync(join(k, 'vmlinuz'), 1_000_000),
      /6\.1\/vmlinuz is truncated: its PE sections end at byte \d+, the file has 1000000: run `npm run provision -- --kernels 6\.1`$/,
    ],
    // within the signature after the PE sections: only the size the provisioning recorded tells
    [
      'a vmlinuz cut short by 100 bytes',
      (k: string) => {
        const marker = join(k, '.s2conform-kernel.json');
        const size = statSync(join(k, 'vmlinuz')).size;
        writeFileSync(marker, JSON.stringify({ ...(JSON.parse(readFileSync(marker, 'utf8')) as object), vmlinuzBytes: size }));
        truncateSync(join(k, 'vmlinuz'), size - 100);
      },
      /6\.1\/vmlinuz is \d+ bytes, \d+ when unpacked \(truncated or replaced\): run `npm run provision -- --kernels 6\.1`$/,
    ],
    ['a missing config', (k: string) => rmSync(join(k, 'config')), /6\.1\/config is missing: run `npm run provision -- --kernels 6\.1`$/],
    [
      'a corrupt marker',
      (k: string) => writeFileSync(join(k, '.s2conform-kernel.json'), '{'),
      /6\.1\/\.s2conform-kernel\.json is corrupt: run `npm run provision -- --kernels 6\.1`$/,
    ],
    [
      'something else where the image should be',
      (k: string) => writeFileSync(join(k, 'vmlinuz'), '<html>404</html>'),
      /6\.1\/vmlinuz is not an arm64 kernel Image \(16 bytes.*: run `npm run provision -- --kernels 6\.1`$/,
    ],
  ])('%s', async (_what, breakIt, message) => {
    const r = await run(brokenCache(breakIt));
    expect(r.exitCode, r.stderr).toBe(4);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(message)]);
  });
  it('a helper built for another architecture', async () => {
    const r = await run(tmp(), { S2CONFORM_HELPER: process.execPath });
    expect(r.exitCode, r.stderr).toBe(4);
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/helper .*node is built for x86-64, not aarch64: rebuild it, or unset S2CONFORM_HELPER$/),
    ]);
  });
  it('a --target path that is not an arm64 Image', async () => {
    const r = await execa('node', [BIN, 'run', '--target', `qemu:max@${BIN}`, '--report', join(tmp(), 'r')], {
      reject: false,
      timeout: 30_000,
    });
    expect(r.exitCode, r.stderr).toBe(4);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/kernel image .*s2conform\.mjs is not an arm64 kernel Image/)]);
  });
});

describe.skipIf(why !== undefined)(`hostile conditions on ${SPEC}${why ? ` (skipped: ${why})` : ''}`, () => {
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)(
    '%s during a real run: QEMU gone, exit %i, reports incomplete',
    async (signal, status) => {
      const dir = tmp();
      const { r, kids } = await signalAfterStart(
        ['run', '--target', SPEC, '--family', 'vm-create,memslot', '--runs', '2000', '--seed', '2', '--quiet'],
        dir,
        signal,
      );
      try {
        expect(r.exitCode, r.stderr).toBe(status);
        expect(r.stderr).toMatch(
          new RegExp(
            `^s2conform: stopped by ${signal} after \\d+ properties: target ${SPEC.replace('.', '\\.')} closed; reports \\(incomplete\\) in `,
          ),
        );
        expect(kids.length).toBeGreaterThanOrEqual(1); // QEMU was running under the run
        await new Promise((res) => setTimeout(res, 500));
        expect(kids.filter(alive)).toEqual([]); // and is gone: no orphaned qemu-system-aarch64
        const s = checkReports(dir);
        expect(s.complete).toBe(false);
        expect(s.interrupted).toBe(signal);
      } finally {
        for (const pid of kids) if (alive(pid)) process.kill(pid, 'SIGKILL');
      }
    },
    600_000,
  );

  it('a kernel that does not boot: exit 4 within --boot-timeout, with what the console showed', async () => {
    // an arm64 Image whose header and PE sections are intact but whose code is zeros: QEMU starts it,
    // it never prints a line
    const dir = tmp();
    const image = join(dir, 'Image');
    const real = readFileSync(join(process.env['HOME'] ?? '/root', '.cache', 's2conform', 'kernels', '6.12', 'vmlinuz'));
    real.fill(0, 0x10000);
    writeFileSync(image, real);
    const t0 = Date.now();
    const r = await execa('node', [BIN, 'run', '--target', `qemu:max@${image}`, '--boot-timeout', '20', '--report', join(dir, 'r')], {
      reject: false,
      timeout: 120_000,
    });
    expect(r.exitCode, r.stderr).toBe(4);
    expect(Date.now() - t0).toBeLessThan(60_000);
    const lines = r.stderr.trim().split('\n');
    expect(lines[0]).toMatch(/cannot be used: qemu \(max@.*Image\): no READY line from the helper within 20000 ms$/);
    expect(lines.slice(1).join('\n')).toMatch(/the console stayed empty|last console lines/);
  }, 120_000);

  it('a kernel without KVM (kvm-arm.mode=none): exit 4 with the console lines that say so', async () => {
    const dir = tmp();
    const r = await execa(
      'node',
      [BIN, 'run', '--target', SPEC, '--kernel-args', 'kvm-arm.mode=none', '--family', 'vm-create', '--report', join(dir, 'r')],
      { reject: false, timeout: 180_000 },
    );
    expect(r.exitCode, r.stderr).toBe(4);
    const lines = r.stderr.trim().split('\n');
    expect(lines[0]).toMatch(
      /cannot be used: qemu \(max@6\.12\): the kernel booted without a usable KVM \(cannot open \/dev\/kvm: No such file or directory\)$/,
    );
    expect(lines[1]).toMatch(/^ {2}last console lines \(/);
    expect(lines.length).toBeGreaterThan(3);
  }, 180_000);

  it('two documented runs at once (npx s2conform, a cold npx cache) both succeed', async () => {
    // npm 11 installs the project itself into <cache>/_npx on a first `npx s2conform`; two first
    // uses at once race there unless npm's own lock holds (npm/cli#8224, #8512)
    const npmCache = tmp();
    const one = (spec: string) =>
      execa(
        'npx',
        [
          's2conform',
          'run',
          '--target',
          spec,
          '--family',
          'vm-create',
          '--runs',
          '30',
          '--seed',
          '4',
          '--report',
          join(tmp(), 'r'),
          '--quiet',
        ],
        {
          cwd: ROOT,
          reject: false,
          timeout: 600_000,
          env: { npm_config_cache: npmCache },
        },
      );
    const [a, b] = await Promise.all([one('qemu:max@6.12'), one('qemu:cortex-a57@6.1')]);
    expect(a.exitCode, a.stderr).toBe(0);
    expect(b.exitCode, b.stderr).toBe(0);
  }, 600_000);

  it('two npm run provision at once share one cache, and a truncated kernel is fetched again', async () => {
    const cache = tmp();
    const provision = () =>
      execa('npx', ['tsx', join(ROOT, 'scripts', 'provision.ts'), '--kernels', '6.1', '--qemu', 'none', '--kernels-only', '--no-tools'], {
        cwd: ROOT,
        reject: false,
        timeout: 600_000,
        env: { S2CONFORM_CACHE: cache },
      });
    const [a, b] = await Promise.all([provision(), provision()]);
    expect(a.exitCode, a.stderr).toBe(0);
    expect(b.exitCode, b.stderr).toBe(0);
    expect(`${a.stderr}${b.stderr}`).toMatch(/waiting for the cache lock/);
    const k = join(cache, 'kernels', '6.1');
    const marker = JSON.parse(readFileSync(join(k, '.s2conform-kernel.json'), 'utf8')) as { vmlinuzBytes: number };
    expect(statSync(join(k, 'vmlinuz')).size).toBe(marker.vmlinuzBytes);
    expect(readdirSync(join(cache, 'kernels'))).toEqual(['6.1']); // no half-unpacked leftovers
    truncateSync(join(k, 'vmlinuz'), 1000);
    const c = await provision();
    expect(c.exitCode, c.stderr).toBe(0);
    expect(c.stderr + c.stdout).toMatch(/6\.1\/vmlinuz is 1000 bytes, \d+ when unpacked \(truncated or replaced\): fetching it again/);
    expect(statSync(join(k, 'vmlinuz')).size).toBe(marker.vmlinuzBytes);
  }, 600_000);
});
