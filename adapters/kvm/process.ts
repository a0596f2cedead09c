// A helper behind a child process (QEMU, the helper itself, or ssh), driven through execa: its
// stdout feeds the channel, its exit fails every pending call with TargetDied.

import { accessSync, constants, createWriteStream, existsSync, readFileSync, type WriteStream } from 'node:fs';
import { execa, execaSync, type ResultPromise } from 'execa';
import { TargetDied } from '../../core/target.ts';
import { HelperChannel, type Wire } from './channel.ts';

export interface HelperProcessOptions {
  readonly file: string;
  readonly args: readonly string[];
  /** console log path: non-helper output and stderr are appended here */
  readonly consoleLog: string;
  /** what to call the process in messages */
  readonly what: string;
  readonly readyTimeoutMs: number;
  /** send a ping this often (the guest's idle timeout must not fire while we live) */
  readonly keepaliveMs?: number;
  /** extra environment for the process */
  readonly env?: Readonly<Record<string, string>>;
  /** bytes written to stdin before any request (ssh: the helper binary, which the remote reads first) */
  readonly preamble?: Uint8Array;
}

/**
 * The child dies with this process: util-linux's setpriv sets PR_SET_PDEATHSIG (SIGKILL) and execs the
 * command, so the kernel kills QEMU (or ssh, or the helper) the moment the runner dies in any way,
 * SIGKILL and the OOM killer included, which no handler of ours sees. The same pid, no process between.
 * Without a setpriv that has --pdeathsig (BusyBox's has not: a LAVA device's rootfs) the guest's idle
 * timeout (s2c.idle) still ends a QEMU whose runner is gone.
 */
let setpriv: string | null | undefined;
function pdeathsigSetpriv(): string | null {
  if (setpriv !== undefined) return setpriv;
  setpriv = null;
  for (const f of ['/usr/bin/setpriv', '/bin/setpriv']) {
    try {
      accessSync(f, constants.X_OK);
    } catch {
      continue;
    }
    const r = execaSync(f, ['--help'], { reject: false, timeout: 5000 });
    if (`${String(r.stdout)}${String(r.stderr)}`.includes('--pdeathsig')) setpriv = f;
    break;
  }
  return setpriv;
}

export function diesWithParent(file: string, args: readonly string[]): { file: string; args: string[] } {
  const sp = pdeathsigSetpriv();
  return sp ? { file: sp, args: ['--pdeathsig', 'KILL', '--', file, ...args] } : { file, args: [...args] };
}

export class HelperProcess {
  readonly channel: HelperChannel;
  readonly started = Date.now();
  private readonly proc: ResultPromise<{ stdin: 'pipe'; stdout: 'pipe'; stderr: 'pipe'; buffer: false; reject: false }>;
  private readonly log: WriteStream;
  private exitedFlag = false;
  private keepalive: NodeJS.Timeout | undefined;
  /** resolves when the process has exited (never rejects) */
  readonly exited: Promise<void>;

  constructor(private readonly opts: HelperProcessOptions) {
    this.log = createWriteStream(opts.consoleLog, { flags: 'a', mode: 0o600 });
    this.channel = new HelperChannel({
      write: (s) => {
        this.proc.stdin.write(s);
      },
      onConsole: (line) => this.log.write(`${line}\n`),
      onFatal: (e) => {
        this.log.write(`[s2c] ${e.message}: killing ${opts.what}\n`);
        this.kill();
      },
    });
    const cmd = diesWithParent(opts.file, opts.args);
    this.proc = execa(cmd.file, [...cmd.args], {
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: false,
      reject: false,
      cleanup: true,
      ...(opts.env ? { env: opts.env } : {}),
    });
    if (opts.preamble) this.proc.stdin.write(opts.preamble);
    this.proc.stdout.setEncoding('utf8');
    this.proc.stdout.on('data', (d: string) => this.channel.feed(d));
    this.proc.stderr.setEncoding('utf8');
    this.proc.stderr.on('data', (d: string) => this.log.write(d));
    this.proc.stdin.on('error', () => {
      /* EPIPE after an exit: the exit handler reports it */
    });
    if (opts.keepaliveMs !== undefined && opts.keepaliveMs > 0) {
      this.keepalive = setInterval(() => {
        this.channel.request({ op: 'ping' }, 0).catch(() => undefined);
      }, opts.keepaliveMs);
      this.keepalive.unref();
    }
    this.exited = this.proc.then((r) => {
      this.exitedFlag = true;
      if (this.keepalive) clearInterval(this.keepalive);
      const how = r.signal ? `signal ${r.signal}` : `exit code ${String(r.exitCode)}`;
      const msg = `${opts.what} ended (${how}); console log: ${opts.consoleLog}`;
      this.log.write(`[s2c] ${msg}\n`);
      this.channel.fail(new TargetDied(msg));
    });
  }

  get alive(): boolean {
    return !this.exitedFlag;
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  waitReady(): Promise<Wire> {
    return this.channel.waitReady(this.opts.readyTimeoutMs, this.opts.what);
  }

  kill(): void {
    if (!this.exitedFlag) this.proc.kill('SIGKILL');
  }

  /** Ask the helper to power off; kill if it has not ended within graceMs. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.exitedFlag) {
      await this.closeLog();
      return;
    }
    this.channel.request({ op: 'shutdown' }, 0).catch(() => undefined);
    this.channel.flush();
    this.proc.stdin.end();
    const t = setTimeout(() => this.kill(), graceMs);
    await this.exited;
    clearTimeout(t);
    await this.closeLog();
  }

  private closeLog(): Promise<void> {
    return new Promise((resolve) => this.log.end(resolve));
  }
}

/**
 * The last lines a guest printed (kernel log and helper), indented under a failure message: why a
 * kernel did not boot, or booted without KVM, is almost always in them.
 */
export function consoleTail(consoleLog: string, lines = 12): string {
  if (!existsSync(consoleLog)) return '';
  const text = readFileSync(consoleLog, 'utf8')
    .replace(/\r/g, '')
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l !== '');
  const tail = text.slice(-lines);
  return tail.length === 0
    ? '\n  the console stayed empty (the kernel printed nothing: not an arm64 kernel, or no console on ttyAMA0?)'
    : `\n  last console lines (${consoleLog}):\n${tail.map((l) => `    ${l.slice(0, 200)}`).join('\n')}`;
}
