// Boots the test VM: QEMU TCG with EL2, one of the provisioned kernels, the test VM's initramfs, and
// user networking whose one forward is 127.0.0.1:<port> → the guest's port 22 (restrict=on: the guest
// reaches nothing else). A key pair and a known_hosts file are made per boot in a private directory,
// with an ssh config naming them: `ssh -F <dir>/ssh_config root@127.0.0.1 -p <port>` logs in.

import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { execa, type ResultPromise } from 'execa';
import type { KvmMode } from '../arch/host.ts';
import { findKernel } from '../adapters/kvm/paths.ts';
import { emulatorFor } from '../adapters/kvm/qemu.ts';
import { testVmInitramfs } from './image.ts';
import type { TestVmImage } from './pins.ts';

export interface TestVmOptions {
  readonly kernel: string;
  readonly cpu?: string;
  readonly mode?: KvmMode;
  readonly image?: TestVmImage;
  /** the guest powers off after this long (0: never); a test's VM must not outlive a killed test */
  readonly lifetimeS?: number;
  readonly memMb?: number;
  readonly bootTimeoutMs?: number;
  /** more kernel command line (e.g. kvm-arm.mode=none for a machine without KVM) */
  readonly kernelArgs?: string;
}

export interface TestVm {
  readonly port: number;
  /** the ssh: target spec that reaches it */
  readonly spec: string;
  /** ssh config with the per-boot key and known_hosts (pass as --ssh-config) */
  readonly sshConfig: string;
  /** the private directory of the key, known_hosts and config */
  readonly dir: string;
  readonly consoleLog: string;
  /** `uname -r` of the guest, from its ready line */
  readonly release: string;
  readonly command: readonly string[];
  /** runs a shell command in the guest as `user` (default root) */
  ssh(command: string, user?: string): Promise<{ exitCode: number | undefined; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export async function bootTestVm(o: TestVmOptions): Promise<TestVm> {
  const k = findKernel(o.kernel);
  if (typeof k === 'string') throw new Error(k);
  const emu = await emulatorFor(undefined);
  const image = o.image ?? 'ssh';
  const initrd = testVmInitramfs(image, o.kernel);
  const dir = mkdtempSync(join(tmpdir(), 's2c-testvm-'));
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 's2conform-testvm', '-f', join(dir, 'id_ed25519')]);
  const pub = readFileSync(join(dir, 'id_ed25519.pub'), 'utf8').split(' ')[1] ?? '';
  const consoleLog = join(dir, 'console.log');
  const cpu = o.cpu ?? 'max';
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const append = ['console=ttyAMA0', 'panic=-1', `s2ctv.key=${pub}`, `s2ctv.lifetime=${o.lifetimeS ?? 0}`];
    if (o.mode === 'nvhe' || o.mode === 'protected') append.push(`kvm-arm.mode=${o.mode}`);
    if (o.kernelArgs) append.push(o.kernelArgs);
    const args = [
      '-M',
      'virt,virtualization=on,gic-version=3',
      '-cpu',
      cpu === 'max' ? 'max,pauth-impdef=on' : cpu,
      '-smp',
      '1',
      '-m',
      String(o.memMb ?? (image === 'node' ? 3072 : 1024)),
      '-nographic',
      '-monitor',
      'none',
      '-no-reboot',
      '-chardev',
      'stdio,id=con,signal=off',
      '-serial',
      'chardev:con',
      '-netdev',
      `user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:${port}-:22`,
      '-device',
      'virtio-net-pci,netdev=net0,romfile=', // no option ROM: nothing boots from the network
      '-kernel',
      k.vmlinuz,
      '-initrd',
      initrd,
      '-append',
      append.join(' '),
    ];
    const log = createWriteStream(consoleLog, { flags: 'a', mode: 0o600 });
    const proc: ResultPromise = execa(emu.binary, args, {
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: false,
      reject: false,
      cleanup: true,
      env: { QEMU_MODULE_DIR: '/nonexistent/s2conform-no-qemu-modules' },
    });
    let text = '';
    let exited = false;
    proc.stdout?.on('data', (d: Buffer) => {
      log.write(d);
      text += d.toString('utf8');
    });
    proc.stderr?.on('data', (d: Buffer) => {
      log.write(d);
      text += d.toString('utf8');
    });
    const done = proc.then(() => {
      exited = true;
    });
    const stop = async (): Promise<void> => {
      if (!exited) proc.kill('SIGKILL');
      await done;
      await new Promise((r) => log.end(r));
    };
    const deadline = Date.now() + (o.bootTimeoutMs ?? 180_000);
    let ready: RegExpExecArray | null = null;
    let hostkey: RegExpExecArray | null = null;
    while (!exited && Date.now() < deadline) {
      hostkey ??= /s2c-testvm: hostkey (ssh-ed25519 \S+)/.exec(text);
      ready = /s2c-testvm: ready (\S+) (\S+) kvm=(\w+)/.exec(text);
      if (ready && hostkey) break;
      await delay(100);
    }
    if (!ready || !hostkey) {
      await stop();
      if (/Could not set up host forwarding rule/.test(text) && attempt < 3) continue; // the port was taken meanwhile
      rmSync(dir, { recursive: true, force: true });
      throw new Error(
        `test VM (${cpu}@${o.kernel}) ${exited ? 'ended' : 'did not come up'} before its ready line; last output:\n${text.split('\n').slice(-30).join('\n')}`,
      );
    }
    writeFileSync(join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${hostkey[1] ?? ''}\n`, { mode: 0o600 });
    const sshConfig = join(dir, 'ssh_config');
    writeFileSync(
      sshConfig,
      [
        `# s2conform test VM ${cpu}@${o.kernel}, port ${port}: written per boot, removed when it stops`,
        'Host 127.0.0.1 s2c-testvm',
        '  HostName 127.0.0.1',
        `  Port ${port}`,
        '  User root',
        `  IdentityFile ${join(dir, 'id_ed25519')}`,
        '  IdentitiesOnly yes',
        `  UserKnownHostsFile ${join(dir, 'known_hosts')}`,
        '  StrictHostKeyChecking yes',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    const ssh = async (command: string, user = 'root') => {
      const r = await execa(
        'ssh',
        ['-F', sshConfig, '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=20', '-p', String(port), `${user}@127.0.0.1`, command],
        { reject: false, timeout: 120_000 },
      );
      return { exitCode: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
    };
    // dropbear is exec'd right after the ready line: the first connection may find it not yet listening
    for (let i = 0; ; i++) {
      const r = await ssh('true');
      if (r.exitCode === 0) break;
      if (i >= 20 || exited) {
        await stop();
        rmSync(dir, { recursive: true, force: true });
        throw new Error(`test VM: ssh to 127.0.0.1:${port} fails: ${r.stderr.trim()}`);
      }
      await delay(500);
    }
    return {
      port,
      spec: `ssh:root@127.0.0.1:${port}`,
      sshConfig,
      dir,
      consoleLog,
      release: ready[2] ?? '',
      command: [emu.binary, ...args],
      ssh,
      stop: async () => {
        await stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
}
