// Soak: many cases on one real target, to show that a long run neither leaks nor slows down.
//
//   npm run soak -- [--target qemu:max@6.12] [--cases 100000] [--window 10000] [--stats-every 2000]
//                   [--vm-every 50] [--fresh] [--inflight 64] [--out FILE (default reports/<stamp>-soak-<target>/soak.json)]
//
// Cases go through the kvm adapter exactly as properties do (VmHandle.run, pipelined: up to
// --inflight requests in flight), each checked against what it must end in (MMIO exit with the
// access's fields, completion with the value the case's own earlier stores left in backed memory,
// ENOSYS for a syndrome-less MMIO access, an external abort beyond the VM's IPA size). Every
// --vm-every cases the VM is destroyed and another (the next IPA size) made with fresh memslots: as
// properties get them, with a reuse key, so the helper parks a destroyed VM and hands it back
// (--fresh: no key, every VM new). Besides the helper's own figures, the guest kernel's MemAvailable
// and Slab and QEMU's resident memory on this machine are sampled.
// Every --stats-every cases the helper's `stats` op reports, from inside the guest, its open file
// descriptors, VmRSS/VmHWM, mappings and live VMs. Per --window: cases/s. The result (JSON) goes to
// --out, rewritten atomically at every window. Exit 0 when every case matched, nothing died and
// fds / live VMs / RSS stayed flat; 1 otherwise.

import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { KvmTarget, testHooks } from '../adapters/kvm/index.ts';
import { isErrno, type Access, type RunOutcome, type VmHandle } from '../core/target.ts';

const { values: a } = parseArgs({
  options: {
    target: { type: 'string', default: 'qemu:max@6.12' },
    cases: { type: 'string', default: '100000' },
    window: { type: 'string', default: '10000' },
    'stats-every': { type: 'string', default: '2000' },
    'vm-every': { type: 'string', default: '50' },
    fresh: { type: 'boolean', default: false },
    inflight: { type: 'string', default: '64' },
    seed: { type: 'string', default: '1' },
    out: { type: 'string' },
  },
  strict: true,
});

function int(name: string, v: string | undefined, min: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) {
    process.stderr.write(`soak: --${name} must be an integer >= ${min}, got '${String(v)}'\n`);
    process.exit(2);
  }
  return n;
}

const CASES = int('cases', a.cases, 1);
const WINDOW = int('window', a.window, 1);
const STATS_EVERY = int('stats-every', a['stats-every'], 1);
const VM_EVERY = int('vm-every', a['vm-every'], 1);
const INFLIGHT = int('inflight', a.inflight, 1);
let rng = BigInt(int('seed', a.seed, 1));
const OUT =
  a.out ??
  join('reports', `${new Date().toISOString().replace(/[:.]/g, '-')}-soak-${a.target.replace(/[^A-Za-z0-9.-]+/g, '_')}`, 'soak.json');
mkdirSync(dirname(OUT), { recursive: true });

function next(): bigint {
  rng ^= (rng << 13n) & 0xffff_ffff_ffff_ffffn;
  rng ^= rng >> 7n;
  rng ^= (rng << 17n) & 0xffff_ffff_ffff_ffffn;
  return rng;
}

export interface Stats {
  readonly atCase: number;
  readonly fds: number;
  readonly vmRssKb: number;
  readonly vmHwmKb: number;
  readonly maps: number;
  readonly vms: number;
  readonly parked: number;
  readonly ownedMaps: number;
  /** the guest kernel's MemAvailable and Slab (kB) */
  readonly memAvailableKb: number;
  readonly slabKb: number;
  readonly sUnreclaimKb: number;
  /** more of the guest's /proc/meminfo (kB), by field */
  readonly meminfoKb: Readonly<Record<string, number>>;
  /** the guest kernel's per-CPU free lists (kB): free, but not counted in MemFree or MemAvailable */
  readonly pcpKb: number;
  /** QEMU's VmRSS on this machine (kB), -1 when the target is not a local process */
  readonly hostRssKb: number;
}

/** VmRSS of a local process, in kB. */
function rssKb(pid: number | undefined): number {
  if (pid === undefined) return -1;
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : -1;
  } catch {
    return -1;
  }
}

interface WindowFigure {
  readonly from: number;
  readonly to: number;
  readonly seconds: number;
  readonly casesPerSecond: number;
}

