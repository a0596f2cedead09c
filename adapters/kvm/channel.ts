// The request/response channel to the helper: line-delimited JSON, pipelined (many requests in
// flight, responses matched by id). Helper lines carry the prefix "@S2C@ "; everything else the
// stream carries (kernel console output on a serial line) goes to the console sink.

import { TargetDied } from '../../core/target.ts';

export const HELPER_PREFIX = '@S2C@ ';

/** A response object as the helper sent it (validated to be a JSON object). */
export type Wire = Readonly<Record<string, unknown>>;

export type Request = Readonly<Record<string, unknown>> & { readonly op: string };

interface Pending {
  readonly resolve: (w: Wire) => void;
  readonly reject: (e: Error) => void;
  /** how long the helper may work on this request once it is at the head of the queue */
  readonly timeoutMs: number;
  readonly op: string;
  readonly sentNs: bigint;
}

/** Per op: how many, the time each spent at the head of the queue (sent or previous answer → answer), and the helper's own share. */
export interface OpTiming {
  n: number;
  wallNs: bigint;
  helperNs: bigint;
}

export interface ChannelOptions {
  /** Writes one chunk to the helper's input. */
  readonly write: (s: string) => void;
  /** Receives every line that is not a helper line (console output), without its newline. */
  readonly onConsole: (line: string) => void;
  /** Called once when the channel fails (timeout, malformed stream): the owner kills the target. */
  readonly onFatal: (e: TargetDied) => void;
}

export class HelperChannel {
  private buf = '';
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private dead: TargetDied | undefined;
  private readyWaiters: { resolve: (w: Wire) => void; reject: (e: Error) => void }[] = [];
  private ready: Wire | undefined;
  /** watchdog for the oldest pending request (the helper answers in order) */
  private watchdog: NodeJS.Timeout | undefined;
  private watchedId = 0;
  private lastAnswerNs = 0n;
  /** where a case's time goes (scripts/timesplit.ts): per op, wall time at the head of the queue vs time inside the helper */
  readonly timings = new Map<string, OpTiming>();
  /** receives helper responses that answer no pending request (tests of the helper's input handling) */
  onStray: ((w: Wire) => void) | undefined;

  constructor(private readonly opts: ChannelOptions) {}

  get inFlight(): number {
    return this.pending.size;
  }

  /** Feed output of the helper's stream (any chunking). */
  feed(chunk: string): void {
    this.buf += chunk;
    for (let nl = this.buf.indexOf('\n'); nl >= 0; nl = this.buf.indexOf('\n')) {
      const line = this.buf.slice(0, nl).replace(/\r/g, '');
      this.buf = this.buf.slice(nl + 1);
      this.line(line);
    }
  }

