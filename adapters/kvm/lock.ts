// One lock over the cache: provisioning (and anything else that writes the cache) holds it, so two
// runs started together wait for each other instead of unpacking into the same place. The lock is a
// directory (mkdir is atomic) with the holder's pid; a holder that died leaves a lock the next taker
// breaks.

import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { cacheDir } from './paths.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** lock: the lock's name under the cache (another name for another part of it, e.g. the kernel tree). */
export async function withCacheLock<T>(what: string, fn: () => Promise<T> | T, waitMs = 30 * 60_000, lock = '.lock'): Promise<T> {
  mkdirSync(cacheDir(), { recursive: true });
  const dir = join(cacheDir(), lock);
  const t0 = Date.now();
  let said = false;
  for (;;) {
    try {
      mkdirSync(dir);
      writeFileSync(join(dir, 'owner'), `${process.pid} ${what}\n`);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let owner = '';
      try {
        owner = readFileSync(join(dir, 'owner'), 'utf8').trim();
      } catch {
        // taken a moment ago: the owner file is not written yet
      }
      const pid = Number(owner.split(' ')[0]);
      if (owner !== '' && !alive(pid)) {
        rmSync(dir, { recursive: true, force: true }); // its holder died
        continue;
      }
      if (Date.now() - t0 > waitMs) throw new Error(`the cache ${cacheDir()} is locked by ${owner || '?'} for more than ${waitMs / 60_000} min`);
      if (!said) process.stderr.write(`s2conform: waiting for the cache lock (held by pid ${owner || '?'})\n`);
      said = true;
      await delay(200);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
