// Boots in a row: does every boot reach the helper's handshake? Each boot is the kvm adapter's own
// open() (QEMU, the kernel, the initramfs with its console modules, the helper's READY and probe)
// and close(), one QEMU at a time.
//
//   npm run boots -- [--target SPEC ...] [--count 100] [--boot-timeout 40] [--out DIR]
//
// Default targets: every provisioned kernel whose initramfs loads console modules (the virtio console
// built as modules: 5.10 and 6.1) on cortex-a57 and max. A boot that does not handshake keeps its
// console log in --out (default reports/<stamp>-boots/). One line per target; exit 0 when every boot
// of every target handshook, 1 otherwise, 2 on bad arguments.

import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { KvmTarget } from '../adapters/kvm/index.ts';
import { REPO_ROOT } from '../core/paths.ts';
import { findKernel } from '../adapters/kvm/paths.ts';
import { kernelPins } from '../adapters/kvm/pins.ts';

function usage(msg: string): never {
  process.stderr.write(`boots: ${msg}\n`);
  process.exit(2);
}

let a: { target?: string[]; count: string; 'boot-timeout': string; out?: string };
try {
  a = parseArgs({
    options: {
      target: { type: 'string', multiple: true },
      count: { type: 'string', default: '100' },
      'boot-timeout': { type: 'string', default: '40' },
      out: { type: 'string' },
    },
    strict: true,
  }).values;
} catch (e) {
  usage(e instanceof Error ? e.message : String(e));
}
const count = Number(a.count);
if (!Number.isInteger(count) || count < 1) usage(`--count must be a whole number >= 1, got '${a.count}'`);
const bootTimeoutS = Number(a['boot-timeout']);
if (!Number.isFinite(bootTimeoutS) || bootTimeoutS <= 0) usage(`--boot-timeout must be seconds > 0, got '${a['boot-timeout']}'`);

function defaultTargets(): string[] {
  const out: string[] = [];
  for (const pin of kernelPins()) {
    const k = findKernel(pin.name);
    if (typeof k === 'string' || !k.consoleModules?.length) continue;
    for (const cpu of ['cortex-a57', 'max']) out.push(`qemu:${cpu}@${pin.name}`);
  }
  return out;
}

const targets = a.target ?? defaultTargets();
if (targets.length === 0)
  usage('no target: no provisioned kernel loads console modules (npm run provision -- --kernels 5.10,6.1), and no --target');
const out = a.out ?? join(REPO_ROOT, 'reports', `${new Date().toISOString().replace(/[:.]/g, '-')}-boots`);
mkdirSync(out, { recursive: true });

interface TargetResult {
  target: string;
  boots: number;
  handshook: number;
  failures: { boot: number; error: string; log: string }[];
  bootMs: { median: number; max: number };
  /** boots whose helper found /dev/hvc0 present but its port not yet linked (ENODEV), and the longest such wait */
  enodev: { boots: number; maxMs: number };
}

/** The helper's own line on how long its channel took to open (adapters/kvm/helper/init.c). */
function channelWait(log: string): { enoent: number; enodev: number } | undefined {
  if (!existsSync(log)) return undefined;
  const m = /s2c-helper: \S+ opened after \d+ ms \(ENOENT (\d+) ms, ENODEV (\d+) ms\)/.exec(readFileSync(log, 'utf8'));
  return m ? { enoent: Number(m[1]), enodev: Number(m[2]) } : undefined;
}

const results: TargetResult[] = [];
for (const spec of targets) {
  const r: TargetResult = {
    target: spec,
    boots: 0,
    handshook: 0,
    failures: [],
    bootMs: { median: 0, max: 0 },
    enodev: { boots: 0, maxMs: 0 },
  };
  const times: number[] = [];
  for (let i = 1; i <= count; i++) {
    const log = join(out, 'current-boot.log'); // kept only when the boot fails
    const t = new KvmTarget(spec, { bootTimeoutMs: bootTimeoutS * 1000, consoleLog: log });
    const t0 = performance.now();
    r.boots++;
    try {
      await t.open();
      times.push(performance.now() - t0);
      r.handshook++;
      const w = channelWait(log);
      if (w && w.enodev > 0) {
        r.enodev.boots++;
        r.enodev.maxMs = Math.max(r.enodev.maxMs, w.enodev);
      }
    } catch (e) {
      const error = (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';
      const kept = join(out, `failed-${spec.replace(/[^A-Za-z0-9.@-]+/g, '_')}-${i}.log`);
      if (existsSync(log)) copyFileSync(log, kept);
      r.failures.push({ boot: i, error, log: kept });
      process.stderr.write(`boots: ${spec} boot ${i}: ${error} (console: ${kept})\n`);
    } finally {
      await t.close();
    }
    if (i % 10 === 0 && process.stderr.isTTY) process.stderr.write(`  ${spec}: ${i}/${count}\r`);
  }
  times.sort((x, y) => x - y);
  r.bootMs = { median: Math.round(times[Math.floor(times.length / 2)] ?? 0), max: Math.round(times.at(-1) ?? 0) };
  results.push(r);
  console.log(
    `${spec}: ${r.handshook}/${r.boots} boots handshook (boot to READY and probe: median ${r.bootMs.median} ms, max ${r.bootMs.max} ms; ` +
      `${r.enodev.boots} found hvc0 before its port and waited through ENODEV, up to ${r.enodev.maxMs} ms)`,
  );
  writeFileSync(join(out, 'boots.json'), `${JSON.stringify({ count, bootTimeoutS, results }, null, 2)}\n`);
}
rmSync(join(out, 'current-boot.log'), { force: true });
const bad = results.filter((r) => r.handshook !== r.boots);
console.log(
  `boots: ${results.reduce((s, r) => s + r.handshook, 0)} passed, ${results.reduce((s, r) => s + r.boots - r.handshook, 0)} failed (${out}/boots.json)`,
);
process.exit(bad.length > 0 ? 1 : 0);
