// The kvm adapter against real KVM inside QEMU (TCG). Needs `npm run provision` (kernels + helper);
// without it the QEMU tests skip with the reason. The pure parts (spec parsing, cpio, channel)
// always run.

import { gunzipSync } from 'node:zlib';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TargetDied, isErrno, type HostHandle, type RunOutcome, type VmHandle } from '../../core/target.ts';
import { HELPER_PREFIX, HelperChannel } from './channel.ts';
import { helperEntries, newcArchive, writeHelperInitramfs } from './initramfs.ts';
import { KvmTarget, notProvisioned, parseKvmSpec, testHooks } from './index.ts';

describe('kvm adapter: pure parts', () => {
  it('parses target specs', () => {
    expect(parseKvmSpec('qemu:cortex-a57@6.1')).toEqual({
      kind: 'qemu',
      cpu: 'cortex-a57',
      mode: undefined,
      mte: false,
      kernel: '6.1',
      qemu: undefined,
    });
    expect(parseKvmSpec('qemu:max,nvhe,mte@6.12')).toEqual({
      kind: 'qemu',
      cpu: 'max',
      mode: 'nvhe',
      mte: true,
      kernel: '6.12',
      qemu: undefined,
    });
    // any kernel of fixtures/kernels.json, a path to an image, a named emulator
    expect(parseKvmSpec('qemu:max,qemu=7.2@7.3-16k')).toMatchObject({ kernel: '7.3-16k', qemu: '7.2' });
    expect(parseKvmSpec('qemu:max@/home/me/linux/arch/arm64/boot/Image')).toMatchObject({ kernel: '/home/me/linux/arch/arm64/boot/Image' });
    expect(parseKvmSpec('native')).toEqual({ kind: 'native' });
    expect(parseKvmSpec('ssh:me@arm-box.lan')).toEqual({ kind: 'ssh', dest: 'me@arm-box.lan', port: undefined });
    expect(parseKvmSpec('ssh:root@127.0.0.1:2222')).toEqual({ kind: 'ssh', dest: 'root@127.0.0.1', port: 2222 });
    expect(parseKvmSpec('ssh:arm-box')).toEqual({ kind: 'ssh', dest: 'arm-box', port: undefined }); // an alias from ~/.ssh/config
    for (const bad of [
      'qemu:max@4.19',
      'qemu:max,qemu=9.9@6.1',
      'qemu:cortex-a57,mte@6.1',
      'qemu:max,vhe,nvhe@6.12',
      'ssh:-oProxyCommand=x',
      'ssh:a@b;rm',
      'ssh:a@b:70000',
      'qemu:Max@6.1',
      'sim',
    ])
      expect(() => parseKvmSpec(bad), bad).toThrow(/./);
  });

  it('writes a newc archive the kernel can read', () => {
    const a = newcArchive(helperEntries(new Uint8Array([1, 2, 3])));
    const text = a.toString('latin1');
    expect(text.startsWith('070701')).toBe(true);
    expect(a.length % 4).toBe(0);
    expect(text).toContain('dev/console\0');
    expect(text).toContain('TRAILER!!!\0');
    // /init: mode 0100755, size 3
    const at = text.indexOf('init\0');
    const hdr = text.slice(at - 110, at);
    expect(hdr.slice(14, 22)).toBe((0o100755).toString(16).padStart(8, '0'));
    expect(parseInt(hdr.slice(54, 62), 16)).toBe(3);
    const dir = mkdtempSync(join(tmpdir(), 's2c-'));
    const fake = join(dir, 'helper');
    writeFileSync(fake, 'x');
    expect(gunzipSync(readFileSync(writeHelperInitramfs(fake, dir))).equals(newcArchive(helperEntries(Buffer.from('x'))))).toBe(true);
  });

  it('matches pipelined responses by id and fails pending calls on death', async () => {
    const sent: string[] = [];
    const consoleLines: string[] = [];
    const ch = new HelperChannel({ write: (s) => sent.push(s), onConsole: (l) => consoleLines.push(l), onFatal: () => undefined });
    const a = ch.request({ op: 'ping' }, 1000);
    const b = ch.request({ op: 'ping' }, 1000);
    // requests of one turn of the event loop go out in one write
    await new Promise((r) => setImmediate(r));
    expect(sent).toHaveLength(1);
    const ids = (sent[0] ?? '')
      .trimEnd()
      .split('\n')
      .map((s) => (JSON.parse(s) as { id: number }).id);
    expect(ids).toHaveLength(2);
    ch.feed(`[  1.0] kernel says hi\n${HELPER_PREFIX}{"id":${ids[1]},"ok":2}\n${HELPER_PREFIX}{"id":${ids[0]},`);
    ch.feed(`"ok":1}\n`);
    expect(await a).toMatchObject({ ok: 1 });
    expect(await b).toMatchObject({ ok: 2 });
    expect(consoleLines).toEqual(['[  1.0] kernel says hi']);
    const c = ch.request({ op: 'ping' }, 1000);
    ch.fail(new TargetDied('qemu ended'));
    await expect(c).rejects.toBeInstanceOf(TargetDied);
  });
});

