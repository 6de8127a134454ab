import { defineConfig } from 'vitest/config';

// One vitest process for the whole workspace; each package has its own project config.
export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*'],
    reporters: ['default', './scripts/summary-reporter.mjs'],
    maxWorkers: 2,
  },
});
