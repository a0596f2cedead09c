// s2conform crosscheck: whose fault a real failure is, and how the reports say it.

import { describe, expect, it } from 'vitest';
import { classify } from '../cli/crosscheck.ts';
import type { PropertyResult, Summary } from '../core/result.ts';
import { crosscheckLine, detailLines, observedKernel } from '../reports/detail.ts';
import { renderKtap } from '../reports/ktap.ts';

describe('classification', () => {
  const hang = { kind: 'hang' };
  it('another emulator that sees otherwise points at the emulator, whatever the simulator says', () => {
    expect(
      classify({
        otherEmulator: { name: '10.0', actual: { outcome: { kind: 'mmio' } }, same: false },
        simulator: { actual: hang, agreesWithKernel: true },
      }),
    ).toEqual({ classification: 'differs-between-emulators', pointsAt: 'emulator' });
  });
  it('both emulators alike and the simulated kernel alike point at the oracle', () => {
    expect(
      classify({ otherEmulator: { name: '7.2', actual: hang, same: true }, simulator: { actual: hang, agreesWithKernel: true } }),
    ).toEqual({ classification: 'simulator-agrees-with-kernel', pointsAt: 'oracle' });
  });
  it('both emulators alike, the simulated kernel not: KVM', () => {
    expect(
      classify({
        otherEmulator: { name: '7.2', actual: hang, same: true },
        simulator: { actual: { kind: 'exception' }, agreesWithKernel: false },
      }),
    ).toEqual({ classification: 'same-under-both-emulators', pointsAt: 'kvm' });
  });
  it('no second emulator and no verdict from the simulator: undecided, never a guess', () => {
    expect(classify({ otherEmulator: undefined, simulator: { actual: {}, agreesWithKernel: false } })).toEqual({
      classification: 'undecided',
      pointsAt: 'unknown',
    });
  });
});

describe('in the reports', () => {
  const c = {
    classification: 'differs-between-emulators',
    pointsAt: 'emulator',
    otherEmulator: { name: '10.0', actual: { kind: 'mmio' }, same: false },
  } as const;
  const r: PropertyResult = {
    family: 'abort',
    name: 'routing',
    verdict: 'fail',
    runs: 1,
    seed: 7,
    counterexample: { ipaBits: 52 },
    crosscheck: c,
    durationMs: 1,
  };
  const s: Summary = {
    tool: 's2conform',
    version: '0.1.0',
    profile: 'v6.12.95',
    strict: false,
    seed: 7,
    properties: [r],
    regressions: [],
    totals: { pass: 0, fail: 1, skip: 0, error: 0 },
    durationMs: 1,
    complete: true,
    target: {
      kind: 'qemu',
      spec: 'qemu:max,qemu=7.2@6.12-16k',
      kernelRelease: '6.12.95+deb12-arm64-16k',
      kernelVersion: '6.12.95',
      host: { granule: 16 },
      emulator: { version: 'QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)' },
    },
  };
  it('a diagnostic line in KTAP and JUnit (detailLines), and the observed kernel and emulator in the header', () => {
    expect(crosscheckLine(c)).toBe('crosscheck: differs-between-emulators (points at emulator); QEMU 10.0: observed {"kind":"mmio"}');
    expect(detailLines(r, 'v6.12.95')).toContain(crosscheckLine(c));
    expect(observedKernel(s)).toBe('Linux 6.12.95+deb12-arm64-16k, 16K pages, QEMU 7.2.22');
    const ktap = renderKtap(s);
    expect(ktap).toContain(
      '# s2conform 0.1.0: target qemu:max,qemu=7.2@6.12-16k (Linux 6.12.95+deb12-arm64-16k, 16K pages, QEMU 7.2.22), profile v6.12.95',
    );
    expect(ktap).toContain('# crosscheck: differs-between-emulators (points at emulator)');
  });
});
