// npm run cpus: what each QEMU CPU model shows a KVM host, booted under the default emulator:
// KVM mode, host PARange, IPA limit, the 16K granule, and the MIDR (errata a kernel may apply).
// The CPU table of docs/real-kernels.md is this output.
//   npm run cpus [-- --kernels 6.12,6.12-16k] [--cpus cortex-a57,max]

import { parseArgs } from 'node:util';
import { KvmTarget } from '../adapters/kvm/index.ts';
import { PARANGE_BITS } from '../arch/host.ts';

const { values } = parseArgs({
  options: {
    kernels: { type: 'string', default: '6.12,6.12-16k' },
    cpus: { type: 'string', default: 'cortex-a53,cortex-a57,cortex-a72,cortex-a76,cortex-a710,neoverse-n1,neoverse-n2,neoverse-v1,max' },
  },
});
process.stdout.write(
  '| cpu | kernel | KVM mode | PARange | IPA limit | granule | MIDR | boot |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n',
);
for (const cpu of values.cpus.split(',')) {
  for (const k of values.kernels.split(',')) {
    const t = new KvmTarget(`qemu:${cpu}@${k}`, { bootTimeoutMs: 60_000 });
    try {
      const info = await t.open();
      const host = info.host === 'any' ? undefined : info.host;
      process.stdout.write(
        `| ${cpu} | ${k} (${info.kernelVersion}) | ${info.mode} | ${PARANGE_BITS[info.parange ?? 99] ?? '?'} bits | ${info.ipaLimit} | ${host?.granule}K${host?.lpa2 ? ' + LPA2' : ''} | ${t.probe?.midr !== undefined ? `0x${t.probe.midr.toString(16)}` : '?'} | ${info.bootMs} ms |\n`,
      );
    } catch (e) {
      process.stdout.write(
        `| ${cpu} | ${k} | – | – | – | – | – | ${(e instanceof Error ? e.message : String(e)).split('\n')[0]?.slice(0, 90)} |\n`,
      );
    } finally {
      await t.close();
    }
  }
}
