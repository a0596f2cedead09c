// Bad input, dying targets and safety of the kvm adapter. The pure parts always run; the
// QEMU parts need `npm run provision` and skip with the reason otherwise.
//   - the helper protocol under fast-check: malformed, truncated, oversized and out-of-order
//     requests each get an error response, and known-good requests interleaved with them keep
//     their exact answers (one boot);
//   - fault injection (KvmTarget `faults`: SIGKILL of QEMU, the helper's `crash`, a spinning vCPU)
//     at random points of real property runs: every completed result kept, an interrupted case
//     retried once, a case that dies twice reported as `error` with the reason, and the verdicts
//     identical to an undisturbed run of the same seed (no false pass or fail);
//   - safety: QEMU never gets a network device, no shell, private temporary files, the helper's
//     file accesses.

import fc from 'fast-check';
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProperty } from '../../core/runner.ts';
import { TargetDied } from '../../core/target.ts';
import { propertyId, type AnyProperty } from '../../core/property.ts';
import type { PropertyResult } from '../../core/result.ts';
import { profileForRelease } from '../../oracles/profiles.ts';
import { propertiesOf } from '../../properties/index.ts';
import { HelperChannel, type Wire } from './channel.ts';
import { writeHelperInitramfs } from './initramfs.ts';
import { KvmTarget, NATIVE_HELPER_ARGS, notProvisioned, type Fault, testHooks } from './index.ts';
import { findKernel } from './paths.ts';
import { KVM_DIR } from './paths.ts';
import { qemuCommand } from './qemu.ts';
import { defined } from '../../core/object.ts';

const why = notProvisioned();
const SPEC = 'qemu:max@6.12';

// ---- pure ------------------------------------------------------------------------------------------

