// The `kvm` adapter: a real KVM/arm64 reached through the s2c-helper (adapters/kvm/helper/).
//
// Target specs (adapters/spec.ts):
//   qemu:<cpu>[,vhe|,nvhe|,protected][,mte][,qemu=<emulator>]@<kernel>   boot QEMU TCG with a kernel
//       (a fixtures/kernels.json name, or a path to an Image the user built)
//   native                                             run the helper here (arm64 host with /dev/kvm)
//   ssh:<user@host>[:port]                             copy the helper over ssh, run it there

import { accessSync, constants, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { release, userInfo } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { errnoName, type Errno } from '../../arch/errno.ts';
import { KVM_MODES, granuleOfPageSize, type Granule, type KvmMode } from '../../arch/host.ts';
import { KVM_CAP_ARM_EL1_32BIT, KVM_CAP_ARM_MTE, KVM_CAP_ARM_NISV_TO_USER } from '../../arch/kvm.ts';
import {
  type BackingRequest,
  type BackingResult,
  HostMismatch,
  TargetDied,
  TargetUnusable,
  type Capability,
  type HostConfig,
  type HostHandle,
  type MemoryRegion,
  type Result,
  type RunOutcome,
  type RunRequest,
  type Target,
  type TargetInfo,
  type VmHandle,
  type KernelRecord,
  type EmulatorRecord,
} from '../../core/target.ts';
import { ProtocolError, type OpTiming, hex, wBool, wHex, wNum, wOptNum, wStr, type HelperChannel, type Request, type Wire } from './channel.ts';
import { writeHelperInitramfs } from './initramfs.ts';
import { BUILT_HELPER, HELPER_PATH, cacheDir, findKernel, helperProblem, parseConfig, type KernelInfo } from './paths.ts';
import { HelperProcess } from './process.ts';
import { UsageError, isPathRef, type TargetSpec } from '../spec.ts';
import { checkTargetSpec } from '../checkSpec.ts';
import { bootQemu, emulatorFor } from './qemu.ts';
import { registerTestHooks, type Fault, type InjectedFault, type KvmTestHooks } from './hooks.ts';
import { configPageSize } from './paths.ts';

export { notProvisioned } from './paths.ts';
export { testHooks, type Fault, type KvmTestHooks } from './hooks.ts';

/** Extra time a request may take beyond its own budget before the target counts as wedged. */
const SLACK_MS = 30_000;

export type KvmSpec = Exclude<TargetSpec, { readonly kind: 'sim' }>;

/** A spec that names no real target (unknown kernel, option, bad ssh destination) is a usage error: exit 2. */
export function parseKvmSpec(spec: string): KvmSpec {
  const s = checkTargetSpec(spec);
  if (s.kind === 'sim') throw new UsageError(`'${spec}' is the simulator, not a real target`);
  return s;
}

/** Asked before every request a host or VM handle sends (n counts from 1 per target, across restarts). */
export type FaultPlan = (n: number, op: string) => Fault | undefined;

export interface KvmTargetOptions {
  /** where console output (kernel log, QEMU stderr) goes; default under the cache dir */
  readonly consoleLog?: string;
  readonly bootTimeoutMs?: number;
  /** fault injection (tests): which request to interrupt, and how */
  readonly faults?: FaultPlan;
  /** how long an injected `hang` spins before the watchdog calls the target dead (default 2000 ms) */
  readonly hangTimeoutMs?: number;
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
  /** cases in flight at once (default PIPELINE_DEPTH, or S2CONFORM_PIPELINE); 1: one at a time */
  readonly pipelineDepth?: number;
}

/** The arguments the helper gets outside QEMU: it refuses to run on a real host without --native. */
export const NATIVE_HELPER_ARGS: readonly string[] = ['--native'];

/** What the helper's probe returned. */
export interface Probe {
  readonly api: number;
  readonly ipaLimit: number;
  readonly release: string;
  readonly machine: string;
  readonly midr: bigint | undefined;
  readonly mode: KvmMode | undefined;
  readonly parange: number | undefined;
  readonly caps: Readonly<Record<number, number>>;
  readonly kmsg: readonly string[];
  /** getpagesize() in the guest: the running kernel's page size */
  readonly pageSize: number | undefined;
  /** /proc/version: carries the upstream stable release where the release string does not */
  readonly procVersion: string | undefined;
}

function parseProbe(w: Wire): Probe {
  const caps: Record<number, number> = {};
  const c = w['caps'];
  if (typeof c === 'object' && c !== null)
    for (const [k, v] of Object.entries(c)) if (typeof v === 'number') caps[Number(k)] = v;
  const mode = KVM_MODES.find((m) => m === w['mode']);
  const kmsg = Array.isArray(w['kmsg']) ? w['kmsg'].filter((x): x is string => typeof x === 'string') : [];
  return {
    api: wNum(w, 'api'),
    ipaLimit: wNum(w, 'ipaLimit'),
    release: wStr(w, 'release'),
    machine: wStr(w, 'machine'),
    midr: typeof w['midr'] === 'string' ? wHex(w, 'midr') : undefined,
    mode,
    parange: wOptNum(w, 'parange'),
    caps,
    kmsg,
    pageSize: wOptNum(w, 'pageSize'),
    procVersion: typeof w['procVersion'] === 'string' ? w['procVersion'] : undefined,
  };
}

/**
 * The upstream release the running kernel builds: Debian's release string (5.10.0-32-cloud-arm64)
 * lacks the sublevel, its /proc/version says "Debian 5.10.223-1"; other kernels carry it in the
 * release itself (6.12.95, 7.3.0-rc7).
 */
export function stableRelease(p: Pick<Probe, 'release' | 'procVersion'>): string | undefined {
  const deb = /#\d+ [A-Z_ ]*\bDebian (\d+\.\d+\.\d+)/.exec(p.procVersion ?? ''); // "#1 SMP Debian 5.10.223-1", not gcc's "(Debian 10.2.1-6)"
  if (deb?.[1]) return deb[1];
  const own = /^(\d+\.\d+\.\d+)/.exec(p.release);
  if (own?.[1] && !/^\d+\.\d+\.0-\d+-/.test(p.release)) return own[1]; // 5.10.0-32-…: Debian's ABI name, not a sublevel
  return undefined;
}

export interface KernelGeometry {
  readonly granule: Granule;
  readonly kernelPaBits: 48 | 52;
  readonly vaBits: number;
}

/**
 * Page size, PA and VA bits: from the kernel's config where there is one, checked against what the
 * running kernel reports (getpagesize()); without a config, from the running kernel alone.
 */
export function kernelGeometry(config: ReadonlyMap<string, string>, probe: Pick<Probe, 'pageSize' | 'ipaLimit'>, from: string): KernelGeometry {
  const cfgPage = configPageSize(config);
  if (cfgPage !== undefined && probe.pageSize !== undefined && cfgPage !== probe.pageSize)
    throw new TargetUnusable(`the kernel's config (${from}) says ${cfgPage}-byte pages but the running kernel has ${probe.pageSize}: wrong --kernel-config?`);
  const page = probe.pageSize ?? cfgPage;
  const granule = page === undefined ? undefined : granuleOfPageSize(page);
  if (granule === undefined) throw new TargetUnusable(`cannot tell the kernel's page size (config: ${from}; the helper reported ${String(probe.pageSize)})`);
  const pa = config.get('CONFIG_ARM64_PA_BITS');
  const kernelPaBits = pa === '52' ? 52 : pa === '48' ? 48 : probe.ipaLimit > 48 ? 52 : 48;
  const va = Number(config.get('CONFIG_ARM64_VA_BITS'));
  return { granule, kernelPaBits, vaBits: Number.isInteger(va) && va > 0 ? va : kernelPaBits };
}

function kernelRecord(k: KernelInfo, probe: Probe): KernelRecord {
  return {
    name: k.name,
    ...(k.source.kind === 'debian' ? { suite: k.source.suite, packages: k.source.packages } : { path: k.source.path, sha256: k.source.sha256 }),
    ...(k.configFile ? { config: k.configFile } : {}),
    ...(probe.pageSize !== undefined ? { pageSize: probe.pageSize } : {}),
    ...(probe.procVersion !== undefined ? { procVersion: probe.procVersion } : {}),
    ...(k.newerThanPin ? { newerThanPin: true } : {}),
  };
}

function errnoOf(n: number): Errno | null {
  if (n === 0) return null;
  const e = errnoName(n);
  if (!e) throw new ProtocolError(`errno ${n} has no name in arch/errno.ts`);
  return e;
}

function helperError(w: Wire, what: string): void {
  const e = w['error'];
  if (typeof e === 'string') throw new Error(`${what}: helper: ${e}`);
}

function sameHost(a: HostConfig, b: HostConfig): boolean {
  return a.parange === b.parange && a.granule === b.granule && a.lpa2 === b.lpa2 && a.kernelPaBits === b.kernelPaBits && a.vaBits === b.vaBits && a.mode === b.mode;
}

let logCounter = 0;

/**
 * Cases in flight at once (core/runner.ts observes that far ahead of fast-check): enough to keep the
 * helper busy while Node generates, checks and parses; each case has its own VM, so MAX_VMS (64 in
 * the helper) bounds it. S2CONFORM_PIPELINE=1 turns it off (measurements).
 */
export const PIPELINE_DEPTH = 16;

function pipelineDepth(): number {
  const env = Number(process.env['S2CONFORM_PIPELINE']);
  return Number.isInteger(env) && env >= 1 && env <= 48 ? env : PIPELINE_DEPTH;
}

export class KvmTarget implements Target {
  readonly spec: KvmSpec;
  readonly pipelineDepth: number;
  readonly consoleLog: string;
  private proc: HelperProcess | undefined;
  private info: TargetInfo | undefined;
  private config: HostConfig | undefined;
  private vmCounter = 0;
  private probeResult: Probe | undefined;
  /** native and ssh: the running kernel's config, where the machine has it (/boot/config-<release>) */
  private remoteConfig: { readonly config: ReadonlyMap<string, string>; readonly from: string } | undefined;
  private opened = 0;
  private requests = 0;
  /** VMs the helper made afresh or handed back for reuse */
  private readonly counts = { fresh: 0, reused: 0 };
  /** faults injected so far, in order (testHooks) */
  private readonly injected: InjectedFault[] = [];

  constructor(
    readonly specString: string,
    private readonly opts: KvmTargetOptions = {},
  ) {
    this.spec = parseKvmSpec(specString);
    this.pipelineDepth = opts.pipelineDepth ?? pipelineDepth();
    this.consoleLog =
      opts.consoleLog ??
      join(cacheDir(), 'logs', `${specString.replace(/[^A-Za-z0-9.@-]+/g, '_')}-${process.pid}-${++logCounter}.log`);
    registerTestHooks(this, this.makeTestHooks());
  }

  /** The last probe (after open()). */
  get probe(): Probe | undefined {
    return this.probeResult;
  }

  private get channel(): HelperChannel {
    if (!this.proc) throw new TargetDied(`${this.specString}: not open`);
    return this.proc.channel;
  }

  async open(): Promise<TargetInfo> {
    if (this.info && this.proc?.alive) return this.info;
    mkdirSync(join(this.consoleLog, '..'), { recursive: true, mode: 0o700 });
    let bootMs: number | undefined;
    let kernel: KernelInfo | undefined;
    let emulator: EmulatorRecord | undefined;
    const s = this.spec;
    // What the user gave (a --target path to a kernel, S2CONFORM_HELPER) is judged before what
    // provisioning lacks, so a wrong input is named on a machine that has provisioned nothing yet.
    const k = s.kind === 'qemu' ? findKernel(s.kernel, this.opts.kernelConfig) : undefined;
    const kernelProblem = typeof k === 'string' ? k : undefined;
    const helper = helperProblem();
    const userKernel = s.kind === 'qemu' && isPathRef(s.kernel);
    const userHelper = HELPER_PATH !== BUILT_HELPER;
    const first = [userHelper ? helper : undefined, userKernel ? kernelProblem : undefined, helper, kernelProblem].find((p) => p !== undefined);
    if (first !== undefined) throw new TargetUnusable(first);
    if (s.kind === 'qemu') {
      if (k === undefined || typeof k === 'string') throw new TargetUnusable(`${this.specString}: no kernel`);
      kernel = k;
      const emu = await emulatorFor(s.qemu ?? this.opts.qemu);
      const initrd = writeHelperInitramfs(HELPER_PATH, cacheDir(), k.consoleModules ?? []);
      const booted = await bootQemu({
        cpu: s.cpu,
        mode: s.mode,
        mte: s.mte,
        kernel: k,
        emulator: emu,
        initrd,
        consoleLog: this.consoleLog,
        appendLog: this.opened++ > 0,
        ...(this.opts.idleS !== undefined ? { idleS: this.opts.idleS } : {}),
        ...(this.opts.noKeepalive ? { noKeepalive: true } : {}),
        ...(this.opts.bootTimeoutMs !== undefined ? { bootTimeoutMs: this.opts.bootTimeoutMs } : {}),
        ...(this.opts.kernelArgs ? { kernelArgs: this.opts.kernelArgs } : {}),
      });
      this.proc = booted.proc;
      bootMs = booted.bootMs;
      emulator = { name: emu.name, binary: emu.binary, version: emu.version, ...(emu.packages ? { packages: emu.packages } : {}), command: booted.command.display };
    } else if (s.kind === 'native') {
      if (process.arch !== 'arm64' || process.platform !== 'linux')
        throw new TargetUnusable(`native: this is ${process.platform}/${process.arch}, not an arm64 Linux host`);
      if (!existsSync('/dev/kvm')) throw new TargetUnusable('native: /dev/kvm does not exist on this host (a kernel without KVM, or KVM did not initialise: dmesg | grep kvm)');
      try {
        accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
      } catch {
        throw new TargetUnusable(`native: no read/write access to /dev/kvm for ${userInfo().username} (add the user to the kvm group)`);
      }
      this.remoteConfig = localConfig();
      this.proc = await this.startProcess(HELPER_PATH, [...NATIVE_HELPER_ARGS], 'helper (native)');
    } else {
      const ssh = sshArgs(s, this.opts.sshConfig);
      this.remoteConfig = await sshCheck(ssh, this.specString);
      const helper = readFileSync(HELPER_PATH);
      this.proc = await this.startProcess('ssh', [...ssh, remoteHelperScript(helper.length)], `helper (${this.specString})`, helper);
    }

    // A target that booted but cannot be used must not outlive open(): its QEMU would keep the run's
    // process alive (a kernel mutant whose KVM_CREATE_VM(0) fails hung the run here until a timeout).
    try {
      return await this.describe(s, kernel, emulator, bootMs);
    } catch (e) {
      await this.close();
      throw e;
    }
  }

  private async describe(s: TargetSpec, kernel: KernelInfo | undefined, emulator: EmulatorRecord | undefined, bootMs: number | undefined): Promise<TargetInfo> {
    const probe = parseProbe(await this.call({ op: 'probe' }, SLACK_MS));
    this.probeResult = probe;
    if (probe.parange === undefined) throw new TargetUnusable(`${this.specString}: the probe could not read ID_AA64MMFR0_EL1 (its scratch VM of the default type, KVM_CREATE_VM(0), could not be made)`);
    const mode = probe.mode ?? (s.kind === 'qemu' ? s.mode : undefined);
    if (!mode) throw new TargetUnusable(`${this.specString}: cannot tell the KVM mode (no init line in the kernel log)`);
    if (s.kind === 'qemu' && s.mode && s.mode !== mode) {
      await this.close();
      throw new TargetUnusable(`${this.specString}: asked for ${s.mode} but KVM initialised in ${mode} mode (CPU ${s.cpu} cannot do it?)`);
    }
    let geometry: KernelGeometry;
    try {
      const cfg = kernel?.config ?? this.remoteConfig?.config ?? new Map<string, string>();
      geometry = kernelGeometry(cfg, probe, kernel ? (kernel.configFile ?? 'no config') : (this.remoteConfig?.from ?? 'the running kernel'));
    } catch (e) {
      await this.close();
      throw e;
    }
    const config: HostConfig = {
      parange: probe.parange,
      granule: geometry.granule,
      lpa2: geometry.granule !== 64 && geometry.kernelPaBits === 52 && probe.parange === 6,
      kernelPaBits: geometry.kernelPaBits,
      vaBits: geometry.vaBits,
      mode,
    };
    this.config = config;
    const cannot: Partial<Record<Capability, string>> = {
      'host-any': 'a real KVM host has one fixed HostConfig',
    };
    if (!probe.caps[KVM_CAP_ARM_EL1_32BIT]) cannot.aarch32 = 'KVM_CAP_ARM_EL1_32BIT is 0 on this target (no AArch32 EL1)';
    if (!probe.caps[KVM_CAP_ARM_MTE]) cannot.mte = 'KVM_CAP_ARM_MTE is 0 on this target (use qemu:max,mte@...)';
    if (!probe.caps[KVM_CAP_ARM_NISV_TO_USER]) cannot.nisv = 'KVM_CAP_ARM_NISV_TO_USER is 0 on this target';
    // mte family: the backing kinds the helper cannot make here (adapters/kvm/helper/mte.c)
    const unsupported = probe.caps[KVM_CAP_ARM_MTE] ? (await this.call({ op: 'backing_probe' }, SLACK_MS))['unsupported'] : undefined;
    if (typeof unsupported === 'object' && unsupported !== null)
      for (const [k, why] of Object.entries(unsupported)) if (typeof why === 'string') cannot[`backing-${k}` as Capability] = `${k}: ${why}`;
    const info: TargetInfo = {
      kind: s.kind,
      spec: this.specString,
      kernelRelease: probe.release,
      ...(stableRelease(probe) !== undefined ? { kernelVersion: stableRelease(probe) } : {}),
      ...(kernel ? { kernel: kernelRecord(kernel, probe) } : {}),
      ...(emulator ? { emulator } : {}),
      ...(s.kind === 'qemu' ? { cpu: s.cpu } : {}),
      mode,
      ipaLimit: probe.ipaLimit,
      parange: probe.parange,
      ...(bootMs !== undefined ? { bootMs } : {}),
      caps: probe.caps,
      host: config,
      cannot,
    };
    this.info = info;
    return info;
  }

  /** Reboot (QEMU) or restart the helper, e.g. after TargetDied. */
  async restart(): Promise<void> {
    await this.close();
    await this.open();
  }

  vmCounts(): { readonly fresh: number; readonly reused: number } {
    return { ...this.counts };
  }

  bootLog(): readonly string[] | undefined {
    return this.probeResult?.kmsg;
  }

  async close(): Promise<void> {
    const p = this.proc;
    this.proc = undefined;
    this.info = undefined;
    if (p) await p.stop();
  }

  async host(config: HostConfig): Promise<HostHandle> {
    if (!this.config || !this.proc?.alive) throw new TargetDied(`${this.specString}: not open (or died): call open()/restart()`);
    if (!sameHost(config, this.config))
      throw new HostMismatch(`${this.specString} has host ${JSON.stringify(this.config)}, asked for ${JSON.stringify(config)}`);
    const channel = this.channel;
    const fixed = this.config;
    const send = (req: Request, timeoutMs: number): Promise<Wire> => handled(this.send(channel, req, timeoutMs));
    return {
      config: fixed,
      checkExtension: (cap: number): Promise<number> =>
        handled((async () => {
            const w = await send({ op: 'check_extension', cap }, SLACK_MS);
            helperError(w, 'check_extension');
            if (typeof w['errno'] === 'number') throw new Error(`KVM_CHECK_EXTENSION(${cap}) failed: errno ${w['errno']}`);
            return wNum(w, 'value');
        })()),
      createVm: (type: bigint, reuse?: string): Promise<Result<VmHandle>> =>
        handled((async (): Promise<Result<VmHandle>> => {
            const name = `v${++this.vmCounter}`;
            const w = await send({ op: 'create_vm', vm: name, type: hex(type), ...(reuse !== undefined ? { reuse } : {}) }, SLACK_MS);
            helperError(w, 'create_vm');
            if (typeof w['errno'] === 'number') return { errno: errnoOf(w['errno']) ?? 'EINVAL' };
            const reused = w['reused'] === true;
            if (reused) this.counts.reused++;
            else this.counts.fresh++;
            return new KvmVm(send, name, reused);
        })()),
    };
  }

  /** Sends one request of a host or VM handle, after injecting the fault the plan asks for. */
  private send(ch: HelperChannel, req: Request, timeoutMs: number): Promise<Wire> {
    const n = ++this.requests;
    const fault = this.opts.faults?.(n, req.op);
    if (fault) {
      this.injected.push({ n, op: req.op, fault });
      this.inject(ch, fault, n);
    }
    return ch.request(req, timeoutMs);
  }

  private inject(ch: HelperChannel, fault: Fault, n: number): void {
    const ignore = (): undefined => undefined;
    if (fault === 'kill-qemu') this.proc?.kill();
    else if (fault === 'kill-helper') ch.request({ op: 'crash' }, 0).catch(ignore);
    else {
      const vm = `fault-hang-${n}`;
      const access = { kind: 'load', size: 8, ipa: '0x200000', data: '0x0', syndromeValid: true };
      ch.request({ op: 'create_vm', vm, type: '0x0' }, SLACK_MS).catch(ignore);
      ch.request({ op: 'run', vm, state: 'el1h', spin: true, access, budgetMs: 600_000 }, this.opts.hangTimeoutMs ?? 2000).catch(ignore);
    }
  }

  /** A raw request to the helper (the probe; tests and benchmarks through testHooks). */
  private call(req: Request, timeoutMs = SLACK_MS): Promise<Wire> {
    return this.channel.request(req, timeoutMs);
  }

  /** The test hooks (adapters/kvm/hooks.ts), registered for testHooks(target). */
  private makeTestHooks(): KvmTestHooks {
    const t = this;
    return {
      injected: t.injected,
      async batch(n, seed) {
        const w = await t.call({ op: 'batch', family: 'access', n, seed: hex(seed) }, SLACK_MS + n * 100);
        helperError(w, 'batch');
        const counts: Record<string, number> = {};
        const c = w['counts'];
        if (typeof c === 'object' && c !== null) for (const [k, v] of Object.entries(c)) if (typeof v === 'number') counts[k] = v;
        return { n: wNum(w, 'n'), ns: wNum(w, 'ns'), counts };
      },
      call: (req, timeoutMs = SLACK_MS) => t.call(req, timeoutMs),
      async exchangeRaw(text, timeoutMs = SLACK_MS) {
        const ch = t.channel;
        const got: Wire[] = [];
        ch.onStray = (w) => got.push(w);
        try {
          ch.sendRaw(text);
          await ch.request({ op: 'ping' }, timeoutMs);
        } finally {
          ch.onStray = undefined;
        }
        return got;
      },
      rawLine: (line) => t.rawLine(line),
      get timings(): ReadonlyMap<string, OpTiming> {
        return t.proc?.channel.timings ?? new Map();
      },
      get requestCount() {
        return t.requests;
      },
      get boots() {
        return t.opened;
      },
      get pid() {
        return t.proc?.pid;
      },
    };
  }

  /** Writes a raw line to the helper (tests of its input handling); answers come back as console lines. */
  private rawLine(line: string): void {
    this.channel.sendRaw(line);
  }

  private async startProcess(file: string, args: string[], what: string, preamble?: Uint8Array): Promise<HelperProcess> {
    const p = new HelperProcess({ file, args, consoleLog: this.consoleLog, what, readyTimeoutMs: this.opts.bootTimeoutMs ?? 30_000, ...(preamble ? { preamble } : {}) });
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
      throw new TargetUnusable(`${what}: ${e instanceof Error ? e.message : String(e)} (log: ${this.consoleLog})`);
    }
    return p;
  }

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
    '-o', 'BatchMode=yes',
    '-o', 'PreferredAuthentications=publickey',
    '-o', 'PasswordAuthentication=no',
    '-o', 'KbdInteractiveAuthentication=no',
    '-o', 'ConnectTimeout=10',
    '-o', 'ServerAliveInterval=5',
    '-o', 'ServerAliveCountMax=3',
    '-o', 'LogLevel=ERROR',
    '--', s.dest,
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
    'trap "rm -rf \"$d\"" EXIT',
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
export function sshProblem(spec: string, r: { readonly exitCode: number | undefined; readonly stdout: string; readonly stderr: string }): string | undefined {
  const err = r.stderr.trim().split('\n').filter((l) => l.trim() !== '').slice(-1)[0] ?? '';
  if (r.exitCode === 255 || r.exitCode === undefined) {
    if (/Permission denied/.test(r.stderr)) return `${spec}: the key was refused (ssh: ${err}); the target logs in with keys only (BatchMode): ssh-copy-id, or IdentityFile in --ssh-config`;
    if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/.test(r.stderr)) return `${spec}: the host key is not in known_hosts (ssh: ${err}); log in once by hand to accept it`;
    return `${spec}: unreachable (ssh: ${err || `exit ${String(r.exitCode)}`})`;
  }
  if (r.exitCode !== 0) return `${spec}: the remote shell failed (exit ${r.exitCode}): ${err}`;
  const v = (k: string): string => r.stdout.split('\n').find((l) => l.startsWith(`${k}=`))?.slice(k.length + 1).trim() ?? '';
  if (v('machine') !== 'aarch64') return `${spec}: the host is ${v('machine') || 'unknown'}, not aarch64: KVM/arm64 needs an arm64 machine`;
  if (v('kvm') === 'absent') return `${spec}: no /dev/kvm on the host (a kernel without KVM, or KVM did not initialise: dmesg | grep kvm)`;
  if (v('kvm') === 'denied') return `${spec}: no read/write access to /dev/kvm for ${v('user')} (add the user to the kvm group)`;
  return undefined;
}

