// How a kvm target reaches its helper: QEMU booted with the helper as /init (qemu:), the helper run
// here (native), or sent over ssh and run there (ssh:). Each ends with the helper's READY line.

import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { TargetUnusable, type EmulatorRecord } from '../../core/target.ts';
import { isPathRef, type TargetSpec } from '../spec.ts';
import { writeHelperInitramfs } from './initramfs.ts';
import { BUILT_HELPER, HELPER_PATH, cacheDir, findKernel, helperProblem, type KernelInfo } from './paths.ts';
import { HelperProcess } from './process.ts';
import { bootQemu, emulatorFor } from './qemu.ts';
import { NATIVE_HELPER_ARGS, localConfig, remoteHelperScript, sshArgs, sshCheck, type RemoteConfig } from './ssh.ts';
import { defined } from '../../core/object.ts';

export type KvmSpec = Exclude<TargetSpec, { readonly kind: 'sim' }>;

/** What starting a transport takes from the target's options (KvmTargetOptions, ./index.ts). */
export interface TransportOptions {
  readonly bootTimeoutMs?: number;
  /** QEMU: the guest powers off after this long without input (default 300 s; see qemu.ts) */
  readonly idleS?: number;
  /** tests: send no keepalive pings */
  readonly noKeepalive?: boolean;
  /** --qemu: an emulators.json name or a path to qemu-system-aarch64 (the spec's qemu= wins) */
  readonly qemu?: string;
  /** --kernel-config: the .config of a kernel given by path */
  readonly kernelConfig?: string;
  /** --kernel-args: appended to a qemu: target's kernel command line */
  readonly kernelArgs?: string;
  /** --ssh-config: the ssh client config of an ssh: target (ssh -F) */
  readonly sshConfig?: string;
}

/** A started helper, and what the target's description needs of how it was started. */
export interface Started {
  readonly proc: HelperProcess;
  readonly kernel: KernelInfo | undefined;
  readonly emulator: EmulatorRecord | undefined;
  readonly bootMs: number | undefined;
  /** native and ssh: the running kernel's config, where the machine has it (/boot/config-<release>) */
  readonly remoteConfig: RemoteConfig | undefined;
}

/**
 * Starts the helper the spec names. `booted` is called as QEMU is about to boot (the target counts its
 * boots) and says whether the console log is appended to.
 */
export async function startTransport(
  s: KvmSpec,
  specString: string,
  opts: TransportOptions,
  consoleLog: string,
  booted: () => boolean,
): Promise<Started> {
  // What the user gave is judged before what provisioning lacks, so a wrong input is named on a machine
  // that has provisioned nothing yet: S2CONFORM_HELPER and a --target path to a kernel, then the machine
  // the spec names (this one for native, the remote one for ssh:), then the helper and the named kernel.
  const k = s.kind === 'qemu' ? findKernel(s.kernel, opts.kernelConfig) : undefined;
  const kernelProblem = typeof k === 'string' ? k : undefined;
  const helper = helperProblem();
  const userKernel = s.kind === 'qemu' && isPathRef(s.kernel);
  const userHelper = HELPER_PATH !== BUILT_HELPER;
  const given = [userHelper ? helper : undefined, userKernel ? kernelProblem : undefined].find((p) => p !== undefined);
  if (given !== undefined) throw new TargetUnusable(given);
  if (s.kind === 'native') checkNativeHost();
  const ssh = s.kind === 'ssh' ? sshArgs(s, opts.sshConfig) : undefined;
  const remoteConfig = ssh ? await sshCheck(ssh, specString) : s.kind === 'native' ? localConfig() : undefined;
  const lacking = [helper, kernelProblem].find((p) => p !== undefined);
  if (lacking !== undefined) throw new TargetUnusable(lacking);
  const readyTimeoutMs = opts.bootTimeoutMs ?? 30_000;
  if (s.kind === 'qemu') {
    if (k === undefined || typeof k === 'string') throw new TargetUnusable(`${specString}: no kernel`);
    const emu = await emulatorFor(s.qemu ?? opts.qemu);
    const initrd = writeHelperInitramfs(HELPER_PATH, cacheDir(), k.consoleModules ?? []);
    const b = await bootQemu({
      cpu: s.cpu,
      mode: s.mode,
      mte: s.mte,
      kernel: k,
      emulator: emu,
      initrd,
      consoleLog,
      appendLog: booted(),
      ...defined({ idleS: opts.idleS }),
      ...(opts.noKeepalive ? { noKeepalive: true } : {}),
      ...defined({ bootTimeoutMs: opts.bootTimeoutMs }),
      ...(opts.kernelArgs ? { kernelArgs: opts.kernelArgs } : {}),
    });
    const emulator = {
      name: emu.name,
      binary: emu.binary,
      version: emu.version,
      ...(emu.packages ? { packages: emu.packages } : {}),
      command: b.command.display,
    };
    return { proc: b.proc, kernel: k, emulator, bootMs: b.bootMs, remoteConfig: undefined };
  } else if (s.kind === 'native') {
    const proc = await startProcess(HELPER_PATH, [...NATIVE_HELPER_ARGS], 'helper (native)', consoleLog, readyTimeoutMs);
    return { proc, kernel: undefined, emulator: undefined, bootMs: undefined, remoteConfig };
  } else {
    if (!ssh) throw new TargetUnusable(`${specString}: no ssh destination`);
    const helper = readFileSync(HELPER_PATH);
    const proc = await startProcess(
      'ssh',
      [...ssh, remoteHelperScript(helper.length)],
      `helper (${specString})`,
      consoleLog,
      readyTimeoutMs,
      helper,
    );
    return { proc, kernel: undefined, emulator: undefined, bootMs: undefined, remoteConfig };
  }
}

async function startProcess(
  file: string,
  args: string[],
  what: string,
  consoleLog: string,
  readyTimeoutMs: number,
  preamble?: Uint8Array,
): Promise<HelperProcess> {
  const p = new HelperProcess({ file, args, consoleLog, what, readyTimeoutMs, ...(preamble ? { preamble } : {}) });
  try {
    const ready = await p.waitReady();
    if (ready['kvm'] !== true) {
      await p.stop();
      throw new TargetUnusable(`${what}: ${typeof ready['error'] === 'string' ? ready['error'] : 'no /dev/kvm'}`);
    }
  } catch (e) {
    p.kill();
    await p.exited;
    if (e instanceof TargetUnusable) throw e;
    throw new TargetUnusable(`${what}: ${e instanceof Error ? e.message : String(e)} (log: ${consoleLog})`);
  }
  return p;
}

/** This machine as a native target: arm64 Linux with a /dev/kvm the user may open. */
function checkNativeHost(): void {
  if (process.arch !== 'arm64' || process.platform !== 'linux')
    throw new TargetUnusable(`native: this is ${process.platform}/${process.arch}, not an arm64 Linux host`);
  if (!existsSync('/dev/kvm'))
    throw new TargetUnusable(
      'native: /dev/kvm does not exist on this host (a kernel without KVM, or KVM did not initialise: dmesg | grep kvm)',
    );
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    throw new TargetUnusable(`native: no read/write access to /dev/kvm for ${userInfo().username} (add the user to the kvm group)`);
  }
}