const BACKED = 0x100000n;
const BACKED_SIZE = 0x10000n;
const TYPES = [0n, 36n, 44n, 48n] as const;

const t = new KvmTarget(a.target);
const info = await t.open();
if (info.host === 'any') throw new Error('soak needs a real (fixed-host) target');
const host = await t.host(info.host);
const limit = info.ipaLimit ?? 40;
process.stdout.write(
  `soak: ${a.target} (${info.kernelRelease ?? '?'}, ipaLimit ${limit}, boot ${info.bootMs ?? '?'} ms): ${CASES} cases, ${INFLIGHT} in flight\n`,
);

const stats: Stats[] = [];
const windows: WindowFigure[] = [];
const mismatches: string[] = [];
let mismatchCount = 0;
let done = 0;
let vmsMade = 0;
let vmsReused = 0;
const tStart = performance.now();
let tWindow = tStart;
let windowFrom = 0;

async function sampleStats(): Promise<void> {
  // the guest's clean caches dropped first: what is left is held, not cached
  const w = await testHooks(t).call({ op: 'stats', dropCaches: true });
  const n = (k: string): number => (typeof w[k] === 'number' ? w[k] : -1);
  const s: Stats = {
    atCase: done,
    fds: n('fds'),
    vmRssKb: n('vmRssKb'),
    vmHwmKb: n('vmHwmKb'),
    maps: n('maps'),
    vms: n('vms'),
    parked: n('parked'),
    ownedMaps: n('ownedMaps'),
    memAvailableKb: n('memAvailableKb'),
    slabKb: n('slabKb'),
    sUnreclaimKb: n('sUnreclaimKb'),
    pcpKb: n('pcpKb'),
    meminfoKb: Object.fromEntries(
      Object.entries(typeof w['meminfoKb'] === 'object' && w['meminfoKb'] !== null ? w['meminfoKb'] : {}).filter(
        (e): e is [string, number] => typeof e[1] === 'number',
      ),
    ),
    hostRssKb: rssKb(testHooks(t).pid),
  };
  stats.push(s);
}