async function sshCheck(ssh: readonly string[], spec: string): Promise<{ config: ReadonlyMap<string, string>; from: string } | undefined> {
  const r = await execa('ssh', [...ssh, SSH_CHECK], { reject: false, timeout: 30_000 });
  const res = { exitCode: r.timedOut ? undefined : r.exitCode, stdout: String(r.stdout), stderr: r.timedOut ? 'no answer within 30 s' : String(r.stderr) };
  const problem = sshProblem(spec, res);
  if (problem) throw new TargetUnusable(problem);
  const cfg = res.stdout.split('---config---\n')[1] ?? '';
  const release = /^release=(.*)$/m.exec(res.stdout)?.[1]?.trim() ?? '';
  return cfg.includes('CONFIG_') ? { config: parseConfig(cfg), from: `${spec}:/boot/config-${release}` } : undefined;
}

/** native: the running kernel's config, where this machine keeps it. */
function localConfig(): { config: ReadonlyMap<string, string>; from: string } | undefined {
  const f = `/boot/config-${release()}`;
  return existsSync(f) ? { config: parseConfig(readFileSync(f, 'utf8')), from: f } : undefined;
}

/**
 * Marks a call's promise as handled, so a target that dies under pipelined calls (an observer
 * awaiting one of several in flight) never leaves an unhandled rejection, which would end the
 * whole Node process; whoever awaits the promise still gets the rejection.
 */
