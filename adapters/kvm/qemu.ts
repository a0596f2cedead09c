// Boots qemu-system-aarch64 (TCG) with a Debian arm64 kernel and the helper as /init, and hands back
// the channel to the helper.
//
// Channel: a virtio console (hvc0) when the kernel has CONFIG_VIRTIO_CONSOLE=y and
// CONFIG_VIRTIO_PCI=y built in, otherwise the PL011 serial console (ttyAMA0) shared with kernel
// messages, where helper lines carry a unique prefix and the helper puts the tty in raw mode.
// S2CONFORM_CHANNEL=pl011|virtio overrides the choice.

import { appendFileSync, closeSync, openSync } from 'node:fs';
import { execa } from 'execa';
import type { KvmMode } from '../../arch/host.ts';
import { TargetUnusable } from '../../core/target.ts';
import { configPageSize, findEmulator, type EmulatorInfo, type KernelInfo } from './paths.ts';
import { emulatorPins } from './pins.ts';
import type { Wire } from './channel.ts';
import { HelperProcess, consoleTail } from './process.ts';

/** An emulator ready to boot: the binary and what it says its version is. */
export interface Emulator extends EmulatorInfo {
  /** `--version`, first line (e.g. "QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-2+deb13u1~bpo12+1)") */
  readonly version: string;
}

const versions = new Map<string, Promise<string>>();

/**
 * The emulator a target boots under: an emulators.json name or a path (--qemu), else the pinned
 * default. One that is not provisioned is named with the command that provisions it.
 */
