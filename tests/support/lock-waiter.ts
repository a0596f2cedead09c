// A process that takes the cache lock (S2CONFORM_CACHE) and logs when it holds it, for tests/lock.test.ts:
//   lock-waiter.ts <log> <id> <holdMs>   append "enter <id> <ms>" and, holdMs later, "leave <id> <ms>"
//   lock-waiter.ts <log> <id> forever    append "enter <id> <ms>", then hold the lock until killed
import { appendFileSync } from 'node:fs';
import { withCacheLock } from '../../adapters/kvm/lock.ts';

const [log, id, hold] = process.argv.slice(2);
if (log === undefined || id === undefined || hold === undefined) throw new Error('usage: lock-waiter.ts <log> <id> <holdMs|forever>');
const now = () => (performance.timeOrigin + performance.now()).toFixed(3);
await withCacheLock(`test waiter ${id}`, async () => {
  appendFileSync(log, `enter ${id} ${now()}\n`);
  if (hold === 'forever') await new Promise(() => setInterval(() => undefined, 1 << 30));
  await new Promise((r) => setTimeout(r, Number(hold)));
  appendFileSync(log, `leave ${id} ${now()}\n`);
});
