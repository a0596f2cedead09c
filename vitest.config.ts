import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts', 'adapters/**/*.test.ts', 'properties/**/*.test.ts', 'oracles/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 600_000,
    coverage: {
      provider: 'v8',
      include: ['oracles/**', 'adapters/simulator/**', 'properties/observe/**', 'core/**', 'cli/**', 'reports/**'],
    },
  },
});