function save(complete: boolean): void {
  const body = {
    target: a.target,
    kernel: info.kernelRelease,
    cases: CASES,
    done,
    inflight: INFLIGHT,
    vmsMade,
    vmsReused,
    mismatches: mismatchCount,
    firstMismatches: mismatches,
    windows,
    stats,
    complete,
    seconds: (performance.now() - tStart) / 1000,
  };
  const tmp = `${OUT}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, OUT);
}

const mask = (size: number): bigint => (1n << BigInt(size * 8)) - 1n;

interface Planned {
  readonly access: Access;
  readonly expect: RunOutcome | { readonly kind: 'exception-at'; readonly far: bigint };
}

/** One case and what it must end in; `mem` is the model of the VM's backed memory, updated in issue order. */
function plan(ipaBits: number, mem: Uint8Array): Planned {
  const x = next();
  const kind = x & 1n ? 'store' : 'load';
  const size = ([1, 2, 4, 8] as const)[Number((x >> 1n) & 3n)] ?? 8;
  const data = next();
  const region = Number((x >> 3n) % 4n);
  const align = (v: bigint): bigint => v & ~BigInt(size - 1);
  if (region === 0 || region === 1) {
    const off = align((x >> 8n) % (BACKED_SIZE - 8n));
    const access: Access = { kind, size, ipa: BACKED + off, data, syndromeValid: true };
    if (kind === 'store') {
      for (let i = 0; i < size; i++) mem[Number(off) + i] = Number((data >> BigInt(8 * i)) & 0xffn);
      return { access, expect: { kind: 'completed' } };
    }
    let v = 0n;
    for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(mem[Number(off) + i] ?? 0);
    return { access, expect: { kind: 'completed', value: v } };
  }
  if (region === 2) {
    const span = (1n << BigInt(ipaBits)) - 0x400000n;
    const ipa = align(0x200000n + ((x >> 8n) % span));
    const syndromeValid = ((x >> 60n) & 7n) !== 0n;
    const access: Access = { kind, size, ipa, data, syndromeValid };
    if (!syndromeValid) return { access, expect: { kind: 'run-errno', errno: 'ENOSYS' } };
    return {
      access,
      expect: { kind: 'mmio', physAddr: ipa, len: size, isWrite: kind === 'store', data: kind === 'store' ? data & mask(size) : 0n },
    };
  }
  // beyond the VM's IPA size, below the host's limit: an external abort injected into the guest
  const ipa = align((1n << BigInt(ipaBits)) + ((x >> 8n) % ((1n << BigInt(Math.min(limit, ipaBits + 2))) - (1n << BigInt(ipaBits)))));
  return { access: { kind, size, ipa, data, syndromeValid: true }, expect: { kind: 'exception-at', far: ipa } };
}

function check(p: Planned, o: RunOutcome, n: number): void {
  const e = p.expect;
  let ok: boolean;
  if (e.kind === 'exception-at') ok = o.kind === 'exception' && o.far === e.far && o.vector === 0x200;
  else if (e.kind === 'completed' && e.value === undefined) ok = o.kind === 'completed';
  else ok = JSON.stringify(o, big) === JSON.stringify(e, big);
  if (ok) return;
  mismatchCount++;
  if (mismatches.length < 20)
    mismatches.push(`case ${n}: ${JSON.stringify(p.access, big)}: expected ${JSON.stringify(e, big)}, got ${JSON.stringify(o, big)}`);
}

function big(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? `0x${v.toString(16)}` : v;
}

let died: string | undefined;
await sampleStats();
try {
  while (done < CASES) {
    const type = TYPES[vmsMade % TYPES.length] ?? 0n;
    const ipaBits = type === 0n ? 40 : Number(type);
    const created = await host.createVm(type, a.fresh ? undefined : 'a64');
    if (isErrno(created)) throw new Error(`createVm(${type}): ${created.errno}`);
    vmsMade++;
    if (created.reused) vmsReused++;
    const vm: VmHandle = created;
    const slot = await vm.setMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: BACKED, memorySize: BACKED_SIZE, userspaceAddr: 'auto' });
    if (slot.errno) throw new Error(`memslot: ${slot.errno}`);
    // a slot made and deleted per VM too: the helper must unmap what it mapped
    await vm.setMemoryRegion({ slot: 1, flags: 0, guestPhysAddr: 0x1000000n, memorySize: 0x4000n, userspaceAddr: 'auto' });
    await vm.setMemoryRegion({ slot: 1, flags: 0, guestPhysAddr: 0x1000000n, memorySize: 0n, userspaceAddr: 'auto' });
    const mem = new Uint8Array(Number(BACKED_SIZE));
    const end = Math.min(CASES, done + VM_EVERY);
    while (done < end) {
      const chunk = Math.min(INFLIGHT, end - done);
      const planned = Array.from({ length: chunk }, () => plan(ipaBits, mem));
      const base = done;
      const outs = await Promise.all(planned.map((p) => vm.run({ state: 'el1h', nisvToUser: false, access: p.access, budgetMs: 2000 })));
      outs.forEach((o, i) => {
        const p = planned[i];
        if (p) check(p, o, base + i);
      });
      const before = done;
      done += chunk;
      if (Math.floor(done / STATS_EVERY) > Math.floor(before / STATS_EVERY)) await sampleStats();
      if (Math.floor(done / WINDOW) > Math.floor(before / WINDOW) || done === CASES) {
        const now = performance.now();
        const w: WindowFigure = {
          from: windowFrom,
          to: done,
          seconds: (now - tWindow) / 1000,
          casesPerSecond: Math.round((done - windowFrom) / ((now - tWindow) / 1000)),
        };
        windows.push(w);
        const s = stats[stats.length - 1];
        process.stdout.write(
          `soak: ${w.from}-${w.to}: ${w.casesPerSecond} cases/s; fds ${s?.fds}, RSS ${s?.vmRssKb} kB (HWM ${s?.vmHwmKb}), maps ${s?.maps}, live VMs ${s?.vms}, parked ${s?.parked}; ` +
            `guest MemAvailable ${s?.memAvailableKb} kB, Slab ${s?.slabKb} kB (unreclaimable ${s?.sUnreclaimKb}); QEMU RSS ${s?.hostRssKb} kB; mismatches ${mismatchCount}\n`,
        );
        tWindow = now;
        windowFrom = done;
        save(false);
      }
    }
    await vm.destroy();
  }
  await sampleStats();
} catch (e) {
  died = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  process.stderr.write(`soak: stopped at case ${done}: ${died}\n`);
}
save(died === undefined);
await t.close();

const first = stats[0];
const last = stats[stats.length - 1];
// the steady state: once every IPA size has had a VM made, destroyed and (with reuse) parked, the
// parked set no longer changes; from there on nothing may grow
const steady = stats.filter((x) => x.atCase >= 2 * TYPES.length * VM_EVERY);
const rates = windows.map((w) => w.casesPerSecond);
const spread = (f: (x: Stats) => number): number => (steady.length ? Math.max(...steady.map(f)) - Math.min(...steady.map(f)) : 0);
const drop = (f: (x: Stats) => number): number => (steady.length ? (steady[0] ? f(steady[0]) : 0) - Math.min(...steady.map(f)) : 0);
/** Among samples with the same number of live and parked VMs, f is constant (each VM holds its own descriptors and mappings). */
const held = (x: Stats): string => `${x.vms}/${x.parked}`;
const constantPerParked = (f: (x: Stats) => number): boolean =>
  [...new Set(steady.map(held))].every((k) => new Set(steady.filter((x) => held(x) === k).map(f)).size === 1);
const checks: [string, boolean][] = [
  ['a steady state was sampled', steady.length >= 2],
  ['descriptors constant for each number of live and parked VMs', constantPerParked((x) => x.fds)],
  ['helper mappings constant for each number of live and parked VMs', constantPerParked((x) => x.ownedMaps)],
  ['parked VMs at most one per IPA size', steady.every((x) => x.parked <= (a.fresh ? 0 : TYPES.length))],
  ['at most one live VM', steady.every((x) => x.vms <= 1)],
  ['helper RSS within 1 MiB', spread((x) => x.vmRssKb) <= 1024],
  // free pages the kernel keeps on its per-CPU lists (their size is tuned at run time) are free memory too
  ['guest MemAvailable + per-CPU free lists (caches dropped) within 1 MiB', drop((x) => x.memAvailableKb + x.pcpKb) <= 1024],
  ['guest SUnreclaim within 2 MiB', spread((x) => x.sUnreclaimKb) <= 2048],
  ['QEMU RSS within 32 MiB', steady.every((x) => x.hostRssKb < 0) || spread((x) => x.hostRssKb) <= 32768],
];
const flat = checks.every(([, ok]) => ok);
for (const [what, ok] of checks) if (!ok) process.stdout.write(`soak: not flat: ${what}\n`);
const full = windows.filter((w) => w.to - w.from === WINDOW).map((w) => w.casesPerSecond);
const decay = full.length >= 2 ? (full[full.length - 1] ?? 0) / (full[0] ?? 1) : 1;
process.stdout.write(
  `soak: ${done} cases in ${((performance.now() - tStart) / 1000).toFixed(0)} s, ${mismatchCount} mismatches, ${vmsMade} VMs (${vmsReused} reused); ` +
    `fds ${first?.fds} -> ${last?.fds}, parked ${first?.parked} -> ${last?.parked}, helper RSS ${first?.vmRssKb} -> ${last?.vmRssKb} kB (HWM ${last?.vmHwmKb}), maps ${first?.maps} -> ${last?.maps}, ` +
    `guest MemAvailable ${first?.memAvailableKb} -> ${last?.memAvailableKb} kB (with the per-CPU free lists ${(first?.memAvailableKb ?? 0) + (first?.pcpKb ?? 0)} -> ${(last?.memAvailableKb ?? 0) + (last?.pcpKb ?? 0)}), SUnreclaim ${first?.sUnreclaimKb} -> ${last?.sUnreclaimKb} kB, QEMU RSS ${first?.hostRssKb} -> ${last?.hostRssKb} kB; ` +
    `cases/s ${rates.join(', ')} (last/first window ${decay.toFixed(2)}); flat: ${flat}\n`,
);
if (first && last) {
  const moved = Object.keys(last.meminfoKb).map((k) => `${k} ${(last.meminfoKb[k] ?? 0) - (first.meminfoKb[k] ?? 0)}`);
  process.stdout.write(
    `soak: guest meminfo change (kB, caches dropped): ${moved.join(', ')}; per-CPU free lists ${first.pcpKb} -> ${last.pcpKb} kB\n`,
  );
}
process.exit(died === undefined && mismatchCount === 0 && flat && decay > 0.8 ? 0 : 1);
