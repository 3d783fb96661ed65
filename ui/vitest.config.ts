// Vitest for the UI's plain TypeScript logic (src/lib/ui): no DOM, no
// Svelte plugin, so `npm run test:unit` starts in a second.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/unit/**/*.test.ts'],
    environment: 'node',
  },
});
