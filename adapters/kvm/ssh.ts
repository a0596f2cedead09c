// The helper outside QEMU: its arguments there, and the ssh plumbing of an ssh: target (the ssh
// arguments, the remote script, the checks before the helper is sent); native's kernel config.

import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { execa } from 'execa';
import { TargetUnusable } from '../../core/target.ts';
import { parseConfig } from './paths.ts';

/** The arguments the helper gets outside QEMU: it refuses to run on a real host without --native. */
export const NATIVE_HELPER_ARGS: readonly string[] = ['--native'];

/** native and ssh: the running kernel's config, where the machine has it, and where it was read. */
export interface RemoteConfig {
  readonly config: ReadonlyMap<string, string>;
  readonly from: string;
}

/**
 * ssh with key authentication only, no prompt, no tty, and timeouts: a host that stops answering
 * fails the channel within 15 s (ServerAlive), which the run treats as a dead target.
 */
export function sshArgs(s: { readonly dest: string; readonly port: number | undefined }, config: string | undefined): string[] {
  return [
    ...(config !== undefined ? ['-F', config] : []),
    ...(s.port !== undefined ? ['-p', String(s.port)] : []),
    '-T',
    '-o',
    'BatchMode=yes',
    '-o',
    'PreferredAuthentications=publickey',
    '-o',
    'PasswordAuthentication=no',
    '-o',
    'KbdInteractiveAuthentication=no',
    '-o',
    'ConnectTimeout=10',
    '-o',
    'ServerAliveInterval=5',
    '-o',
    'ServerAliveCountMax=3',
    '-o',
    'LogLevel=ERROR',
    '--',
    s.dest,
  ];
}

/**
 * The remote side of an ssh: target, one connection: a private directory, the helper read from stdin
 * (exactly its size; nothing else is sent until it answers READY), run, and the directory removed when
 * the helper ends, whichever way. Plain sh and head -c: busybox, dropbear and OpenSSH all have them,
 * and neither scp nor sftp is assumed.
 */
export function remoteHelperScript(size: number): string {
  const script = [
    'umask 077',
    'd=$(mktemp -d /tmp/s2c-helper.XXXXXX) || exit 97',
    'trap "rm -rf "$d"" EXIT',
    'trap "exit 129" HUP',
    'trap "exit 143" TERM',
    `head -c ${size} > "$d/s2c-helper" || exit 98`,
    'chmod 700 "$d/s2c-helper"',
    `"$d/s2c-helper" ${NATIVE_HELPER_ARGS.join(' ')}`,
  ].join('; ');
  return `sh -c '${script}'`;
}

/** What an ssh: target checks before it sends the helper: one line each, a config after a marker. */
const SSH_CHECK = [
  'echo "machine=$(uname -m)"',
  'echo "user=$(id -un)"',
  'if [ ! -e /dev/kvm ]; then echo kvm=absent; elif [ -r /dev/kvm ] && [ -w /dev/kvm ]; then echo kvm=rw; else echo kvm=denied; fi',
  'echo "release=$(uname -r)"',
  'echo ---config---',
  'cat "/boot/config-$(uname -r)" 2>/dev/null || zcat /proc/config.gz 2>/dev/null || true',
].join('; ');

/** One line per way an ssh: target can be unusable before the helper runs. */
export function sshProblem(
  spec: string,
  r: { readonly exitCode: number | undefined; readonly stdout: string; readonly stderr: string },
): string | undefined {
  const err =
    r.stderr
      .trim()
      .split('\n')
      .filter((l) => l.trim() !== '')
      .slice(-1)[0] ?? '';
  if (r.exitCode === 255 || r.exitCode === undefined) {
    if (/Permission denied/.test(r.stderr))
      return `${spec}: the key was refused (ssh: ${err}); the target logs in with keys only (BatchMode): ssh-copy-id, or IdentityFile in --ssh-config`;
    if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/.test(r.stderr))
      return `${spec}: the host key is not in known_hosts (ssh: ${err}); log in once by hand to accept it`;
    return `${spec}: unreachable (ssh: ${err || `exit ${String(r.exitCode)}`})`;
  }
  if (r.exitCode !== 0) return `${spec}: the remote shell failed (exit ${r.exitCode}): ${err}`;
  const v = (k: string): string =>
    r.stdout
      .split('\n')
      .find((l) => l.startsWith(`${k}=`))
      ?.slice(k.length + 1)
      .trim() ?? '';
  if (v('machine') !== 'aarch64') return `${spec}: the host is ${v('machine') || 'unknown'}, not aarch64: KVM/arm64 needs an arm64 machine`;
  if (v('kvm') === 'absent') return `${spec}: no /dev/kvm on the host (a kernel without KVM, or KVM did not initialise: dmesg | grep kvm)`;
  if (v('kvm') === 'denied') return `${spec}: no read/write access to /dev/kvm for ${v('user')} (add the user to the kvm group)`;
  return undefined;
}

export async function sshCheck(ssh: readonly string[], spec: string): Promise<RemoteConfig | undefined> {
  const r = await execa('ssh', [...ssh, SSH_CHECK], { reject: false, timeout: 30_000 });
  const res = {
    exitCode: r.timedOut ? undefined : r.exitCode,
    stdout: String(r.stdout),
    stderr: r.timedOut ? 'no answer within 30 s' : String(r.stderr),
  };
  const problem = sshProblem(spec, res);
  if (problem) throw new TargetUnusable(problem);
  const cfg = res.stdout.split('---config---\n')[1] ?? '';
  const release = /^release=(.*)$/m.exec(res.stdout)?.[1]?.trim() ?? '';
  return cfg.includes('CONFIG_') ? { config: parseConfig(cfg), from: `${spec}:/boot/config-${release}` } : undefined;
}

/** native: the running kernel's config, where this machine keeps it. */
export function localConfig(): RemoteConfig | undefined {
  const f = `/boot/config-${release()}`;
  return existsSync(f) ? { config: parseConfig(readFileSync(f, 'utf8')), from: f } : undefined;
}
