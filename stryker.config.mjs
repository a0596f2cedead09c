// Mutation testing of the rules and the simulator (issue 7): `npm run stryker`.
// One mutant at a time (concurrency 1: the machine is shared); reports under
// reports/stryker/ (git-ignored). One folder at a time:
//   STRYKER_PART=oracles npm run stryker -- --mutate 'oracles/**/*.ts'
// writes reports/stryker/oracles/. See docs/mutation.md for the scores and the survivors.

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
