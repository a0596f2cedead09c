// The ssh: target for real, against the test VM (testvm/): an arm64 machine with sshd and
// /dev/kvm, booted in QEMU TCG with EL2. The same properties give the same verdicts as qemu: on the
// same kernel and CPU, the helper leaves nothing behind, and each way a remote can be unusable is
// one clear line (exit 4). Needs `npm run provision -- --testvm ssh`; skips with the reason otherwise.

import { execa } from 'execa';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notProvisioned } from '../adapters/kvm/index.ts';
import type { Summary } from '../core/result.ts';
import { bootTestVm, freePort, type TestVm } from '../testvm/boot.ts';
import { testVmProblem } from '../testvm/provision.ts';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 's2conform.mjs');
const KERNEL = '6.12';
const FAMILIES = 'vm-create,memslot,abort';
const SEED = '20261130';
const why = notProvisioned([KERNEL]) ?? testVmProblem('ssh', KERNEL);
const tmp = (): string => mkdtempSync(join(tmpdir(), 's2c-ssh-'));
const load = (dir: string): Summary => JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as Summary;
const verdicts = (s: Summary): Record<string, string> => Object.fromEntries(s.properties.map((p) => [`${p.family}/${p.name}`, p.verdict]));

const listening = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const c = connect(port, '127.0.0.1', () => {
      c.destroy();
      resolve(true);
    });
    c.on('error', () => resolve(false));
  });

function run(args: string[], timeout = 600_000) {
  const report = args.includes('--report') ? [] : ['--report', tmp()]; // nothing left in reports/
  return execa('node', [BIN, 'run', ...args, ...report], { cwd: ROOT, reject: false, timeout });
}

/** Kills the dropbear process that serves each helper session in the guest: a connection dropped by the far end. */
const KILL_SESSIONS = (once: boolean): string =>
  `setsid sh -c 'while :; do for h in $(pidof s2c-helper); do s=$(cut -d" " -f4 /proc/$h/stat); d=$(cut -d" " -f4 /proc/$s/stat); kill -9 $d && ${once ? 'exit 0' : 'true'}; done; sleep 0.2; done' > /dev/null 2>&1 < /dev/null &`;

describe.skipIf(why !== undefined)(`ssh: against the test VM (max@${KERNEL})${why ? ` [skipped: ${why}]` : ''}`, () => {
  let vm: TestVm;
  let qemuDir: string;

  beforeAll(async () => {
    // one QEMU at a time: the qemu: run first, then the test VM
    qemuDir = tmp();
    const q = await run([
      '--target',
      `qemu:max@${KERNEL}`,
      '--family',
      FAMILIES,
      '--runs',
      '100',
      '--seed',
      SEED,
      '--report',
      qemuDir,
      '--quiet',
    ]);
    expect(q.exitCode, q.stderr).toBe(0);
    vm = await bootTestVm({ kernel: KERNEL, cpu: 'max', lifetimeS: 1800 });
  }, 900_000);

  afterAll(async () => {
    await vm?.stop();
  }, 60_000);

  const target = (): string[] => ['--target', vm.spec, '--ssh-config', vm.sshConfig];

  it('gives the verdicts qemu: gives on the same kernel and CPU (vm-create, memslot, abort at 100 runs), and leaves nothing on the remote', async () => {
    const dir = tmp();
    const r = await run([...target(), '--family', FAMILIES, '--runs', '100', '--seed', SEED, '--report', dir, '--quiet']);
    expect(r.exitCode, r.stderr).toBe(0);
    const ssh = load(dir);
    const qemu = load(qemuDir);
    expect(verdicts(ssh)).toEqual(verdicts(qemu));
    expect(Object.keys(verdicts(ssh)).length).toBeGreaterThanOrEqual(9);
    expect(ssh.properties.map((p) => p.runs)).toEqual(qemu.properties.map((p) => p.runs));
    expect(ssh.totals.pass).toBeGreaterThan(0);
    // the target info comes from the remote itself, and describes the same host as the qemu: boot
    const [st, qt] = [ssh.target, qemu.target] as Record<string, unknown>[];
    expect(st?.['kind']).toBe('ssh');
    expect(st?.['kernelRelease']).toBe(vm.release);
    expect(st?.['host']).toEqual(qt?.['host']);
    expect([st?.['ipaLimit'], st?.['parange'], st?.['mode']]).toEqual([qt?.['ipaLimit'], qt?.['parange'], qt?.['mode']]);
    const left = await vm.ssh('ls -A /tmp');
    expect(left.stdout.trim()).toBe('');
  }, 600_000);

  it('an unreachable host: one line, exit 4', async () => {
    const r = await run(['--target', 'ssh:root@127.0.0.1:1', '--family', 'vm-create', '--runs', '5']);
    expect(r.exitCode).toBe(4);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/ssh:root@127\.0\.0\.1:1: unreachable \(ssh: .*Connection refused/);
  }, 60_000);

  it('a refused key: one line, exit 4', async () => {
    const dir = tmp();
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'other')]);
    const cfg = readFileSync(vm.sshConfig, 'utf8').replace(/IdentityFile .*/, `IdentityFile ${join(dir, 'other')}`);
    writeFileSync(join(dir, 'ssh_config'), cfg);
    const r = await run(['--target', vm.spec, '--ssh-config', join(dir, 'ssh_config'), '--family', 'vm-create', '--runs', '5']);
    expect(r.exitCode).toBe(4);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/the key was refused \(ssh: .*Permission denied/);
  }, 60_000);

  it('no permission on /dev/kvm (a user outside the kvm group): one line, exit 4', async () => {
    const r = await run([
      '--target',
      `ssh:nokvm@127.0.0.1:${vm.port}`,
      '--ssh-config',
      vm.sshConfig,
      '--family',
      'vm-create',
      '--runs',
      '5',
    ]);
    expect(r.exitCode).toBe(4);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/no read\/write access to \/dev\/kvm for nokvm/);
  }, 60_000);

  it('no /dev/kvm on the host: one line, exit 4', async () => {
    expect((await vm.ssh('mv /dev/kvm /dev/kvm.off')).exitCode).toBe(0);
    try {
      const r = await run([...target(), '--family', 'vm-create', '--runs', '5']);
      expect(r.exitCode).toBe(4);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/no \/dev\/kvm on the host/);
    } finally {
      expect((await vm.ssh('mv /dev/kvm.off /dev/kvm')).exitCode).toBe(0);
    }
  }, 60_000);

  it('a connection dropped once mid-run is retried: the run completes with the same verdicts', async () => {
    const clean = tmp();
    const args = ['--family', 'memslot', '--runs', '60', '--seed', SEED, '--quiet'];
    expect((await run([...target(), ...args, '--report', clean])).exitCode).toBe(0);
    const dir = tmp();
    const child = run([...target(), ...args, '--report', dir]);
    expect((await vm.ssh(KILL_SESSIONS(true))).exitCode).toBe(0);
    const r = await child;
    expect(r.exitCode, r.stderr).toBe(0);
    expect(verdicts(load(dir))).toEqual(verdicts(load(clean)));
    const log = readFileSync(join(dir, 'console.log'), 'utf8');
    expect(log).toMatch(/\[s2c\] helper \(ssh:.*\) ended/); // the drop happened, and the run went on
  }, 300_000);

  it('a connection dropped when the host then stays out of reach: retried once, then error; nothing counts as pass or fail (exit 2)', async () => {
    const dir = tmp();
    // drop the helper's session, then refuse every new login: the retry's reconnect fails
    const away = 'mv /root/.ssh/authorized_keys /root/.ssh/away';
    await vm.ssh(KILL_SESSIONS(true).replace('exit 0', `${away}; exit 0`));
    // the VM's last test: root stays locked out after it
    const r = await run([...target(), '--property', 'memslot/sequence', '--runs', '1000', '--seed', SEED, '--report', dir, '--quiet']);
    expect(r.exitCode, r.stderr).toBe(2);
    const s = load(dir);
    expect(s.totals).toMatchObject({ pass: 0, fail: 0, error: 1 });
    expect(s.properties[0]?.verdict).toBe('error');
    expect(JSON.stringify(s.properties[0])).toMatch(/the key was refused/);
  }, 300_000);
});

