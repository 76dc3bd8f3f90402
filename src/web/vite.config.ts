import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));

// `vite --config src/web/vite.config.ts` serves the app with the API proxied to a running
// `pilotlight ui` (PILOTLIGHT_UI, default http://127.0.0.1:8080); `vite build` writes the
// static files the UI server serves.
export default defineConfig({
  root,
  base: './',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('./dist', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    rollupOptions: {
      input: {
        main: fileURLToPath(new URL('./index.html', import.meta.url)),
        // A page that draws a given flame graph with no server: the benchmark's harness.
        harness: fileURLToPath(new URL('./harness.html', import.meta.url)),
      },
    },
  },
  server: {
    proxy: { '/api': process.env.PILOTLIGHT_UI ?? 'http://127.0.0.1:8080' },
  },
});
