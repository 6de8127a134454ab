import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'native-common', include: ['test/**/*.test.ts'], testTimeout: 30_000 },
});