export async function emulatorFor(ref: string | undefined): Promise<Emulator> {
  const e = findEmulator(ref ?? emulatorPins().default);
  if (typeof e === 'string') throw new TargetUnusable(e);
  let v = versions.get(e.binary);
  if (!v) {
    v = execa(e.binary, ['--version'], { timeout: 30_000, env: { QEMU_MODULE_DIR: '/nonexistent/s2conform-no-qemu-modules' } }).then(
      (r) => String(r.stdout).split('\n')[0] ?? '',
    );
    versions.set(e.binary, v);
  }
  try {
    return { ...e, version: await v };
  } catch (err) {
    versions.delete(e.binary);
    throw new TargetUnusable(`QEMU ${e.binary} does not run: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
  }
}

export interface QemuOptions {
  readonly cpu: string;
  /** undefined: the kernel's default for the CPU */
  readonly mode: KvmMode | undefined;
  readonly mte: boolean;
  readonly kernel: KernelInfo;
  readonly emulator: Pick<Emulator, 'binary'>;
  readonly initrd: string;
  readonly consoleLog: string;
  readonly memMb?: number;
  readonly bootTimeoutMs?: number;
  /** keep the existing console log (a restart appends to it) */
  readonly appendLog?: boolean;
  /**
   * The guest powers off after this many seconds without input (default 300): the end of a run that
   * was SIGKILLed, whose QEMU would otherwise live on. The adapter pings every idleS/10 s.
   */
  readonly idleS?: number;
  /** tests: no keepalive pings (the guest then powers off after idleS) */
  readonly noKeepalive?: boolean;
  /** --kernel-args: more kernel command line, after the adapter's own */
  readonly kernelArgs?: string;
}

export const DEFAULT_IDLE_S = 300;

export type ChannelKind = 'virtio' | 'pl011';

export function chooseChannel(k: KernelInfo): ChannelKind {
  const env = process.env['S2CONFORM_CHANNEL'];
  if (env === 'pl011' || env === 'virtio') return env;
  if (k.consoleModules?.length) return 'virtio'; // the initramfs loads them (scripts/provision.ts keeps them)
  return k.config.get('CONFIG_VIRTIO_CONSOLE') === 'y' && k.config.get('CONFIG_VIRTIO_PCI') === 'y' ? 'virtio' : 'pl011';
}

/**
 * QEMU's CPU models without the 16K granule (target/arm/cpu64.c: id_aa64mmfr0 0x00001122 for
 * cortex-a53, 0x00001124 for cortex-a57 and cortex-a72, TGran16 = 0): a 16K kernel dies on them
 * before it prints a line, so the target says so before booting instead of timing out.
 */
export const NO_16K_GRANULE: readonly string[] = ['cortex-a53', 'cortex-a57', 'cortex-a72'];

export interface QemuCommand {
  readonly file: string;
  readonly args: string[];
  readonly channel: ChannelKind;
  readonly kernel: KernelInfo;
  /** the command line as summary.json records it: the initramfs and console log paths elided */
  readonly display: readonly string[];
}

export function qemuCommand(o: QemuOptions): QemuCommand {
  const k = o.kernel;
  const page = configPageSize(k.config);
  if (page === 16384 && NO_16K_GRANULE.includes(o.cpu))
    throw new TargetUnusable(
      `-cpu ${o.cpu} has no 16K granule (ID_AA64MMFR0_EL1.TGran16 = 0): it cannot boot the 16K kernel ${k.name}; use max, neoverse-n1 or cortex-a76`,
    );
  if (!/^[a-z0-9][a-z0-9-]*$/.test(o.cpu)) throw new TargetUnusable(`bad cpu model name '${o.cpu}'`);
  if (o.mte && o.cpu !== 'max') throw new TargetUnusable('mte needs -cpu max');
  const channel = chooseChannel(k);
  const machine = `virt,virtualization=on,gic-version=3${o.mte ? ',mte=on' : ''}`;
  const cpu = o.cpu === 'max' ? 'max,pauth-impdef=on' : o.cpu;
  const idle = o.idleS ?? DEFAULT_IDLE_S;
  if (!Number.isInteger(idle) || idle < 1 || idle > 86400) throw new TargetUnusable(`bad idle timeout ${idle} s`);
  const append = ['console=ttyAMA0', 'panic=-1', `s2c.tty=${channel === 'virtio' ? 'hvc0' : 'ttyAMA0'}`, `s2c.idle=${idle}`];
  if (o.mode === 'nvhe' || o.mode === 'protected') append.push(`kvm-arm.mode=${o.mode}`);
  if (o.kernelArgs) append.push(o.kernelArgs);
  const args = [
    '-M',
    machine,
    '-cpu',
    cpu,
    '-smp',
    '1',
    '-m',
    String(o.memMb ?? 1024),
    '-nographic',
    '-nic',
    'none',
    '-no-reboot',
    '-monitor',
    'none',
    '-kernel',
    k.vmlinuz,
    '-initrd',
    o.initrd,
    '-append',
    append.join(' '),
  ];
  if (channel === 'virtio') {
    args.push(
      '-chardev',
      `file,id=con,path=${o.consoleLog.replace(/,/g, ',,')},append=on`, // ',,' escapes a comma
      '-serial',
      'chardev:con',
      '-chardev',
      'stdio,id=s2c,signal=off',
      '-device',
      'virtio-serial-pci',
      '-device',
      'virtconsole,chardev=s2c',
    );
  } else {
    args.push('-chardev', 'stdio,id=con,signal=off', '-serial', 'chardev:con');
  }
  const display = [o.emulator.binary, ...args].map((a) =>
    a.replace(o.initrd, '<initramfs>').replace(o.consoleLog.replace(/,/g, ',,'), '<console.log>'),
  );
  return { file: o.emulator.binary, args, channel, kernel: k, display };
}

export interface BootedQemu {
  readonly proc: HelperProcess;
  readonly bootMs: number;
  readonly command: QemuCommand;
}

export async function bootQemu(o: QemuOptions): Promise<BootedQemu> {
  const command = qemuCommand(o);
  // A fresh log on first boot (QEMU's file chardev appends to it in virtio mode); a restart appends.
  if (!o.appendLog) closeSync(openSync(o.consoleLog, 'w', 0o600));
  else appendFileSync(o.consoleLog, `\n[s2c] ---- restart: booting again ----\n`);
  const t0 = performance.now();
  const proc = new HelperProcess({
    file: command.file,
    args: command.args,
    consoleLog: o.consoleLog,
    what: `qemu (${o.cpu}@${o.kernel.name})`,
    readyTimeoutMs: o.bootTimeoutMs ?? 120_000,
    // a pinned QEMU unpacked into the cache must not load the system QEMU's modules (audio, …): only
    // modules of the same build load, and the others fail noisily
    env: { QEMU_MODULE_DIR: '/nonexistent/s2conform-no-qemu-modules' },
    ...(o.noKeepalive ? {} : { keepaliveMs: ((o.idleS ?? DEFAULT_IDLE_S) * 1000) / 10 }),
  });
  let ready: Wire;
  try {
    ready = await proc.waitReady();
  } catch (e) {
    proc.kill();
    await proc.exited;
    throw new TargetUnusable(`${e instanceof Error ? e.message : String(e)}${consoleTail(o.consoleLog)}`);
  }
  if (ready['kvm'] !== true) {
    await proc.stop();
    const why = typeof ready['error'] === 'string' ? ready['error'] : 'no /dev/kvm';
    throw new TargetUnusable(
      `qemu (${o.cpu}@${o.kernel.name}): the kernel booted without a usable KVM (${why})${consoleTail(o.consoleLog)}`,
    );
  }
  return { proc, bootMs: Math.round(performance.now() - t0), command };
}