function handled<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

class KvmVm implements VmHandle {
  private destroyed = false;

  setMemoryRegion(r: MemoryRegion): Promise<{ readonly errno: Errno | null }> {
    return handled(this.doSetMemoryRegion(r));
  }

  enableCap(cap: number, args: readonly bigint[], flags = 0): Promise<{ readonly errno: Errno | null }> {
    return handled(this.doEnableCap(cap, args, flags));
  }

  /** mte family: VMM memory of a backing kind (adapters/kvm/helper/mte.c). */
  mapBacking(b: BackingRequest): Promise<BackingResult> {
    return handled((async (): Promise<BackingResult> => {
      const at = b.at !== undefined ? { at: hex(b.at) } : {};
      const w = await this.send({ op: 'backing', kind: b.kind, shared: b.shared, size: hex(b.size), ...at }, SLACK_MS);
      helperError(w, 'backing');
      return typeof w['unsupported'] === 'string' ? { unsupported: w['unsupported'] } : { uaddr: wHex(w, 'uaddr') };
    })());
  }

  unmapBacking(uaddr: bigint, size: bigint): Promise<void> {
    return handled((async () => helperError(await this.send({ op: 'unbacking', at: hex(uaddr), size: hex(size) }, SLACK_MS), 'unbacking'))());
  }

