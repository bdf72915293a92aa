// bench/vite.bench.config.ts — the app plus bench/bare.html, for bench/web-bench.mjs only.
import { resolve } from 'node:path';
import { defineConfig, mergeConfig } from 'vite';
import app from '../vite.config';

export default mergeConfig(app, defineConfig({
  root: resolve(__dirname, '..'),
  build: { rollupOptions: { input: { main: resolve(__dirname, '../index.html'), bare: resolve(__dirname, 'bare.html') } } },
}));
