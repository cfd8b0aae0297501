import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// Built into packages/dashboard/assets, served by the admin API at /ui (dashboard-router.ts).
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/ui/',
  logLevel: 'warn',
  build: { outDir: fileURLToPath(new URL('../assets', import.meta.url)), emptyOutDir: true, target: 'es2022', sourcemap: false },
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
});