describe('kvm adapter safety (source and pure parts)', () => {
  const tsFiles = readdirSync(KVM_DIR).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));

  it('starts processes with execa and argument arrays only, never a shell', () => {
    for (const f of tsFiles) {
      const src = readFileSync(join(KVM_DIR, f), 'utf8');
      expect(src, f).not.toMatch(/node:child_process|\bexecSync\b|\bexecaCommand\b|\$`|shell\s*:/);
      for (const m of src.matchAll(/\bexeca\(([^,]+),\s*(.)/g)) expect(m[2], `${f}: ${m[0]}`).toBe('[');
    }
  });

  it('the helper opens only /dev/kvm, /dev/kmsg, its tty, files under /proc and /sys, and its own initramfs modules', () => {
    // every file of the helper but mte.c (the mte family's VMM memory: its own tmpfs/ramfs mounts and /dev/mem)
    const helper = join(KVM_DIR, 'helper');
    const files = readdirSync(helper).filter((f) => f.endsWith('.c') && f !== 'mte.c');
    expect(files).toContain('s2c-helper.c');
    const c = files.map((f) => readFileSync(join(helper, f), 'utf8')).join('\n');
    const literals = [...c.matchAll(/\b(?:open|opendir|read_small_file)\("([^"]+)"/g)].map((m) => m[1] ?? '');
    expect(literals.length).toBeGreaterThan(4);
    for (const p of literals) expect(p).toMatch(/^\/dev\/kvm$|^\/dev\/kmsg$|^\/proc\/|^\/sys\/|^\/lib\/s2c\/order$/);
    // modules are loaded only as /init, from /lib/s2c/ of its initramfs (helper/init.c load_modules)
    expect(c.match(/SYS_finit_module/g)).toHaveLength(1);
    expect(c).toMatch(/mount\("sysfs", "\/sys", "sysfs", 0, NULL\);\n\tload_modules\(\);/);
    expect(c).toMatch(/snprintf\(path, sizeof path, "\/lib\/s2c\/%s", name\)/);
    // the only non-literal opens: the tty named on the kernel command line, and read_small_file's argument
    const dynamic = [...c.matchAll(/\bopen\(([a-z_]+),/g)].map((m) => m[1]);
    expect(new Set(dynamic)).toEqual(new Set(['path', 'tty']));
    // system calls that reach beyond the helper's own process only as the guest's /init
    for (const call of ['mount(', 'reboot(', 'klogctl(']) {
      for (const line of c.split('\n').filter((l) => l.includes(call) && !l.includes('#include'))) {
        expect(line, call).toMatch(/^\s*(mount|reboot|if \(is_init\)|\s*reboot)/);
      }
    }
    expect(c).toMatch(/is_init = !native && getpid\(\) == 1;/);
  });

  it('runs the helper outside QEMU only with --native, and reports a refusal as the reason', async () => {
    expect(NATIVE_HELPER_ARGS).toEqual(['--native']);
    const ch = new HelperChannel({ write: () => undefined, onConsole: () => undefined, onFatal: () => undefined });
    const ready = ch.waitReady(1000, 'helper');
    ch.feed('@S2C@ {"ready":false,"kvm":false,"error":"s2c-helper runs as /init of the QEMU guest; on a real host it needs --native"}\n');
    expect(await ready).toMatchObject({ kvm: false, error: expect.stringMatching(/--native/) });
  });

  it('writes the initramfs privately', () => {
    const dir = mkdtempSync(join(tmpdir(), 's2c-'));
    const fake = join(dir, 'helper');
    writeFileSync(fake, 'x');
    require0600(writeHelperInitramfs(fake, join(dir, 'cache')));
    expect(statSync(join(dir, 'cache')).mode & 0o777).toBe(0o700);
  });
});

function require0600(file: string): void {
  expect((statSync(file).mode & 0o077).toString(8), file).toBe('0');
}

describe.skipIf(why !== undefined)(`QEMU command line${why ? ` (skipped: ${why})` : ''}`, () => {
  it('never gives the guest a network device', () => {
    for (const name of ['6.1', '6.12']) {
      const kernel = findKernel(name);
      if (typeof kernel === 'string') throw new Error(kernel);
      const { args, display } = qemuCommand({
        cpu: 'max',
        mode: undefined,
        mte: false,
        kernel,
        emulator: { binary: '/q/qemu' },
        initrd: '/x',
        consoleLog: '/tmp/a,b.log',
      });
      expect(display.join(' ')).toContain('-initrd <initramfs>');
      expect(display.join(' ')).not.toContain('/tmp/a');
      const nic = args.indexOf('-nic');
      expect(nic).toBeGreaterThanOrEqual(0);
      expect(args[nic + 1]).toBe('none');
      expect(args.filter((a) => a === '-nic')).toHaveLength(1);
      expect(args).not.toContain('-netdev');
      expect(args).not.toContain('-net');
      const devices = args.flatMap((a, i) => (args[i - 1] === '-device' ? [a] : []));
      for (const d of devices) expect(d).not.toMatch(/net|e1000|rtl8139|vmxnet|usb/);
      expect(args[args.indexOf('-monitor') + 1]).toBe('none');
      expect(args[args.indexOf('-append') + 1]).toMatch(/ s2c\.idle=300( |$)/);
    }
  });
});

describe.skipIf(why !== undefined)(`a guest whose runner vanished powers off${why ? ` (skipped: ${why})` : ''}`, () => {
  // A SIGKILLed runner cannot stop its QEMU, and QEMU does not pass the end of its stdin on to the
  // guest: the helper's idle timeout (s2c.idle) ends it; the adapter's keepalive pings prevent that
  // while the runner lives.
  it('after s2c.idle seconds without input, and not while the adapter keeps it alive', async () => {
    const quiet = new KvmTarget(SPEC, { idleS: 3, noKeepalive: true });
    const kept = new KvmTarget(SPEC, { idleS: 3 });
    try {
      await Promise.all([quiet.open(), kept.open()]);
      await new Promise((r) => setTimeout(r, 7000));
      await expect(testHooks(quiet).call({ op: 'ping' }, 5000)).rejects.toBeInstanceOf(TargetDied);
      expect(await testHooks(kept).call({ op: 'ping' }, 5000)).toMatchObject({ ok: true });
    } finally {
      await Promise.all([quiet.close(), kept.close()]);
    }
  }, 120_000);
});

// ---- the helper protocol under bad input -------------------------------------------------------------

/** Lines sent in one go, and per line whether its response must be an error. */
interface Bad {
  readonly what: string;
  readonly lines: readonly string[];
  readonly expect: readonly ('error' | 'ok')[];
}

let vmSeq = 0;
const j = (o: unknown): string => JSON.stringify(o);
/** ids the channel never uses for its own requests (it counts up from 1) */
const strayId = fc.oneof(fc.integer({ min: -1_000_000, max: -1 }), fc.constant(2 ** 50), fc.string({ maxLength: 8 }), fc.constant(null));
const junkValue = fc.oneof(
  fc.constantFrom<unknown>(null, true, false, -1, 1.5, 1e300, [], {}, '', '0x', '0xg', `0x${'f'.repeat(17)}`, [1, 2], { a: 1 }, -(2 ** 63)),
  fc.string({ maxLength: 20 }).map((s) => `${s}?`),
);
const goodAccess = { kind: 'load', size: 8, ipa: '0x200000', data: '0x0', syndromeValid: true };

function single(what: string, line: string): Bad {
  return { what, lines: [line], expect: ['error'] };
}

const badRequest: fc.Arbitrary<Bad> = fc.oneof(
  // not JSON at all, or not an object
  fc.string({ minLength: 1, maxLength: 200 }).map((s) => single('not json', `#${s.replace(/[\n\r]/g, ' ')}`)),
  fc
    .constantFrom(
      '[1,2]',
      '"str"',
      '42',
      'null',
      'true',
      '{"op":"ping"} x',
      '{"op":"ping",}',
      "{'op':'ping'}",
      '{"op":"\\ud800"}',
      '{"op":"p\\u0000ng"}',
    )
    .map((l) => single('not an object / trailing / bad escape', l)),
  // a valid request cut short
  fc
    .tuple(
      fc.constantFrom(
        j({ id: 7, op: 'create_vm', vm: 'cut', type: '0x0' }),
        j({ id: -3, op: 'run', vm: 'x', state: 'el1h', access: goodAccess }),
      ),
      fc.nat(),
    )
    .map(([l, k]) => single('truncated', l.slice(0, 1 + (k % (l.length - 1))))),
  // a NUL byte anywhere in a valid request
  fc.tuple(fc.constantFrom(j({ id: -1, op: 'ping' }), j({ id: -2, op: 'check_extension', cap: 165 })), fc.nat()).map(([l, k]) => {
    const at = k % (l.length + 1);
    return single('NUL byte', `${l.slice(0, at)}\u0000${l.slice(at)}`);
  }),
  // deep nesting and too many nodes
  fc.integer({ min: 17, max: 3000 }).map((d) => single('deep nesting', `{"id":-1,"op":"ping","x":${'['.repeat(d)}${']'.repeat(d)}}`)),
  fc
    .integer({ min: 520, max: 5000 })
    .map((n) => single('too many nodes', j({ id: -1, op: 'ping', x: Array.from({ length: n }, () => 0) }))),
  // over the line limit (64 KiB), and just under it (valid size, bad request)
  fc.integer({ min: 0, max: 150_000 }).map((n) => single('line over the limit', j({ id: -1, op: 'ping', pad: 'a'.repeat(65_536 + n) }))),
  fc
    .integer({ min: 1000, max: 65_000 })
    .map((n) => single('oversized but under the limit', j({ id: -1, op: 'run', vm: 'none', pad: 'b'.repeat(n) }))),
  // unknown or missing op, and wrong types / huge numbers in every field of every op
  fc.tuple(strayId, junkValue).map(([id, op]) => single('bad op', j({ id, op }))),
  fc.tuple(strayId, fc.string({ maxLength: 30 })).map(([id, op]) => single('unknown op', j({ id, op: `x-${op}` }))),
  fc.tuple(strayId, junkValue).map(([id, v]) => single('check_extension cap', j({ id, op: 'check_extension', cap: v }))),
  fc
    .tuple(strayId, fc.constantFrom('1e400', '99999999999999999999999', '-1', '2147483648', '1.0', '"165"'))
    .map(([id, v]) => single('check_extension huge', `{"id":${j(id)},"op":"check_extension","cap":${v}}`)),
  fc.tuple(strayId, junkValue).map(([id, v]) => single('create_vm type', j({ id, op: 'create_vm', vm: 'never', type: v }))),
  fc
    .tuple(strayId, fc.constantFrom<unknown>('', 'v'.repeat(64), 5, null, ['a']))
    .map(([id, v]) => single('create_vm name', j({ id, op: 'create_vm', vm: v, type: '0x0' }))),
  fc.tuple(strayId, junkValue, fc.constantFrom('slot', 'flags', 'gpa', 'size', 'uaddr')).map(([id, v, field]) =>
    single(
      `set_memslot ${field}`,
      j({
        id,
        op: 'set_memslot',
        vm: 'good',
        slot: 5,
        flags: 0,
        gpa: '0x4000000',
        size: '0x1000',
        uaddr: 'auto',
        [field]: field === 'uaddr' && v === '' ? 'autox' : v,
      }),
    ),
  ),
  fc
    .tuple(strayId, fc.constantFrom<unknown>(4294967296, -1, 1e20, '0', 0.5))
    .map(([id, slot]) =>
      single('set_memslot slot range', j({ id, op: 'set_memslot', vm: 'good', slot, flags: 0, gpa: '0x0', size: '0x0', uaddr: '0x0' })),
    ),
  fc
    .tuple(strayId, fc.constantFrom<unknown>('x', [-1], ['0x1', '0x2', '0x3', '0x4', '0x5'], ['zz'], { a: 1 }))
    .map(([id, args]) => single('enable_cap args', j({ id, op: 'enable_cap', vm: 'good', cap: 177, args }))),
  fc
    .tuple(
      strayId,
      fc.constantFrom('state', 'access', 'kind', 'size', 'ipa', 'data', 'syndromeValid', 'budgetMs', 'spin', 'nisvToUser'),
      junkValue,
    )
    .map(([id, field, v]) => {
      const access: Record<string, unknown> = { ...goodAccess };
      const req: Record<string, unknown> = { id, op: 'run', vm: 'good', state: 'el1h', access, budgetMs: 2000 };
      if (field in access) access[field] = v;
      else req[field] = v;
      // values the helper would take: a boolean where one belongs, a number for a 64-bit field
      if ((field === 'syndromeValid' || field === 'spin' || field === 'nisvToUser') && typeof v === 'boolean') req['state'] = 'el2';
      if (field === 'data' && (v === null || (typeof v === 'number' && Number.isInteger(v) && v >= 0))) req['state'] = 'el2';
      return single(`run ${field}`, j(req));
    }),
  fc
    .tuple(strayId, fc.constantFrom<unknown>(0, 600001, 1e12, -5))
    .map(([id, budgetMs]) => single('run budget', j({ id, op: 'run', vm: 'good', state: 'el1h', access: goodAccess, budgetMs }))),
  fc
    .tuple(strayId, fc.constantFrom('0x0', '0x8000', '0x1ffff'))
    .map(([id, ipa]) => single('run in the harness', j({ id, op: 'run', vm: 'good', state: 'el1h', access: { ...goodAccess, ipa } }))),
  fc
    .tuple(strayId, fc.constantFrom<unknown>('nope', -1, 1000001, 'x'))
    .map(([id, n]) => single('batch', j({ id, op: 'batch', family: n === 'x' ? 'memslot' : 'access', n }))),
  // out of order: ops on a VM before it exists, after it is destroyed; a name created twice; duplicate ids
  fc.constantFrom('run', 'set_memslot', 'enable_cap', 'destroy_vm').map((op): Bad => {
    const vm = `ooo${++vmSeq}`;
    const tail = {
      id: -9,
      op,
      vm,
      state: 'el1h',
      access: goodAccess,
      cap: 1,
      slot: 1,
      flags: 0,
      gpa: '0x100000',
      size: '0x1000',
      uaddr: 'auto',
    };
    return {
      what: `${op} before create / after destroy`,
      lines: [j(tail), j({ id: -9, op: 'create_vm', vm, type: '0x0' }), j({ id: -9, op: 'destroy_vm', vm }), j(tail)],
      expect: ['error', 'ok', 'ok', 'error'],
    };
  }),
  fc.constant(null).map((): Bad => {
    const vm = `dup${++vmSeq}`;
    const c = j({ id: -4, op: 'create_vm', vm, type: '0x0' });
    return {
      what: 'create twice, destroy twice (duplicate ids)',
      lines: [c, c, j({ id: -4, op: 'destroy_vm', vm }), j({ id: -4, op: 'destroy_vm', vm })],
      expect: ['ok', 'error', 'ok', 'error'],
    };
  }),
  fc.constant(null).map((): Bad => {
    const vm = `w${++vmSeq}`;
    // one VM runs one register width: AArch64 after AArch32 is refused
    return {
      what: 'wrong register width after a run',
      lines: [
        j({ id: -5, op: 'create_vm', vm, type: '0x0' }),
        j({ id: -5, op: 'run', vm, state: 'a32-short', access: { ...goodAccess, size: 4 } }),
        j({ id: -5, op: 'run', vm, state: 'el1h', access: goodAccess }),
        j({ id: -5, op: 'destroy_vm', vm }),
      ],
      expect: ['ok', 'ok', 'error', 'ok'],
    };
  }),
);

describe.skipIf(why !== undefined)(`helper protocol under bad input on ${SPEC}${why ? ` (skipped: ${why})` : ''}`, () => {
  let t: KvmTarget;
  let start: Wire;
  const logDir = join(mkdtempSync(join(tmpdir(), 's2c-')), 'logs');

  beforeAll(async () => {
    t = new KvmTarget(SPEC, { consoleLog: join(logDir, 'console.log') });
    await t.open();
    expect(await testHooks(t).call({ op: 'create_vm', vm: 'good', type: '0x0' })).toMatchObject({ ok: true });
    expect(
      await testHooks(t).call({ op: 'set_memslot', vm: 'good', slot: 0, flags: 0, gpa: '0x100000', size: '0x10000', uaddr: 'auto' }),
    ).toMatchObject({ errno: 0 });
    // the first run creates the vCPU (an fd and its kvm_run mapping) and the code slot
    expect(await testHooks(t).call({ op: 'run', vm: 'good', state: 'el1h', access: goodAccess })).toMatchObject({ outcome: 'mmio' });
    start = await testHooks(t).call({ op: 'stats' });
  }, 120_000);

  afterAll(async () => {
    await t?.close();
  }, 30_000);

  it('keeps its console log private', () => {
    require0600(join(logDir, 'console.log'));
    expect(statSync(logDir).mode & 0o777).toBe(0o700);
  });

  it('answers every bad request with an error and keeps serving correct results', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        badRequest,
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        fc.nat({ max: 0xfff }),
        fc.nat({ max: 0xffff }),
        async (bad, value, slotOff, mmioOff) => {
          n++;
          const got = await testHooks(t).exchangeRaw(bad.lines.join('\n'));
          expect(
            got.map((w) => (typeof w['error'] === 'string' ? 'error' : 'ok')),
            `${bad.what}: ${JSON.stringify(got).slice(0, 300)}`,
          ).toEqual(bad.expect);
          // known-good requests right after: exact answers
          const at = `0x${(0x100000 + slotOff * 8).toString(16)}`;
          const stored = await testHooks(t).call({
            op: 'run',
            vm: 'good',
            state: 'el1h',
            access: { kind: 'store', size: 8, ipa: at, data: `0x${value.toString(16)}`, syndromeValid: true },
          });
          expect(stored).toMatchObject({ outcome: 'completed' });
          const loaded = await testHooks(t).call({
            op: 'run',
            vm: 'good',
            state: 'el1h',
            access: { kind: 'load', size: 8, ipa: at, data: '0x0', syndromeValid: true },
          });
          expect(loaded).toMatchObject({ outcome: 'completed', value: `0x${value.toString(16)}` });
          const ipa = `0x${(0x300000 + mmioOff * 8).toString(16)}`;
          expect(await testHooks(t).call({ op: 'run', vm: 'good', state: 'el1h', access: { ...goodAccess, ipa } })).toMatchObject({
            outcome: 'mmio',
            physAddr: ipa,
            len: 8,
            isWrite: false,
          });
          expect(await testHooks(t).call({ op: 'check_extension', cap: 165 })).toMatchObject({ value: 52 });
        },
      ),
      { numRuns: 500, seed: 9 },
    );
    expect(n).toBeGreaterThanOrEqual(500);
    // nothing leaked: the same descriptors, VMs and helper-owned mappings as before
    const end = await testHooks(t).call({ op: 'stats' });
    expect(end).toMatchObject({ fds: start['fds'], vms: start['vms'], ownedMaps: start['ownedMaps'] });
  }, 600_000);
});

