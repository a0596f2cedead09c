// `s2conform run --jobs N`: the pool the jobs take properties from, and on the simulator the worker
// threads that are its jobs.

import { Worker } from 'node:worker_threads';
import type { AnyProperty } from '../core/property.ts';
import type { PropertyResult } from '../core/result.ts';
import type { SimJobData } from './runShared.ts';

/**
 * A pool: each runner takes the next property; results are handed to `inOrder` in suite order, so
 * the report (and every verdict: each property runs from the seed alone) is that of --jobs 1.
 */
export async function runPooled(
  props: readonly AnyProperty[],
  runners: readonly ((p: AnyProperty) => Promise<PropertyResult>)[],
  stopped: () => boolean,
  inOrder: (p: AnyProperty, r: PropertyResult, k: number) => void,
): Promise<void> {
  const done: (PropertyResult | undefined)[] = props.map(() => undefined);
  let next = 0;
  let flushed = 0;
  const flush = () => {
    while (flushed < props.length && done[flushed] !== undefined) {
      inOrder(props[flushed] as AnyProperty, done[flushed] as PropertyResult, flushed);
      flushed++;
    }
  };
  await Promise.all(
    runners.map(async (run) => {
      for (;;) {
        const k = next++;
        const p = props[k];
        if (p === undefined || stopped()) return;
        done[k] = await run(p);
        if (!stopped()) flush();
      }
    }),
  );
}

export interface SimThread {
  run(id: string): Promise<PropertyResult>;
}

/** N simulator jobs in worker threads (cli/simWorker.ts), each ready before the run starts. */
export async function simPool(n: number, data: SimJobData): Promise<{ threads: SimThread[]; stop: () => Promise<void> }> {
  const all = Array.from({ length: n }, () => new Worker(new URL('./simWorker.mjs', import.meta.url), { workerData: data }));
  const threads = await Promise.all(
    all.map(
      (w) =>
        new Promise<SimThread>((resolve, reject) => {
          const pending = new Map<number, { done: (r: PropertyResult) => void; fail: (e: Error) => void }>();
          let next = 0;
          // a thread that fails fails what it was running (the run reports it), never hangs the pool
          w.on('error', (e) => {
            reject(e);
            for (const p of pending.values()) p.fail(e);
          });
          w.on('message', (m: { ready?: boolean; k?: number; r?: PropertyResult }) => {
            if (m.ready)
              resolve({
                run: (id) =>
                  new Promise((done, fail) => {
                    pending.set(next, { done, fail });
                    w.postMessage({ k: next++, id });
                  }),
              });
            else if (m.k !== undefined && m.r) {
              pending.get(m.k)?.done(m.r);
              pending.delete(m.k);
            }
          });
        }),
    ),
  );
  return { threads, stop: async () => void (await Promise.all(all.map((w) => w.terminate()))) };
}
