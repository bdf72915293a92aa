// vite.config.ts — builds the app `tagscape serve` serves (two pages: the explorer, index.html,
// and the listening test, listening.html) (server/web.cmake runs
// `vite build --outDir <build>/web`). The server's CSP forbids inline scripts, so everything
// loads from files under /assets (Vite's default for the entry and the worker).
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/',
  build: {
    target: 'es2022',
    assetsInlineLimit: 0, // no data: URLs for scripts (CSP: script-src 'self')
    modulePreload: { polyfill: false }, // the polyfill is an inline script
    chunkSizeWarningLimit: 1000,
    rollupOptions: { input: { main: 'index.html', listening: 'listening.html' } },
  },
  worker: { format: 'es' },
  server: {
    // `npm run dev`: the API comes from a running `tagscape serve --port 8080`.
    proxy: { '/api': 'http://127.0.0.1:8080' },
  },
});