// ---- dying targets ----------------------------------------------------------------------------------

const FAULT_PROPS = ['vm-create/type-word', 'memslot/sequence', 'abort/in-range', 'abort/between-ipa-and-limit'];
const RUNS = 25;

function props(): AnyProperty[] {
  const all = propertiesOf(['vm-create', 'memslot', 'abort']);
  return FAULT_PROPS.map((id) => {
    const p = all.find((x) => propertyId(x) === id);
    if (!p) throw new Error(`no property ${id}`);
    return p;
  });
}

async function runAll(t: KvmTarget, seed: number): Promise<PropertyResult[]> {
  const info = await t.open();
  const profile = profileForRelease(info.kernelRelease ?? '');
  if (!profile) throw new Error(`no profile for ${info.kernelRelease}`);
  const out: PropertyResult[] = [];
  for (const p of props())
    out.push(await runProperty(p, { target: t, info: await t.open(), profile }, { runs: RUNS, seed, strict: false }));
  return out;
}

/** The parts of a result that must not depend on the target having died in between. */
function verdictOf(r: PropertyResult): unknown {
  return { id: `${r.family}/${r.name}`, verdict: r.verdict, runs: r.runs, counterexample: r.counterexample, diff: r.diff };
}

describe.skipIf(why !== undefined)(`dying targets on ${SPEC}${why ? ` (skipped: ${why})` : ''}`, () => {
  let baseline: PropertyResult[];
  const seed = 42;

  beforeAll(async () => {
    const t = new KvmTarget(SPEC);
    try {
      baseline = await runAll(t, seed);
    } finally {
      await t.close();
    }
    for (const r of baseline) expect(r.verdict, `${r.name}: ${r.reason ?? ''}`).not.toBe('error');
  }, 600_000);

  /** The four properties with faults injected at the given request numbers; pipelineDepth undefined: the default. */
  async function runWithFaults(
    at: ReadonlyMap<number, Fault>,
    pipelineDepth: number | undefined,
  ): Promise<{ t: KvmTarget; results: PropertyResult[] }> {
    const t = new KvmTarget(SPEC, {
      faults: (n) => at.get(n),
      hangTimeoutMs: 1500,
      ...defined({ pipelineDepth }),
    });
    try {
      return { t, results: await runAll(t, seed) };
    } finally {
      await t.close();
    }
  }

  it('a fault of each kind at random points: the case is retried once and every verdict is the undisturbed one', async () => {
    const rng = fc.sample(fc.integer({ min: 5, max: 60 }), { numRuns: 3, seed: 7 });
    const kinds: Fault[] = ['kill-qemu', 'kill-helper', 'hang'];
    const at = new Map<number, Fault>();
    let n0 = 0;
    rng.forEach((gap, i) => {
      n0 += gap + 40 * i;
      at.set(n0, kinds[i] ?? 'hang');
    });
    // one case at a time, so each fault meets a live target and costs exactly one restart
    const { t, results } = await runWithFaults(at, 1);
    expect(testHooks(t).injected.map((f) => f.fault)).toEqual(kinds);
    expect(testHooks(t).boots).toBe(1 + kinds.length); // one restart per fault
    expect(results.map(verdictOf)).toEqual(baseline.map(verdictOf));
  }, 600_000);

  it('the same faults under the pipeline (16 cases in flight): every verdict is still the undisturbed one', async () => {
    const kinds: Fault[] = ['kill-qemu', 'kill-helper', 'hang'];
    const at = new Map<number, Fault>([
      [30, 'kill-qemu'],
      [400, 'kill-helper'],
      [900, 'hang'],
    ]);
    const { t, results } = await runWithFaults(at, undefined);
    expect(t.pipelineDepth).toBeGreaterThan(1);
    // a fault may land on a target already dying from the one before: at most one restart each
    expect(testHooks(t).injected.map((f) => f.fault)).toEqual(kinds);
    expect(testHooks(t).boots).toBeGreaterThanOrEqual(2);
    expect(testHooks(t).boots).toBeLessThanOrEqual(1 + kinds.length);
    expect(results.map(verdictOf)).toEqual(baseline.map(verdictOf));
  }, 600_000);

  it('a case that dies on its retry too is an error with the reason, the results before it are kept, and the run goes on', async () => {
    let armAt: number | undefined; // set when the second property starts
    let first: number | undefined;
    let second: number | undefined;
    const t: KvmTarget = new KvmTarget(SPEC, {
      // the 30th request of the second property dies (SIGKILL of QEMU); its retry, on the rebooted
      // target, hangs past the watchdog
      faults: (n) => {
        if (armAt !== undefined && first === undefined && n >= armAt + 30) {
          first = n;
          return 'kill-qemu';
        }
        if (first !== undefined && second === undefined && testHooks(t).boots === 2) {
          second = n;
          return 'hang';
        }
        return undefined;
      },
      hangTimeoutMs: 1500,
      pipelineDepth: 1, // the fault must meet the case it is aimed at
    });
    const info = await t.open();
    const profile = profileForRelease(info.kernelRelease ?? '');
    if (!profile) throw new Error('no profile');
    const [p1, p2, p3] = props();
    if (!p1 || !p2 || !p3) throw new Error('props');
    const results: PropertyResult[] = [];
    let cases = 0;
    try {
      results.push(await runProperty(p1, { target: t, info, profile }, { runs: RUNS, seed, strict: false }));
      armAt = testHooks(t).requestCount;
      results.push(
        await runProperty(p2, { target: t, info: await t.open(), profile }, { runs: RUNS, seed, strict: false, onCase: () => cases++ }),
      );
      results.push(await runProperty(p3, { target: t, info: await t.open(), profile }, { runs: RUNS, seed, strict: false }));
    } finally {
      await t.close();
    }
    expect(testHooks(t).injected.map((f) => f.fault)).toEqual(['kill-qemu', 'hang']);
    const [r1, r2, r3] = results;
    expect(verdictOf(r1 as PropertyResult)).toEqual(verdictOf(baseline[0] as PropertyResult));
    expect(r2?.verdict).toBe('error');
    expect(r2?.reason).toMatch(/^TargetDied: no response to \w+ \(id \d+\) within 1500 ms/);
    expect(r2?.runs).toBe(cases); // every case that completed before it is counted
    expect(cases).toBeGreaterThan(0);
    expect(r2?.runs).toBeLessThan(RUNS);
    expect(r2?.counterexample).toBeUndefined();
    expect(testHooks(t).boots).toBe(3);
    expect(verdictOf(r3 as PropertyResult)).toEqual(verdictOf(baseline[2] as PropertyResult));
  }, 600_000);
});
