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
      'tests/kernels.test.ts',
      'tests/edges.test.ts',
      'tests/layout.test.ts',
      'tests/mte.test.ts',
      'tests/generators.test.ts',
      'tests/provenance.test.ts',
      'tests/simulator-mm.test.ts',
      'tests/stage2-walk.test.ts',
    ],
    // the CLI round trips of the corpus run in child processes
    testNamePattern: '^(?!s2conform run and regress)',
    testTimeout: 120_000,
    // 100 cases per property (npm test uses 300): one mutant at a time on a shared machine
    env: { S2C_RUNS: '100' },
  },
});
