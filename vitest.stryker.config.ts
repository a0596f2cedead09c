// The tests Stryker runs against each mutant of oracles/ and adapters/simulator/:
// everything that exercises them in-process. The CLI and report tests run the
// tool in child processes, which never see the active mutant; the real-KVM
// tests need QEMU.

import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'tests/abort.test.ts',
      'tests/seeds.test.ts',
      'tests/profiles.test.ts',
      'tests/properties.test.ts',
      'tests/mutants.test.ts',
      'tests/regressions.test.ts',
      'tests/deviations.test.ts',
    ],
    testTimeout: 120_000,
  },
});
