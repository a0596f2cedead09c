// The cache lock (adapters/kvm/lock.ts) under the races that broke the old one: a holder that died,
// two waiters racing for its lock, and a holder whose pid lives in another pid namespace.
import { execa, execaSync } from 'execa';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const WAITER = join(ROOT, 'tests', 'support', 'lock-waiter.ts');
// one process per waiter (the tsx command would put a second node under it, which a SIGKILL of the first misses)
const NODE_TSX = [process.execPath, '--import', 'tsx'] as const;

interface Interval {
  readonly id: string;
  readonly enter: number;
  readonly leave: number;
}

function intervals(log: string): Interval[] {
  const ev = readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(' ') as [string, string, string]);
  return ev
    .filter(([k]) => k === 'enter')
    .map(([, id, t]) => ({ id, enter: Number(t), leave: Number(ev.find(([k, i]) => k === 'leave' && i === id)?.[2] ?? Infinity) }));
}

/** A waiter process; `wrap` runs it under another command (unshare). */
function waiter(cache: string, log: string, id: string, hold: string, wrap: readonly string[] = []) {
  const [file = process.execPath, ...args] = [...wrap, ...NODE_TSX, WAITER, log, id, hold];
  return execa(file, args, { cwd: ROOT, env: { S2CONFORM_CACHE: cache }, reject: false });
}

async function until(what: () => boolean, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!what()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const entered = (log: string, id: string) => existsSync(log) && readFileSync(log, 'utf8').includes(`enter ${id} `);

describe('the cache lock', () => {
  // The old lock broke a dead holder's lock with rm: two waiters that both found the holder dead could
  // each take it (the second deleting the first's). Six waiters racing for it make that window likely.
  it('waiters racing for the lock of a holder that was SIGKILLed: one at a time, all get it', async () => {
    const ids = ['a', 'b', 'c', 'd', 'e', 'f'];
    for (let round = 0; round < 3; round++) {
      const cache = mkdtempSync(join(tmpdir(), 's2c-lock-'));
      const log = join(cache, 'log');
      const dead = waiter(cache, log, 'dead', 'forever');
      await until(() => entered(log, 'dead'), 30_000);
      // all start while the holder lives, so all find it dead at about the same moment
      const ws = ids.map((id) => waiter(cache, log, id, '100'));
      await new Promise((r) => setTimeout(r, 3000));
      dead.kill('SIGKILL');
      const rs = await Promise.all(ws);
      await dead;
      for (const r of rs) expect(r.exitCode, String(r.stderr)).toBe(0);
      const iv = intervals(log)
        .filter((i) => i.id !== 'dead')
        .sort((x, y) => x.enter - y.enter);
      expect(iv.map((i) => i.id).sort()).toEqual(ids);
      for (let i = 1; i < iv.length; i++)
        expect(iv[i]!.enter, `round ${round}: two held it at once: ${JSON.stringify(iv)}`).toBeGreaterThanOrEqual(iv[i - 1]!.leave);
    }
  }, 120_000);

  it('a waiter says once who holds it, and takes it when the holder lets go', async () => {
    const cache = mkdtempSync(join(tmpdir(), 's2c-lock-'));
    const log = join(cache, 'log');
    const first = waiter(cache, log, 'first', '1500');
    await until(() => entered(log, 'first'), 30_000);
    const second = await waiter(cache, log, 'second', '10');
    await first;
    expect(second.exitCode).toBe(0);
    expect(String(second.stderr).trim().split('\n')).toEqual([
      expect.stringMatching(/^s2conform: waiting for the cache lock \(held by pid \d+ on .*: test waiter first\)$/),
    ]);
    const iv = intervals(log);
    expect(iv.find((i) => i.id === 'second')!.enter).toBeGreaterThanOrEqual(iv.find((i) => i.id === 'first')!.leave);
  }, 60_000);

  // A holder in its own pid namespace is pid 1 there: a pid check from outside would judge the wrong process.
  const unshare = process.getuid?.() === 0 && execaSyncOk(['unshare', '--pid', '--fork', 'true']);
  it.skipIf(!unshare)(
    `a holder in another pid namespace is waited for${unshare ? '' : ' (skipped: needs root and unshare --pid)'}`,
    async () => {
      const cache = mkdtempSync(join(tmpdir(), 's2c-lock-'));
      const log = join(cache, 'log');
      const holder = waiter(cache, log, 'ns', '2000', ['unshare', '--pid', '--fork']);
      await until(() => entered(log, 'ns'), 30_000);
      const outside = await waiter(cache, log, 'outside', '10');
      await holder;
      expect(outside.exitCode).toBe(0);
      const iv = intervals(log);
      expect(iv.find((i) => i.id === 'outside')!.enter).toBeGreaterThanOrEqual(iv.find((i) => i.id === 'ns')!.leave);
    },
    60_000,
  );
});

function execaSyncOk(cmd: readonly [string, ...string[]]): boolean {
  const [file, ...args] = cmd;
  return execaSync(file, args, { reject: false }).exitCode === 0;
}
