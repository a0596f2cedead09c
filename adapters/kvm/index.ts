// The `kvm` adapter: a real KVM/arm64 reached through the s2c-helper (adapters/kvm/helper/).
//
// Target specs (adapters/spec.ts):
//   qemu:<cpu>[,vhe|,nvhe|,protected][,mte][,qemu=<emulator>]@<kernel>   boot QEMU TCG with a kernel
//       (a fixtures/kernels.json name, or a path to an Image the user built)
//   native                                             run the helper here (arm64 host with /dev/kvm)
//   ssh:<user@host>[:port]                             copy the helper over ssh, run it there

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { KVM_CAP_ARM_EL1_32BIT, KVM_CAP_ARM_MTE, KVM_CAP_ARM_NISV_TO_USER } from '../../arch/kvm.ts';
import {
  HostMismatch,
  TargetDied,
  TargetUnusable,
  type Capability,
  type HostConfig,
  type HostHandle,
  type Result,
  type Target,
  type TargetInfo,
  type VmHandle,
  type EmulatorRecord,
} from '../../core/target.ts';
import { hex, wNum, type HelperChannel, type Request, type Wire } from './channel.ts';
import { cacheDir, type KernelInfo } from './paths.ts';
import type { HelperProcess } from './process.ts';
import { UsageError, type TargetSpec } from '../spec.ts';
import { checkTargetSpec } from '../checkSpec.ts';
import { makeTestHooks, registerTestHooks, type Fault, type InjectedFault } from './hooks.ts';
import { kernelGeometry, kernelRecord, parseProbe, stableRelease, type KernelGeometry, type Probe } from './probe.ts';
import type { RemoteConfig } from './ssh.ts';
import { startTransport, type KvmSpec, type TransportOptions } from './transport.ts';
import { KvmVm, SLACK_MS, errnoOf, handled, helperError } from './vm.ts';
import { defined } from '../../core/object.ts';

export { notProvisioned } from './paths.ts';
export { testHooks, type Fault, type KvmTestHooks } from './hooks.ts';
export { kernelGeometry, stableRelease, type KernelGeometry, type Probe } from './probe.ts';
export { NATIVE_HELPER_ARGS, remoteHelperScript, sshArgs, sshProblem } from './ssh.ts';
export type { KvmSpec } from './transport.ts';
export { parseOutcome } from './vm.ts';

/** A spec that names no real target (unknown kernel, option, bad ssh destination) is a usage error: exit 2. */
export function parseKvmSpec(spec: string): KvmSpec {
  const s = checkTargetSpec(spec);
  if (s.kind === 'sim') throw new UsageError(`'${spec}' is the simulator, not a real target`);
  return s;
}

/** Asked before every request a host or VM handle sends (n counts from 1 per target, across restarts). */
export type FaultPlan = (n: number, op: string) => Fault | undefined;

/** The boot, QEMU, kernel and ssh options are TransportOptions (./transport.ts). */
export interface KvmTargetOptions extends TransportOptions {
  /** where console output (kernel log, QEMU stderr) goes; default under the cache dir */
  readonly consoleLog?: string;
  /** fault injection (tests): which request to interrupt, and how */
  readonly faults?: FaultPlan;
  /** how long an injected `hang` spins before the watchdog calls the target dead (default 2000 ms) */
  readonly hangTimeoutMs?: number;
  /** cases in flight at once (default PIPELINE_DEPTH, or S2CONFORM_PIPELINE); 1: one at a time */
  readonly pipelineDepth?: number;
}