  run(req: RunRequest): Promise<RunOutcome> {
    return handled(this.doRun(req));
  }

  /**
   * Queued, not awaited: the channel is ordered, so every later request sees
   * the VM gone, and a case does not pay a round trip for its clean-up. A
   * helper that died under it fails the next request instead.
   */
  destroy(): Promise<void> {
    void handled(this.doDestroy());
    return Promise.resolve();
  }

  constructor(
    private readonly send: (req: Request, timeoutMs: number) => Promise<Wire>,
    private readonly name: string,
    readonly reused: boolean,
  ) {}

  private async doSetMemoryRegion(r: MemoryRegion): Promise<{ readonly errno: Errno | null }> {
    if (this.destroyed) return { errno: 'EBADF' };
    const w = await this.send(
      {
        op: 'set_memslot',
        vm: this.name,
        slot: r.slot,
        flags: r.flags,
        gpa: hex(r.guestPhysAddr),
        size: hex(r.memorySize),
        uaddr: r.userspaceAddr === 'auto' ? 'auto' : hex(r.userspaceAddr),
      },
      SLACK_MS,
    );
    helperError(w, 'set_memslot');
    return { errno: errnoOf(wNum(w, 'errno')) };
  }

  private async doEnableCap(cap: number, args: readonly bigint[], flags: number): Promise<{ readonly errno: Errno | null }> {
    if (this.destroyed) return { errno: 'EBADF' };
    const w = await this.send({ op: 'enable_cap', vm: this.name, cap, flags, args: args.map(hex) }, SLACK_MS);
    helperError(w, 'enable_cap');
    return { errno: errnoOf(wNum(w, 'errno')) };
  }

