// Mutation testing of the rules and the simulator (docs/mutation.md). `npm run stryker`
// (scripts/stryker.ts) runs this configuration once per folder, oracles/ then
// adapters/simulator/, each into reports/stryker/<part>/ (git-ignored), and prints
// the scores. One mutant at a time (concurrency 1: the machine is shared). See
// docs/mutation.md for the scores and the survivors.

const part = process.env.STRYKER_PART ?? 'all';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.stryker.config.ts' },
  mutate: ['oracles/**/*.ts', 'adapters/simulator/**/*.ts'],
  coverageAnalysis: 'perTest',
  concurrency: 1,
  timeoutMS: 20000,
  reporters: ['html', 'json', 'clear-text', 'progress'],
  htmlReporter: { fileName: `reports/stryker/${part}/index.html` },
  jsonReporter: { fileName: `reports/stryker/${part}/mutation.json` },
  clearTextReporter: { allowColor: false, logTests: false, maxTestsToLog: 0 },
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
  incremental: false,
};
