// The test hooks of a kvm target (KvmTarget, ./index.ts): raw helper requests, the faults a plan
// injected, per-op timings and counters. They are not part of the Target a run uses: only tests,
// scripts and the bench reach them, through testHooks(target).

import { hex, wNum, type HelperChannel, type OpTiming, type Request, type Wire } from './channel.ts';
import { SLACK_MS, helperError } from './vm.ts';

/**
 * A fault the tests inject into a running target (robustness tests):
 * - `kill-qemu`: SIGKILL the child process (QEMU; the helper itself for native/ssh);
 * - `kill-helper`: the helper's `crash` diagnostic (it exits at once; as the guest's /init that
 *   panics the kernel and QEMU ends: `panic=-1` with `-no-reboot`);
 * - `hang`: a vCPU that spins past the watchdog (the `spin` diagnostic with a long budget): the
 *   channel times out, kills the target and fails every pending call.
 */
export type Fault = 'kill-qemu' | 'kill-helper' | 'hang';

export interface InjectedFault {
  readonly n: number;
  readonly op: string;
  readonly fault: Fault;
}

export interface KvmTestHooks {
  /** faults injected so far, in order */
  readonly injected: readonly InjectedFault[];
  /** n generated access cases run entirely inside the helper: the baseline for adapter overhead */
  batch(n: number, seed: bigint): Promise<{ n: number; ns: number; counts: Readonly<Record<string, number>> }>;
  /** a raw request to the helper */
  call(req: Request, timeoutMs?: number): Promise<Wire>;
  /**
   * Writes raw text to the helper (tests of its input handling) and returns every response it
   * answered with, in order: a ping sent after it marks the end (the helper answers in order).
   */
  exchangeRaw(text: string, timeoutMs?: number): Promise<Wire[]>;
  /** writes a raw line to the helper; answers come back as console lines */
  rawLine(line: string): void;
  /** per helper op: wall time at the head of the queue vs time inside the helper (scripts/timesplit.ts) */
  readonly timings: ReadonlyMap<string, OpTiming>;
  /** requests sent through host and VM handles so far (the fault plan's counter) */
  readonly requestCount: number;
  /** how many times open() has started the target (1 after the first boot; +1 per restart) */
  readonly boots: number;
  /** the pid of the process behind the target on this machine (QEMU, ssh or the native helper), while it runs */
  readonly pid: number | undefined;
}

const HOOKS = new WeakMap<object, KvmTestHooks>();

/** Called by the target itself, once, when it is made. */
export function registerTestHooks(target: object, hooks: KvmTestHooks): void {
  HOOKS.set(target, hooks);
}

/** The hooks of a target that has them (a kvm target), else undefined. */
export function findTestHooks(target: object): KvmTestHooks | undefined {
  return HOOKS.get(target);
}

/** The hooks of a kvm target; anything else is an error. */
export function testHooks(target: object): KvmTestHooks {
  const h = HOOKS.get(target);
  if (!h) throw new TypeError('testHooks: not a kvm target (adapters/kvm/index.ts)');
  return h;
}

/** What the hooks read of a kvm target's private state (KvmTarget, ./index.ts), each when asked. */
export interface HookSource {
  readonly injected: readonly InjectedFault[];
  /** a raw request to the helper */
  call(req: Request, timeoutMs: number): Promise<Wire>;
  /** the open channel (throws when the target is not open) */
  channel(): HelperChannel;
  /** the open channel, if any */
  openChannel(): HelperChannel | undefined;
  pid(): number | undefined;
  requests(): number;
  boots(): number;
}

/** The test hooks of one target, made when it is made. */
export function makeTestHooks(t: HookSource): KvmTestHooks {
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
      const ch = t.channel();
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
    // answers come back as console lines
    rawLine: (line) => t.channel().sendRaw(line),
    get timings(): ReadonlyMap<string, OpTiming> {
      return t.openChannel()?.timings ?? new Map();
    },
    get requestCount() {
      return t.requests();
    },
    get boots() {
      return t.boots();
    },
    get pid() {
      return t.pid();
    },
  };
}