  private async doRun(req: RunRequest): Promise<RunOutcome> {
    if (this.destroyed) return { kind: 'run-errno', errno: 'EBADF' };
    if (req.tagAccess) throw new Error('tag accesses (LDG) are not in the helper\'s guest code: simulator only');
    const budgetMs = req.budgetMs ?? 2000;
    const a = req.access;
    const w = await this.send(
      {
        op: 'run',
        vm: this.name,
        state: req.state,
        nisvToUser: req.nisvToUser,
        access: { kind: a.kind, size: a.size, ipa: hex(a.ipa), data: hex(a.data), syndromeValid: a.syndromeValid },
        budgetMs,
      },
      budgetMs + SLACK_MS,
    );
    helperError(w, 'run');
    return parseOutcome(w);
  }

  private async doDestroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    const w = await this.send({ op: 'destroy_vm', vm: this.name }, SLACK_MS);
    helperError(w, 'destroy_vm');
  }
}

export function parseOutcome(w: Wire): RunOutcome {
  const o = wStr(w, 'outcome');
  switch (o) {
    case 'completed':
      return typeof w['value'] === 'string' ? { kind: 'completed', value: wHex(w, 'value') } : { kind: 'completed' };
    case 'mmio':
      return { kind: 'mmio', physAddr: wHex(w, 'physAddr'), len: wNum(w, 'len'), isWrite: wBool(w, 'isWrite'), data: wHex(w, 'data') };
    case 'nisv':
      return { kind: 'nisv', esrIss: wHex(w, 'esrIss'), faultIpa: wHex(w, 'faultIpa') };
    case 'run_errno': {
      const e = errnoOf(wNum(w, 'errno'));
      if (!e) throw new ProtocolError('run_errno with errno 0');
      return { kind: 'run-errno', errno: e };
    }
    case 'exception':
      return { kind: 'exception', vector: wNum(w, 'vector'), esr: wHex(w, 'esr'), far: wHex(w, 'far') };
    case 'hang':
      return { kind: 'hang' };
    default:
      throw new ProtocolError(`unknown outcome '${o}'`);
  }
}

export function kvmTarget(spec: string, opts: KvmTargetOptions = {}): KvmTarget {
  return new KvmTarget(spec, opts);
}
