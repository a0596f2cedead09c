// Known deviations: strict parsing that names file and field, exact matching.

import { describe, expect, it } from 'vitest';
import { deviationsFor, explain, parseDeviations } from '../core/deviations.ts';
import { diffOutcomes } from '../core/compare.ts';
import type { TargetInfo } from '../core/target.ts';

const entry = {
  id: 'x',
  property: 'abort/*',
  target: { kernelRelease: '^6\\.1\\.' },
  case: { 'access.kind': 'ifetch' },
  fields: ['outcome.esr'],
  reference: 'commit abc',
  note: 'n',
};
const info: TargetInfo = { kind: 'qemu', spec: 'qemu:max@6.1', kernelRelease: '6.1.0-50-cloud-arm64', host: 'any' };

describe('fixtures/deviations.json', () => {
  it('names the file and the field of a malformed entry', () => {
    expect(() => parseDeviations('{', 'f.json')).toThrow(/^f\.json: not JSON/);
    expect(() => parseDeviations('{"deviations": {}}', 'f.json')).toThrow("f.json: field 'deviations' must be an array");
    expect(() => parseDeviations(JSON.stringify({ deviations: [{ ...entry, reference: '' }] }), 'f.json')).toThrow(
      "f.json: deviations[0]: field 'reference' must be a non-empty string",
    );
    expect(() => parseDeviations(JSON.stringify({ deviations: [{ ...entry, target: { kernel: 'x' } }] }), 'f.json')).toThrow(
      "f.json: deviations[0]: field 'target.kernel' is not one of",
    );
    expect(() => parseDeviations(JSON.stringify({ deviations: [{ ...entry, fields: [] }] }), 'f.json')).toThrow("field 'fields'");
  });

  it('explains exactly the difference it describes, on the targets it names', () => {
    const [d] = parseDeviations(JSON.stringify({ deviations: [entry] }), 'f.json');
    if (!d) throw new Error('no entry');
    expect(deviationsFor([d], 'abort/routing', info)).toHaveLength(1);
    expect(deviationsFor([d], 'memslot/sequence', info)).toHaveLength(0);
    expect(deviationsFor([d], 'abort/routing', { ...info, kernelRelease: '6.12.1' })).toHaveLength(0);
    const kase = { access: { kind: 'ifetch' } };
    const e = { outcome: { kind: 'exception', vector: 0x200, esr: 0x86000010n, far: 0n } };
    expect(explain([d], kase, diffOutcomes(e, { outcome: { ...e.outcome, esr: 0x86000000n } }))?.id).toBe('x');
    // another field differs too: not explained
    expect(explain([d], kase, diffOutcomes(e, { outcome: { ...e.outcome, esr: 0n, far: 1n } }))).toBeUndefined();
    // xor: the difference must be exactly the sign-extended upper half
    const [x] = parseDeviations(JSON.stringify({ deviations: [{ ...entry, xor: { 'outcome.esr': '0xffffffff00000000' } }] }), 'f.json');
    if (!x) throw new Error('no entry');
    expect(explain([x], kase, diffOutcomes(e, { outcome: { ...e.outcome, esr: 0xffffffff86000010n } }))?.id).toBe('x');
    expect(explain([x], kase, diffOutcomes(e, { outcome: { ...e.outcome, esr: 0xffffffff86000000n } }))).toBeUndefined();
    // another case: not explained
    expect(explain([d], { access: { kind: 'load' } }, diffOutcomes(e, { outcome: { ...e.outcome, esr: 0n } }))).toBeUndefined();
  });
});

describe('emulator deviations: matched per emulator version, per page size, on exactly what they name', () => {
  const hang = {
    id: 'qemu-hang',
    kind: 'emulator',
    property: 'abort/*',
    target: { 'emulator.version': 'version 7\\.', 'host.granule': '^16$' },
    case: { ipaBits: 52 },
    fields: ['outcome.*'],
    actual: { 'outcome.kind': 'hang' },
    reference: 'qemu 0ffe5b7ba883',
    note: 'n',
  };
  const host = { parange: 6, granule: 16 as const, lpa2: true, kernelPaBits: 52 as const, vaBits: 52, mode: 'vhe' as const };
  const under = (v: string): TargetInfo => ({
    ...info,
    host,
    emulator: { name: 'x', binary: '/q', version: `QEMU emulator version ${v}`, command: [] },
  });
  it('applies to the emulator version and page size it names only', () => {
    const [d] = parseDeviations(JSON.stringify({ deviations: [hang] }), 'f.json');
    if (!d) throw new Error('no entry');
    expect(d.kind).toBe('emulator');
    expect(deviationsFor([d], 'abort/routing', under('7.2.22'))).toHaveLength(1);
    expect(deviationsFor([d], 'abort/routing', under('10.0.2'))).toHaveLength(0);
    expect(deviationsFor([d], 'abort/routing', { ...under('7.2.22'), host: { ...host, granule: 4 } })).toHaveLength(0);
    expect(deviationsFor([d], 'abort/routing', info)).toHaveLength(0); // no emulator recorded: never matched
  });
  it('explains a hang in place of any outcome, and nothing else', () => {
    const [d] = parseDeviations(JSON.stringify({ deviations: [hang] }), 'f.json');
    if (!d) throw new Error('no entry');
    const mmio = { outcome: { kind: 'mmio', physAddr: 0x104000n, len: 1, isWrite: false, data: 0n } };
    expect(explain([d], { ipaBits: 52 }, diffOutcomes(mmio, { outcome: { kind: 'hang' } }))?.id).toBe('qemu-hang');
    expect(explain([d], { ipaBits: 48 }, diffOutcomes(mmio, { outcome: { kind: 'hang' } }))).toBeUndefined();
    // a wrong MMIO address is not a hang: not explained
    expect(explain([d], { ipaBits: 52 }, diffOutcomes(mmio, { outcome: { ...mmio.outcome, physAddr: 0n } }))).toBeUndefined();
    expect(() => parseDeviations(JSON.stringify({ deviations: [{ ...hang, kind: 'cpu' }] }), 'f.json')).toThrow("field 'kind'");
  });
});