  private line(line: string): void {
    const at = line.indexOf(HELPER_PREFIX);
    if (at < 0) {
      this.opts.onConsole(line);
      return;
    }
    if (at > 0) this.opts.onConsole(line.slice(0, at));
    const text = line.slice(at + HELPER_PREFIX.length);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      this.opts.onConsole(`[s2c] unparseable helper line: ${text}`);
      this.fatal(new TargetDied(`helper sent an unparseable line: ${text.slice(0, 200)}`));
      return;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      this.fatal(new TargetDied(`helper sent a non-object: ${text.slice(0, 200)}`));
      return;
    }
    const w = parsed as Wire;
    // the startup line ({"ready":true,...}, or {"ready":false,"error":..} from a helper that refuses to run)
    if (typeof w['ready'] === 'boolean' && !('id' in w)) {
      this.ready = w;
      for (const r of this.readyWaiters) r.resolve(w);
      this.readyWaiters = [];
      return;
    }
    const id = w['id'];
    if (typeof id !== 'number') {
      // {id:null,error}: a line the helper could not parse. We never send those, so a request line
      // was damaged on the way; its own request then times out through the watchdog.
      this.opts.onConsole(`[s2c] helper answered without an id: ${text}`);
      this.onStray?.(w);
      return;
    }
    const p = this.pending.get(id);
    if (!p) {
      this.opts.onConsole(`[s2c] response for unknown id ${id}: ${text}`);
      this.onStray?.(w);
      return;
    }
    this.pending.delete(id);
    this.rearm(true);
    const now = process.hrtime.bigint();
    const t = this.timings.get(p.op) ?? { n: 0, wallNs: 0n, helperNs: 0n };
    t.n++;
    t.wallNs += now - (p.sentNs > this.lastAnswerNs ? p.sentNs : this.lastAnswerNs);
    if (typeof w['helperNs'] === 'number') t.helperNs += BigInt(w['helperNs']);
    this.timings.set(p.op, t);
    this.lastAnswerNs = now;
    p.resolve(w);
  }

  /**
   * The helper works through requests in order, so only the oldest pending one is being worked on:
   * it gets its own timeout, counted from when it reached the head of the queue.
   */
  private rearm(progress: boolean): void {
    const head = this.pending.entries().next();
    if (head.done) {
      if (this.watchdog) clearTimeout(this.watchdog);
      this.watchdog = undefined;
      this.watchedId = 0;
      return;
    }
    const [id, p] = head.value;
    if (!progress && this.watchedId === id) return;
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchedId = id;
    this.watchdog =
      p.timeoutMs > 0
        ? setTimeout(() => {
            this.fatal(new TargetDied(`no response to ${p.op} (id ${id}) within ${p.timeoutMs} ms`));
          }, p.timeoutMs)
        : undefined;
  }

  /** Resolves with the helper's READY object. */
  waitReady(timeoutMs: number, what: string): Promise<Wire> {
    if (this.ready) return Promise.resolve(this.ready);
    if (this.dead) return Promise.reject(this.dead);
    return new Promise<Wire>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new TargetDied(`${what}: no READY line from the helper within ${timeoutMs} ms`));
      }, timeoutMs);
      this.readyWaiters.push({
        resolve: (w) => {
          clearTimeout(timer);
          resolve(w);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  /**
   * Sends one request; resolves with the response object. timeoutMs: a response later than this
   * means the target is wedged (lost line, dead guest) and fails the whole channel.
   */
  request(req: Request, timeoutMs: number): Promise<Wire> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise<Wire>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, timeoutMs, op: req.op, sentNs: process.hrtime.bigint() });
      this.rearm(false);
      this.queue(`${JSON.stringify({ id, ...req })}\n`);
    });
  }

  /**
   * Requests made in one turn of the event loop go out in one write: the helper then reads them
   * together and answers them in one write too (under TCG every console transfer costs a guest exit).
   */
  private queue(line: string): void {
    this.outBuf += line;
    if (this.flushing) return;
    this.flushing = true;
    setImmediate(() => this.flush());
  }

  /** Writes what is queued now (before the owner closes the helper's input). */
  flush(): void {
    this.flushing = false;
    const s = this.outBuf;
    this.outBuf = '';
    if (this.dead || s === '') return;
    try {
      this.opts.write(s);
    } catch (e) {
      this.fatal(new TargetDied(`cannot write to the helper: ${String(e)}`));
    }
  }

  private outBuf = '';
  private flushing = false;

  /** Writes a raw line (tests of the helper's input handling). */
  sendRaw(line: string): void {
    this.queue(line.endsWith('\n') ? line : `${line}\n`);
  }

  /** The stream ended or the process died: reject everything now and later. */
  fail(e: TargetDied): void {
    if (this.dead) return;
    this.dead = e;
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = undefined;
    for (const [, p] of this.pending) p.reject(e);
    this.pending.clear();
    for (const r of this.readyWaiters) r.reject(e);
    this.readyWaiters = [];
  }

  private fatal(e: TargetDied): void {
    if (this.dead) return;
    this.fail(e);
    this.opts.onFatal(e);
  }

  get failed(): TargetDied | undefined {
    return this.dead;
  }
}

// ---- typed access to response fields --------------------------------------------------------------

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
}

export function wNum(w: Wire, k: string): number {
  const v = w[k];
  if (typeof v !== 'number') throw new ProtocolError(`helper response: ${k} is not a number: ${JSON.stringify(w)}`);
  return v;
}

export function wOptNum(w: Wire, k: string): number | undefined {
  const v = w[k];
  return typeof v === 'number' ? v : undefined;
}

export function wStr(w: Wire, k: string): string {
  const v = w[k];
  if (typeof v !== 'string') throw new ProtocolError(`helper response: ${k} is not a string: ${JSON.stringify(w)}`);
  return v;
}

export function wBool(w: Wire, k: string): boolean {
  const v = w[k];
  if (typeof v !== 'boolean') throw new ProtocolError(`helper response: ${k} is not a boolean: ${JSON.stringify(w)}`);
  return v;
}

export function wHex(w: Wire, k: string): bigint {
  const v = w[k];
  if (typeof v !== 'string' || !/^0x[0-9a-fA-F]{1,16}$/.test(v))
    throw new ProtocolError(`helper response: ${k} is not a 0x.. value: ${JSON.stringify(w)}`);
  return BigInt(v);
}

export function hex(v: bigint): string {
  if (v < 0n || v > 0xffff_ffff_ffff_ffffn) throw new RangeError(`not a u64: ${v}`);
  return `0x${v.toString(16)}`;
}
