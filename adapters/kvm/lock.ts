// One lock over the cache: provisioning (and anything else that writes the cache) holds it, so two
// runs started together wait for each other instead of unpacking into the same place.
//
// The lock is flock(2) on a file, held by a `flock(1)` child whose stdin is a pipe from this
// process: when this process ends in any way (SIGKILL and the OOM killer included) the pipe closes,
// the child exits and the kernel drops the lock. So there is no stale lock to break, and no pid to
// judge alive: a pid means nothing across pid namespaces (containers sharing a cache), and breaking a
// lock by deleting it lets two waiters both take it. The owner file is only for the waiting message.

import { execa } from 'execa';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { cacheDir } from './paths.ts';

export class LockError extends Error {}

/** A lock held by a flock(1) child; release() lets it go and waits until it is gone. */
interface Held {
  release(): Promise<void>;
}

/** Take the flock on `path`, waiting up to waitMs; `say` is told once if it has to wait. */
function takeLock(path: string, waitMs: number, say: (owner: string) => void): Promise<Held> {
  const waitS = Math.max(1, Math.ceil(waitMs / 1000));
  // --close: the command does not inherit the lock's fd, so only flock itself holds it
  const child = execa('flock', ['--exclusive', '--close', '--wait', String(waitS), path, 'sh', '-c', 'echo locked; exec cat >/dev/null'], {
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
    buffer: false,
    reject: false,
  });
  return new Promise<Held>((resolve, reject) => {
    let stderr = '';
    let got = false;
    const waiting = setTimeout(() => say(ownerOf(path)), 200);
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      if (got || !d.includes('locked')) return;
      got = true;
      clearTimeout(waiting);
      resolve({
        release: async () => {
          child.stdin.end();
          await child;
        },
      });
    });
    void child.then((r) => {
      clearTimeout(waiting);
      if (got) return;
      if (r.exitCode === undefined) reject(new LockError(`cannot run flock(1) (util-linux) for the cache lock ${path}: ${r.shortMessage}`));
      else if (r.exitCode === 1 && stderr.trim() === '')
        reject(new LockError(`the cache lock ${path} is held by ${ownerOf(path)} for more than ${Math.round(waitMs / 60_000)} min`));
      else reject(new LockError(`flock on ${path} failed (exit ${r.exitCode}): ${stderr.trim().split('\n')[0] ?? ''}`));
    });
  });
}

function ownerOf(path: string): string {
  try {
    return readFileSync(`${path}.owner`, 'utf8').trim() || '?';
  } catch {
    return '?';
  }
}

/** lock: the lock's name under the cache (another name for another part of it, e.g. the kernel tree). */
export async function withCacheLock<T>(what: string, fn: () => Promise<T> | T, waitMs = 30 * 60_000, lock = '.lock'): Promise<T> {
  mkdirSync(cacheDir(), { recursive: true });
  const path = join(cacheDir(), `${lock}.flock`);
  const held = await takeLock(path, waitMs, (owner) => process.stderr.write(`s2conform: waiting for the cache lock (held by ${owner})\n`));
  try {
    writeFileSync(`${path}.owner`, `pid ${process.pid} on ${hostname()}: ${what}\n`);
    return await fn();
  } finally {
    await held.release();
  }
}
