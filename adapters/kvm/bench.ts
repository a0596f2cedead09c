// Measures a QEMU target: boot time, request round trip, cases/s (sequential, pipelined, in-helper
// batch) and what out-of-range accesses do. Usage:
//   npx tsx adapters/kvm/bench.ts qemu:cortex-a57@6.1 [qemu:max@6.12 ...]

import { ACCESS_KINDS, isErrno, type Access, type VmHandle } from '../../core/target.ts';
import { KvmTarget, testHooks } from './index.ts';

const specs = process.argv.slice(2);
if (specs.length === 0) specs.push('qemu:cortex-a57@6.1', 'qemu:max@6.12');

function fmt(x: unknown): string {
  return JSON.stringify(x, (_k, v: unknown) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v));
}

for (const spec of specs) {
  const t = new KvmTarget(spec);
  const info = await t.open();
  console.log(
    `\n== ${spec}: boot ${info.bootMs} ms, ${info.kernelRelease}, mode ${info.mode}, ipaLimit ${info.ipaLimit}, parange ${info.parange}`,
  );
  console.log(`   caps ${fmt(info.caps)} host ${fmt(info.host)} console ${t.consoleLog}`);
  const probe = t.probe;
  if (probe) console.log(`   kmsg: ${probe.kmsg.filter((l) => /mode|IPA|LPA/i.test(l)).join(' | ')}`);
  if (info.host === 'any') throw new Error('fixed host expected');
  const host = await t.host(info.host);

  // round trip
  const N = 200;
  let t0 = performance.now();
  for (let i = 0; i < N; i++) await testHooks(t).call({ op: 'ping' });
  const pingMs = (performance.now() - t0) / N;
  t0 = performance.now();
  await Promise.all(Array.from({ length: N }, () => testHooks(t).call({ op: 'ping' })));
  const pingPipe = (performance.now() - t0) / N;

  const created = await host.createVm(0n);
  if (isErrno(created)) throw new Error(created.errno);
  const vm: VmHandle = created;
  await vm.setMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: 0x100000n, memorySize: 0x10000n, userspaceAddr: 'auto' });
  const acc = (i: number): Access => ({
    kind: i % 2 ? 'store' : 'load',
    size: 8,
    ipa: i % 3 ? 0x200000n : 0x100000n,
    data: BigInt(i),
    syndromeValid: true,
  });
  await vm.run({ state: 'el1h', nisvToUser: false, access: acc(0) });
  const M = 300;
  t0 = performance.now();
  for (let i = 0; i < M; i++) await vm.run({ state: 'el1h', nisvToUser: false, access: acc(i) });
  const seq = M / ((performance.now() - t0) / 1000);
  t0 = performance.now();
  await Promise.all(Array.from({ length: M }, (_, i) => vm.run({ state: 'el1h', nisvToUser: false, access: acc(i) })));
  const pipe = M / ((performance.now() - t0) / 1000);
  const b = await testHooks(t).batch(1000, 0x1234n);
  const batch = b.n / (b.ns / 1e9);
  // fresh VM per case
  t0 = performance.now();
  const F = 30;
  for (let i = 0; i < F; i++) {
    const v = await host.createVm(0n);
    if (isErrno(v)) throw new Error(v.errno);
    await v.run({ state: 'el1h', nisvToUser: false, access: acc(2) });
    await v.destroy();
  }
  const fresh = F / ((performance.now() - t0) / 1000);
  console.log(
    `   ping ${pingMs.toFixed(2)} ms (pipelined ${pingPipe.toFixed(3)} ms/req); run: sequential ${seq.toFixed(0)}/s, pipelined ${pipe.toFixed(0)}/s, ` +
      `batch ${batch.toFixed(0)}/s ${fmt(b.counts)}, fresh VM per case ${fresh.toFixed(0)}/s`,
  );
  await vm.destroy();

  // out-of-range accesses
  const limit = info.ipaLimit ?? 40;
  const pabits = [32, 36, 40, 42, 44, 48, 52][info.parange ?? 0] ?? 0;
  const rows: [string, bigint, bigint][] = [
    ['vm40 ipa 2^40 (=IPA size)', 40n, 1n << 40n],
    [`vm40 ipa 2^${limit}-8 (just below limit)`, 40n, (1n << BigInt(limit)) - 8n],
    [`vm${limit} ipa 2^${limit} (=limit)`, BigInt(limit), 1n << BigInt(limit)],
    [`vm${limit} ipa 2^${pabits} (=guest PARange)`, BigInt(limit), 1n << BigInt(pabits)],
  ];
  for (const [what, type, ipa] of rows) {
    const v = await host.createVm(type);
    if (isErrno(v)) {
      console.log(`   ${what}: createVm ${v.errno}`);
      continue;
    }
    for (const kind of ACCESS_KINDS) {
      const o = await v.run({
        state: 'el1h',
        nisvToUser: false,
        access: { kind, size: kind === 'ifetch' ? 4 : 8, ipa, data: 0n, syndromeValid: true },
      });
      console.log(`   ${what} ${kind}: ${fmt(o)}`);
    }
    await v.destroy();
  }
  t0 = performance.now();
  await t.close();
  console.log(`   shutdown ${(performance.now() - t0).toFixed(0)} ms`);
}