// A host that is not arm64: this x86_64 machine itself, reached through Debian's dropbear listening on
// 127.0.0.1 for the test's length, with a per-test key bind-mounted over root's home in a private mount
// namespace (the machine's own files are untouched). Needs root and dropbear-bin; skips otherwise.
const x86Why =
  process.getuid?.() !== 0
    ? 'needs root (a mount namespace for the key)'
    : !['/usr/sbin/dropbear', '/usr/bin/dropbear'].some(existsSync)
      ? 'dropbear-bin is not installed (.ci/run installs it)'
      : undefined;

describe.skipIf(x86Why !== undefined)(`ssh: a host that is not arm64${x86Why ? ` [skipped: ${x86Why}]` : ''}`, () => {
  it('one line naming the machine, exit 4', async () => {
    const dir = tmp();
    const home = join(dir, 'home');
    mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'id')]);
    writeFileSync(join(home, '.ssh', 'authorized_keys'), readFileSync(join(dir, 'id.pub')), { mode: 0o600 });
    await execa('dropbearkey', ['-t', 'ed25519', '-f', join(dir, 'hostkey')]);
    const hostPub =
      String((await execa('dropbearkey', ['-y', '-f', join(dir, 'hostkey')])).stdout)
        .split('\n')
        .find((l) => l.startsWith('ssh-ed25519')) ?? '';
    const port = await freePort();
    writeFileSync(join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${hostPub.split(' ').slice(0, 2).join(' ')}\n`);
    const sshd = execa(
      'unshare',
      ['-m', 'sh', '-c', `mount --bind ${home} /root && exec dropbear -F -E -s -p 127.0.0.1:${port} -r ${join(dir, 'hostkey')}`],
      { reject: false },
    );
    for (let i = 0; i < 50 && !(await listening(port)); i++) await delay(100);
    writeFileSync(
      join(dir, 'ssh_config'),
      [
        'Host x86-box',
        '  HostName 127.0.0.1',
        `  Port ${port}`,
        '  User root',
        `  IdentityFile ${join(dir, 'id')}`,
        '  IdentitiesOnly yes',
        `  UserKnownHostsFile ${join(dir, 'known_hosts')}`,
        '  StrictHostKeyChecking yes',
        '',
      ].join('\n'),
    );
    const r = await run(['--target', 'ssh:x86-box', '--ssh-config', join(dir, 'ssh_config'), '--family', 'vm-create', '--runs', '5']);
    sshd.kill();
    await sshd;
    expect(r.exitCode, r.stderr).toBe(4);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/ssh:x86-box: the host is x86_64, not aarch64/);
  }, 60_000);
});