const why = notProvisioned();

interface Case {
  readonly spec: string;
  readonly ipaLimit: number;
  readonly parange: number;
}

const CASES: readonly Case[] = [
  { spec: 'qemu:cortex-a57@6.1', ipaLimit: 44, parange: 4 },
  { spec: 'qemu:max@6.12', ipaLimit: 52, parange: 6 },
];

const load = (ipa: bigint, syndromeValid = true) =>
  ({ state: 'el1h', nisvToUser: false, access: { kind: 'load', size: 8, ipa, data: 0n, syndromeValid }, budgetMs: 2000 }) as const;

for (const c of CASES) {
  describe.skipIf(why !== undefined)(`kvm adapter on ${c.spec}${why ? ` (skipped: ${why})` : ''}`, () => {
    let t: KvmTarget;
    let host: HostHandle;

    beforeAll(async () => {
      t = new KvmTarget(c.spec);
      const info = await t.open();
      host = await t.host(
        info.host === 'any'
          ? (() => {
              throw new Error('fixed host expected');
            })()
          : info.host,
      );
    }, 120_000);

    afterAll(async () => {
      await t?.close();
    }, 30_000);

    async function vm(type: bigint): Promise<VmHandle> {
      const r = await host.createVm(type);
      if (isErrno(r)) throw new Error(`createVm(${type}) failed: ${r.errno}`);
      return r;
    }

    it('probes', async () => {
      const info = await t.open();
      expect(info.ipaLimit).toBe(c.ipaLimit);
      expect(info.parange).toBe(c.parange);
      expect(info.host).toMatchObject({ parange: c.parange, granule: 4 });
      expect(await host.checkExtension(165)).toBe(c.ipaLimit);
    });

    it('creates VMs by IPA size', async () => {
      const expectOk = async (type: bigint, ok: boolean) => {
        const r = await host.createVm(type);
        if (ok) {
          expect(isErrno(r), `type ${type}`).toBe(false);
          if (!isErrno(r)) await r.destroy();
        } else expect(r, `type ${type}`).toEqual({ errno: 'EINVAL' });
      };
      await expectOk(0n, true);
      await expectOk(44n, true);
      await expectOk(45n, c.ipaLimit >= 45);
      await expectOk(0x100n, false);
      await expectOk(31n, false);
    });

    it('sets memslots at and beyond 2^IPA', async () => {
      const v = await vm(44n);
      const top = 1n << 44n;
      const slot = (slotNo: number, gpa: bigint, size: bigint) =>
        v.setMemoryRegion({ slot: slotNo, flags: 0, guestPhysAddr: gpa, memorySize: size, userspaceAddr: 'auto' });
      expect(await slot(0, top - 0x10000n, 0x10000n)).toEqual({ errno: null }); // ends exactly at 2^44
      expect(await slot(1, top, 0x1000n)).toEqual({ errno: 'EFAULT' }); // starts at 2^44
      expect(await slot(0, top - 0x10000n, 0n)).toEqual({ errno: null }); // delete
      expect(await slot(2, top - 0x1000n, 0x2000n)).toEqual({ errno: 'EFAULT' }); // straddles 2^44
      expect(await slot(3, 0x100000n, 0x1000n)).toEqual({ errno: null });
      expect(await slot(3, 0x100000n, 0n)).toEqual({ errno: null }); // delete
      await v.destroy();
      expect(await v.setMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: 0n, memorySize: 0n, userspaceAddr: 0n })).toEqual({
        errno: 'EBADF',
      });
    });

    it('runs accesses: in-range MMIO, between IPA size and limit, backed', async () => {
      const v = await vm(40n);
      expect(await v.setMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: 0x100000n, memorySize: 0x10000n, userspaceAddr: 'auto' })).toEqual(
        { errno: null },
      );
      // in range, no memslot: an MMIO exit for the access itself
      expect(await v.run(load(0x200000n))).toEqual({ kind: 'mmio', physAddr: 0x200000n, len: 8, isWrite: false, data: 0n });
      expect(
        await v.run({
          state: 'el1h',
          nisvToUser: false,
          access: { kind: 'store', size: 2, ipa: 0x200010n, data: 0xbeefn, syndromeValid: true },
          budgetMs: 2000,
        }),
      ).toEqual({ kind: 'mmio', physAddr: 0x200010n, len: 2, isWrite: true, data: 0xbeefn });
      // no valid syndrome, NISV not enabled: KVM_RUN fails with ENOSYS
      expect(await v.run(load(0x200000n, false))).toEqual({ kind: 'run-errno', errno: 'ENOSYS' });
      // backed: completes with the memory's value (fresh anonymous memory reads 0)
      expect(await v.run(load(0x100008n))).toEqual({ kind: 'completed', value: 0n });
      // between the VM's IPA size (40) and the limit: the guest takes an external abort
      const between = 1n << 41n;
      const o: RunOutcome = await v.run(load(between));
      expect(o.kind).toBe('exception');
      if (o.kind === 'exception') {
        expect(o.vector).toBe(0x200);
        expect(o.far).toBe(between);
        expect(o.esr & 0xffff_ffffn).toBe(0x9600_0010n); // EC=0x25 DABT_CUR, IL, DFSC=0x10 SEA
      }
      await v.destroy();
    });

    it('runs AArch32 accesses (a32-short: MMU off; a32-lpae: LPAE tables, above 4 GiB too)', async () => {
      const a32 = (
        state: 'a32-short' | 'a32-lpae',
        kind: 'load' | 'store' | 'ifetch',
        size: 1 | 2 | 4,
        ipa: bigint,
        data = 0n,
        syndromeValid = true,
      ) => ({ state, nisvToUser: false, access: { kind, size, ipa, data, syndromeValid }, budgetMs: 2000 }) as const;
      const short = await vm(40n);
      expect(
        await short.setMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: 0x100000n, memorySize: 0x2000n, userspaceAddr: 'auto' }),
      ).toEqual({ errno: null });
      expect(await short.run(a32('a32-short', 'load', 4, 0x200000n))).toEqual({
        kind: 'mmio',
        physAddr: 0x200000n,
        len: 4,
        isWrite: false,
        data: 0n,
      });
      expect(await short.run(a32('a32-short', 'store', 2, 0x200010n, 0x1234beefn))).toEqual({
        kind: 'mmio',
        physAddr: 0x200010n,
        len: 2,
        isWrite: true,
        data: 0xbeefn,
      });
      expect(await short.run(a32('a32-short', 'store', 1, 0x200010n, 0n, false))).toEqual({ kind: 'run-errno', errno: 'ENOSYS' });
      expect(await short.run(a32('a32-short', 'load', 4, 0x100008n))).toEqual({ kind: 'completed', value: 0n });
      expect(await short.run(a32('a32-short', 'ifetch', 4, 0x100100n))).toMatchObject({ kind: 'completed' });
      // a fetch outside memslots: an injected prefetch abort, short-descriptor IFSR (external abort), IFAR = the VA
      expect(await short.run(a32('a32-short', 'ifetch', 4, 0x200000n))).toEqual({
        kind: 'exception',
        vector: 0x0c,
        esr: 0x08n,
        far: 0x200000n,
      });
      // one register width per VM, no 8-byte access, 32-bit reach without LPAE
      await expect(short.run(load(0x200000n))).rejects.toThrow(/one width/);
      await expect(short.run(a32('a32-short', 'load', 4, 1n << 32n))).rejects.toThrow(/below 2\^32/);
      await expect(
        short.run({
          ...a32('a32-short', 'load', 4, 0x200000n),
          access: { kind: 'load', size: 8, ipa: 0x200000n, data: 0n, syndromeValid: true },
        }),
      ).rejects.toThrow(/8-byte/);
      await short.destroy();

      const lpae = await vm(36n);
      expect(
        await lpae.setMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: 0x400000000n, memorySize: 0x2000n, userspaceAddr: 'auto' }),
      ).toEqual({ errno: null });
      // beyond the VM's 36 bits: an injected data abort, LPAE DFSR 0x210, DFAR = the IPA's low 32 bits
      expect(await lpae.run(a32('a32-lpae', 'load', 4, (1n << 36n) + 0x5104n))).toEqual({
        kind: 'exception',
        vector: 0x10,
        esr: 0x210n,
        far: 0x5104n,
      });
      // low 32 bits inside the harness pages: the harness moves to VA 0x80000000
      expect(await lpae.run(a32('a32-lpae', 'store', 4, (1n << 36n) + 0x104n, 7n))).toEqual({
        kind: 'exception',
        vector: 0x10,
        esr: 0x210n,
        far: 0x104n,
      });
      expect(await lpae.run(a32('a32-lpae', 'ifetch', 4, (1n << 36n) + 0x108n))).toEqual({
        kind: 'exception',
        vector: 0x0c,
        esr: 0x210n,
        far: 0x108n,
      });
      // above 4 GiB, in range: MMIO at the full IPA; backed memory completes (data and fetch)
      expect(await lpae.run(a32('a32-lpae', 'store', 1, 0x812345678n, 0xa5n))).toEqual({
        kind: 'mmio',
        physAddr: 0x812345678n,
        len: 1,
        isWrite: true,
        data: 0xa5n,
      });
      expect(await lpae.run(a32('a32-lpae', 'load', 2, 0x400001002n))).toEqual({ kind: 'completed', value: 0n });
      expect(await lpae.run(a32('a32-lpae', 'ifetch', 4, 0x400001000n))).toMatchObject({ kind: 'completed' });
      // below 4 GiB the LPAE format still applies (TTBCR.EAE = 1)
      expect(await lpae.run(a32('a32-lpae', 'ifetch', 4, 0x200000n))).toEqual({
        kind: 'exception',
        vector: 0x0c,
        esr: 0x210n,
        far: 0x200000n,
      });
      await lpae.destroy();
    });

    it('reports a hang when KVM_RUN outlives its budget, and the VM is usable after it', async () => {
      await testHooks(t).call({ op: 'create_vm', vm: 'hang', type: '0x0' });
      const acc = { kind: 'load', size: 8, ipa: '0x200000', data: '0x0', syndromeValid: true };
      const t0 = performance.now();
      expect(await testHooks(t).call({ op: 'run', vm: 'hang', state: 'el1h', spin: true, access: acc, budgetMs: 150 })).toMatchObject({
        outcome: 'hang',
      });
      expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
      expect(await testHooks(t).call({ op: 'run', vm: 'hang', state: 'el1h', access: acc, budgetMs: 2000 })).toMatchObject({
        outcome: 'mmio',
      });
      await testHooks(t).call({ op: 'destroy_vm', vm: 'hang' });
      await testHooks(t).call({ op: 'create_vm', vm: 'hang32', type: '0x0' });
      const acc32 = { ...acc, size: 4 };
      expect(
        await testHooks(t).call({ op: 'run', vm: 'hang32', state: 'a32-lpae', spin: true, access: acc32, budgetMs: 150 }),
      ).toMatchObject({ outcome: 'hang' });
      expect(await testHooks(t).call({ op: 'run', vm: 'hang32', state: 'a32-lpae', access: acc32, budgetMs: 2000 })).toMatchObject({
        outcome: 'mmio',
      });
      await testHooks(t).call({ op: 'destroy_vm', vm: 'hang32' });
    });

    it('survives malformed and impossible requests', async () => {
      const junk = [
        'not json',
        '{"op":',
        '[1,2]',
        '"str"',
        '['.repeat(200) + ']'.repeat(200),
        `{"id":1,"op":"x","pad":"${'a'.repeat(70_000)}"}`,
        '{"id":1,"op":"run","vm":"nope"}',
        '{"id":1,"op":"create_vm","vm":"j","type":"0xzz"}',
        '{"id":1,"op":"create_vm","vm":"","type":"0x0"}',
        '{"id":1,"op":"set_memslot","vm":"nope","slot":-1}',
        '{"id":1,"op":"enable_cap","vm":"nope","cap":1,"args":["0x1","0x2","0x3","0x4","0x5"]}',
        '{"id":1,"op":"check_extension","cap":"0x1"}',
        '\u0000\u0001\u00ff',
      ];
      for (const l of junk) testHooks(t).rawLine(l);
      const name = 'junk';
      expect(await testHooks(t).call({ op: 'create_vm', vm: name, type: '0x0' })).toMatchObject({ ok: true });
      expect(await testHooks(t).call({ op: 'create_vm', vm: name, type: '0x0' })).toMatchObject({ error: expect.stringMatching(/exists/) });
      expect(await testHooks(t).call({ op: 'run', vm: name, state: 'a32-lpae', access: {} })).toMatchObject({
        error: expect.stringMatching(/access/),
      });
      expect(await testHooks(t).call({ op: 'run', vm: name, state: 'a32-sort', access: {} })).toMatchObject({
        error: expect.stringMatching(/unknown state/),
      });
      expect(
        await testHooks(t).call({ op: 'run', vm: name, state: 'el1h', access: { kind: 'load', size: 3, ipa: '0x200000' } }),
      ).toMatchObject({ error: expect.any(String) });
      expect(
        await testHooks(t).call({ op: 'run', vm: name, state: 'el1h', access: { kind: 'load', size: 8, ipa: '0x8000' } }),
      ).toMatchObject({ error: expect.stringMatching(/harness/) });
      // explicit, page-aligned but unmapped userspace address: KVM takes it; running into it fails
      expect(
        await testHooks(t).call({ op: 'set_memslot', vm: name, slot: 1, flags: 0, gpa: '0x100000', size: '0x1000', uaddr: '0x1000' }),
      ).toMatchObject({ errno: 0 });
      expect(
        await testHooks(t).call({ op: 'set_memslot', vm: name, slot: 2, flags: 0, gpa: '0x200000', size: '0x1000', uaddr: '0x1001' }),
      ).toMatchObject({ errno: 22 });
      expect(
        await testHooks(t).call({
          op: 'run',
          vm: name,
          state: 'el1h',
          access: { kind: 'load', size: 8, ipa: '0x100000', data: '0x0', syndromeValid: true },
        }),
      ).toMatchObject({ outcome: 'run_errno', errno: 14 });
      expect(await testHooks(t).call({ op: 'destroy_vm', vm: name })).toMatchObject({ ok: true });
      expect(await testHooks(t).call({ op: 'ping' })).toMatchObject({ ok: true });
    });

    it('pipelines requests', async () => {
      const v = await vm(0n);
      const all = await Promise.all(Array.from({ length: 20 }, (_, i) => v.run(load(0x200000n + BigInt(i) * 8n))));
      for (const [i, o] of all.entries()) expect(o).toMatchObject({ kind: 'mmio', physAddr: 0x200000n + BigInt(i) * 8n });
      await v.destroy();
    });

    it.runIf(c.spec === CASES[0]?.spec)(
      'rejects pending calls with TargetDied when the guest dies, and restart() reboots',
      async () => {
        const bye = testHooks(t).call({ op: 'shutdown' });
        const after = testHooks(t).call({ op: 'ping' });
        await expect(after).rejects.toBeInstanceOf(TargetDied);
        await bye.catch(() => undefined);
        await expect(host.createVm(0n)).rejects.toBeInstanceOf(TargetDied);
        await t.restart();
        const info = await t.open();
        expect(info.ipaLimit).toBe(c.ipaLimit);
        host = await t.host(
          info.host === 'any'
            ? (() => {
                throw new Error('fixed host expected');
              })()
            : info.host,
        );
        const v = await vm(0n);
        expect(await v.run(load(0x200000n))).toMatchObject({ kind: 'mmio' });
      },
      60_000,
    );
  });
}