function sameHost(a: HostConfig, b: HostConfig): boolean {
  return (
    a.parange === b.parange &&
    a.granule === b.granule &&
    a.lpa2 === b.lpa2 &&
    a.kernelPaBits === b.kernelPaBits &&
    a.vaBits === b.vaBits &&
    a.mode === b.mode
  );
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
  private remoteConfig: RemoteConfig | undefined;
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
      opts.consoleLog ?? join(cacheDir(), 'logs', `${specString.replace(/[^A-Za-z0-9.@-]+/g, '_')}-${process.pid}-${++logCounter}.log`);
    // the test hooks (adapters/kvm/hooks.ts), registered for testHooks(target)
    registerTestHooks(
      this,
      makeTestHooks({
        injected: this.injected,
        call: (req, timeoutMs) => this.call(req, timeoutMs),
        channel: () => this.channel,
        openChannel: () => this.proc?.channel,
        pid: () => this.proc?.pid,
        requests: () => this.requests,
        boots: () => this.opened,
      }),
    );
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
    const s = this.spec;
    const started = await startTransport(s, this.specString, this.opts, this.consoleLog, () => this.opened++ > 0);
    this.proc = started.proc;
    this.remoteConfig = started.remoteConfig;
    const { kernel, emulator, bootMs } = started;

    // A target that booted but cannot be used must not outlive open(): its QEMU would keep the run's
    // process alive (a kernel mutant whose KVM_CREATE_VM(0) fails hung the run here until a timeout).
    try {
      return await this.describe(s, kernel, emulator, bootMs);
    } catch (e) {
      await this.close();
      throw e;
    }
  }

  private async describe(
    s: TargetSpec,
    kernel: KernelInfo | undefined,
    emulator: EmulatorRecord | undefined,
    bootMs: number | undefined,
  ): Promise<TargetInfo> {
    const probe = parseProbe(await this.call({ op: 'probe' }, SLACK_MS));
    this.probeResult = probe;
    if (probe.parange === undefined)
      throw new TargetUnusable(
        `${this.specString}: the probe could not read ID_AA64MMFR0_EL1 (its scratch VM of the default type, KVM_CREATE_VM(0), could not be made)`,
      );
    const mode = probe.mode ?? (s.kind === 'qemu' ? s.mode : undefined);
    if (!mode) throw new TargetUnusable(`${this.specString}: cannot tell the KVM mode (no init line in the kernel log)`);
    if (s.kind === 'qemu' && s.mode && s.mode !== mode) {
      await this.close();
      throw new TargetUnusable(`${this.specString}: asked for ${s.mode} but KVM initialised in ${mode} mode (CPU ${s.cpu} cannot do it?)`);
    }
    let geometry: KernelGeometry;
    try {
      const cfg = kernel?.config ?? this.remoteConfig?.config ?? new Map<string, string>();
      geometry = kernelGeometry(
        cfg,
        probe,
        kernel ? (kernel.configFile ?? 'no config') : (this.remoteConfig?.from ?? 'the running kernel'),
      );
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
      for (const [k, why] of Object.entries(unsupported))
        if (typeof why === 'string') cannot[`backing-${k}` as Capability] = `${k}: ${why}`;
    const info: TargetInfo = {
      kind: s.kind,
      spec: this.specString,
      kernelRelease: probe.release,
      ...defined({ kernelVersion: stableRelease(probe) }),
      ...(kernel ? { kernel: kernelRecord(kernel, probe) } : {}),
      ...(emulator ? { emulator } : {}),
      ...(s.kind === 'qemu' ? { cpu: s.cpu } : {}),
      mode,
      ipaLimit: probe.ipaLimit,
      parange: probe.parange,
      ...defined({ bootMs }),
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
        handled(
          (async () => {
            const w = await send({ op: 'check_extension', cap }, SLACK_MS);
            helperError(w, 'check_extension');
            if (typeof w['errno'] === 'number') throw new Error(`KVM_CHECK_EXTENSION(${cap}) failed: errno ${w['errno']}`);
            return wNum(w, 'value');
          })(),
        ),
      createVm: (type: bigint, reuse?: string): Promise<Result<VmHandle>> =>
        handled(
          (async (): Promise<Result<VmHandle>> => {
            const name = `v${++this.vmCounter}`;
            const w = await send({ op: 'create_vm', vm: name, type: hex(type), ...defined({ reuse }) }, SLACK_MS);
            helperError(w, 'create_vm');
            if (typeof w['errno'] === 'number') return { errno: errnoOf(w['errno']) ?? 'EINVAL' };
            const reused = w['reused'] === true;
            if (reused) this.counts.reused++;
            else this.counts.fresh++;
            return new KvmVm(send, name, reused);
          })(),
        ),
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
}

export function kvmTarget(spec: string, opts: KvmTargetOptions = {}): KvmTarget {
  return new KvmTarget(spec, opts);
}
