// Requests to the helper and what they answer: the VM handle (KvmVm: memslots, caps, backing memory,
// runs) and the decoding of a run's outcome.

import { errnoName, type Errno } from '../../arch/errno.ts';
import type { BackingRequest, BackingResult, MemoryRegion, RunOutcome, RunRequest, VmHandle } from '../../core/target.ts';
import { ProtocolError, hex, wBool, wHex, wNum, wStr, type Request, type Wire } from './channel.ts';

/** Extra time a request may take beyond its own budget before the target counts as wedged. */
export const SLACK_MS = 30_000;

export function errnoOf(n: number): Errno | null {
  if (n === 0) return null;
  const e = errnoName(n);
  if (!e) throw new ProtocolError(`errno ${n} has no name in arch/errno.ts`);
  return e;
}

export function helperError(w: Wire, what: string): void {
  const e = w['error'];
  if (typeof e === 'string') throw new Error(`${what}: helper: ${e}`);
}

/**
 * Marks a call's promise as handled, so a target that dies under pipelined calls (an observer
 * awaiting one of several in flight) never leaves an unhandled rejection, which would end the
 * whole Node process; whoever awaits the promise still gets the rejection.
 */
export function handled<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

export class KvmVm implements VmHandle {
  private destroyed = false;

  setMemoryRegion(r: MemoryRegion): Promise<{ readonly errno: Errno | null }> {
    return handled(this.doSetMemoryRegion(r));
  }

  enableCap(cap: number, args: readonly bigint[], flags = 0): Promise<{ readonly errno: Errno | null }> {
    return handled(this.doEnableCap(cap, args, flags));
  }

  /** mte family: VMM memory of a backing kind (adapters/kvm/helper/mte.c). */
  mapBacking(b: BackingRequest): Promise<BackingResult> {
    return handled(
      (async (): Promise<BackingResult> => {
        const at = b.at !== undefined ? { at: hex(b.at) } : {};
        const w = await this.send({ op: 'backing', kind: b.kind, shared: b.shared, size: hex(b.size), ...at }, SLACK_MS);
        helperError(w, 'backing');
        return typeof w['unsupported'] === 'string' ? { unsupported: w['unsupported'] } : { uaddr: wHex(w, 'uaddr') };
      })(),
    );
  }

  unmapBacking(uaddr: bigint, size: bigint): Promise<void> {
    return handled(
      (async () => helperError(await this.send({ op: 'unbacking', at: hex(uaddr), size: hex(size) }, SLACK_MS), 'unbacking'))(),
    );
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
    if (req.tagAccess) throw new Error("tag accesses (LDG) are not in the helper's guest code: simulator only");
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