// A kernel given by path (README, "test your own kernel tree"): a kernel in no cache, given by path, as a user's own build
// is. The 16K Debian kernel is copied into a temporary directory the way a tree leaves its Image:
// `vmlinuz-<x>` with `config-<x>` beside it; and once more as arch/arm64/boot/Image under a tree
// whose .config is at the top.
const why16k = notProvisioned(['6.12-16k']);
describe.skipIf(why16k !== undefined)(`a kernel given by path${why16k ? ` (skipped: ${why16k})` : ''}`, () => {
  it("boots with the config beside it or at the top of its tree; granule and source are the kernel's own", async () => {
    const { findKernel } = await import('./paths.ts');
    const { copyFileSync, mkdirSync } = await import('node:fs');
    const { createHash } = await import('node:crypto');
    const k = findKernel('6.12-16k');
    if (typeof k === 'string' || !k.configFile) throw new Error('6.12-16k not provisioned with a config');
    const dir = mkdtempSync(join(tmpdir(), 's2c-own-kernel-'));
    const image = join(dir, 'vmlinuz-6.12.95-mine');
    copyFileSync(k.vmlinuz, image);
    copyFileSync(k.configFile, join(dir, 'config-6.12.95-mine'));
    const tree = join(dir, 'linux');
    mkdirSync(join(tree, 'arch', 'arm64', 'boot'), { recursive: true });
    copyFileSync(k.vmlinuz, join(tree, 'arch', 'arm64', 'boot', 'Image'));
    copyFileSync(k.configFile, join(tree, '.config'));
    const sha = createHash('sha256').update(readFileSync(image)).digest('hex');
    for (const [path, config] of [
      [image, join(dir, 'config-6.12.95-mine')],
      [join(tree, 'arch', 'arm64', 'boot', 'Image'), join(tree, '.config')],
    ] as const) {
      const t = new KvmTarget(`qemu:max@${path}`, { consoleLog: join(dir, 'console.log') });
      try {
        const info = await t.open();
        expect(info.host).toMatchObject({ granule: 16, lpa2: true, kernelPaBits: 52 });
        expect(info.kernel).toMatchObject({ name: path, path, sha256: sha, config, pageSize: 16384 });
        expect(info.kernelVersion).toBe('6.12.95');
        expect(info.emulator?.version).toMatch(/QEMU emulator version 10\./);
        // and it runs VMs: a 52-bit VM's first access completes under QEMU 10 (F3: it hangs under 7.2)
        const h = await t.host(info.host === 'any' ? (undefined as never) : info.host);
        const vm = await h.createVm(52n);
        if (isErrno(vm)) throw new Error(vm.errno);
        expect(
          await vm.setMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: 0x100000n, memorySize: 0x10000n, userspaceAddr: 'auto' }),
        ).toEqual({ errno: null });
        expect(
          (
            await vm.run({
              state: 'el1h',
              nisvToUser: false,
              access: { kind: 'load', size: 8, ipa: 0x200000n, data: 0n, syndromeValid: true },
            })
          ).kind,
        ).toBe('mmio');
        await vm.destroy();
      } finally {
        await t.close();
      }
    }
  }, 240_000);
});
