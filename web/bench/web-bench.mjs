// bench/web-bench.mjs — the explorer's speed in headless chromium (software WebGL here), against
// the real `tagscape serve`, at 100k and 1M points:
//   - first paint: from the final points frame reaching the main thread to the drawn plot
//     (and from the request to the drawn plot, server time included);
//   - frame time while panning (mouse drag), the app vs a bare regl-scatterplot page
//     (bench/bare.html) drawing the same points in the same browser: the ratio is the figure
//     (the absolute one is the software renderer's floor, ~3 fps at 100k on 2 cores);
//   - the longest main-thread task (PerformanceObserver 'longtask') while panning and hovering,
//     and while loading.
// Prints `name value` lines.
//
//   node bench/web-bench.mjs [--keep] [--100k-only] [--pan-s SECONDS]     (env TAGSCAPE_BINARY, TAGSCAPE_STORE_BENCH)
//
// The collection: store_bench's bulk file (16,667 synthetic tracks x 60 segments x 200 dims,
// written through the real store code; `KEEP=1 store_bench DIR`), made once into
// web/test-results/bench-store/ (840 MB). Audio files do not exist there: hover sound is not
// part of this bench (bench/server-bench measures it).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { BINARY, RESULTS_DIR, WEB_DIR, launch_browser, remove, start_server, temp_dir } from '../tests/fixture.mjs';

const STORE_BENCH = path.resolve(WEB_DIR, process.env.TAGSCAPE_STORE_BENCH ?? path.join(path.dirname(BINARY), 'bench/store_bench'));
const STORE_DIR = path.join(RESULTS_DIR, 'bench-store');
const DB = path.join(STORE_DIR, 'bulk.tagscape');
const SPACE = 'msd-musicnn-1/embeddings';
const pan_arg = process.argv.indexOf('--pan-s');
const PAN_S = pan_arg > 0 ? Number(process.argv[pan_arg + 1]) : 6; // more seconds: more 1M frames
const HOVER_S = 2;

function ensure_store() {
  if (existsSync(DB)) return;
  console.error(`web-bench: writing the 1M-segment store with ${STORE_BENCH} (once, ~30 s)`);
  const r = spawnSync(STORE_BENCH, [STORE_DIR], { env: { ...process.env, KEEP: '1' }, stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0 || !existsSync(DB)) throw new Error(`${STORE_BENCH} failed (${r.status})`);
}

// The app's URL hash for a state (src/state.ts: JSON -> deflate-raw -> base64url).
function state_hash(tracks) {
  const state = { version: 1, model: 'msd-musicnn-1', layer: 'embeddings', tracks, seed: 0, method: 'pca', view: 'segments', colour: 'track', audio: 'off' };
  return 's=' + zlib.deflateRawSync(Buffer.from(JSON.stringify(state))).toString('base64url');
}

async function watch_tasks(page) {
  await page.evaluate(() => {
    window.__longest = 0;
    window.__tasks = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__longest = Math.max(window.__longest, e.duration);
    });
    window.__tasks.observe({ type: 'longtask', buffered: true });
  });
}

// Drags the plot in circles for PAN_S seconds; frame intervals from requestAnimationFrame.
async function pan(page) {
  const box = await page.locator('canvas').first().boundingBox();
  const cx = box.x + box.width / 2, cy = box.y + box.height / 2;
  await page.evaluate(() => {
    window.__frames = [];
    window.__framing = true;
    let last = performance.now();
    const loop = (t) => {
      window.__frames.push(t - last);
      last = t;
      if (window.__framing) requestAnimationFrame(loop);
    };
    requestAnimationFrame(loop);
  });
  await page.mouse.move(cx, cy);
  await page.mouse.down();
  const start = Date.now();
  for (let k = 0; Date.now() - start < PAN_S * 1000; k++) {
    await page.mouse.move(cx + 120 * Math.cos(k / 6), cy + 80 * Math.sin(k / 6));
  }
  await page.mouse.up();
  const frames = await page.evaluate(() => { window.__framing = false; return window.__frames.slice(2); });
  frames.sort((a, b) => a - b);
  const mean = frames.reduce((a, b) => a + b, 0) / Math.max(1, frames.length);
  return { mean, p95: frames[Math.floor(frames.length * 0.95)] ?? NaN, count: frames.length };
}

async function hover(page) {
  const box = await page.locator('canvas').first().boundingBox();
  const start = Date.now();
  for (let k = 0; Date.now() - start < HOVER_S * 1000; k++) {
    await page.mouse.move(box.x + box.width * (0.3 + 0.4 * ((k * 37) % 100) / 100), box.y + box.height * (0.3 + 0.4 * ((k * 61) % 100) / 100));
  }
}

const fmt = (v) => (Number.isFinite(v) ? v.toFixed(1) : 'nan');

async function measure(browser, base, tracks, label) {
  const problems = [];
  // The app.
  const app = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  app.on('pageerror', (e) => problems.push(e.message));
  await app.goto(`${base}/#${state_hash(tracks)}`);
  await watch_tasks(app);
  await app.waitForFunction(() => window.__tagscape?.timing().painted_ms > 0, null, { timeout: 600000 });
  await app.waitForTimeout(500);
  const t = await app.evaluate(() => window.__tagscape.timing());
  const n = await app.evaluate(() => window.__tagscape.points());
  const load_longest = await app.evaluate(() => window.__longest);
  await app.evaluate(() => { window.__longest = 0; });
  const app_pan = await pan(app);
  await hover(app);
  const interaction_longest = await app.evaluate(() => window.__longest);
  await app.close();
  // The bare page, same points.
  const bare = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  bare.on('pageerror', (e) => problems.push(e.message));
  const q = new URLSearchParams({ space: SPACE, tracks: String(tracks), seed: '0', granularity: 'segments', method: 'pca', x: '0', y: '1' });
  await bare.goto(`${base}/bench/bare.html?q=${encodeURIComponent(q.toString())}`);
  await bare.waitForFunction(() => window.__bare?.painted_ms > 0, null, { timeout: 600000 });
  await bare.waitForTimeout(500);
  const bare_n = await bare.evaluate(() => window.__bare.n);
  const bare_first = await bare.evaluate(() => window.__bare.painted_ms - window.__bare.data_ms);
  const bare_pan = await pan(bare);
  await bare.close();
  if (problems.length) console.error(`web-bench: page errors: ${problems.join('; ')}`);
  if (bare_n !== n) console.error(`web-bench: app drew ${n} points, bare page ${bare_n}`);
  console.log(`points_${label} ${n}`);
  console.log(`first_paint_after_data_ms_${label} ${fmt(t.painted_ms - t.data_ms)}`);
  console.log(`request_to_paint_ms_${label} ${fmt(t.painted_ms - t.requested_ms)}`);
  console.log(`bare_first_paint_after_data_ms_${label} ${fmt(bare_first)}`);
  console.log(`app_pan_frame_ms_${label} ${fmt(app_pan.mean)}`);
  console.log(`app_pan_frame_p95_ms_${label} ${fmt(app_pan.p95)}`);
  console.log(`bare_pan_frame_ms_${label} ${fmt(bare_pan.mean)}`);
  console.log(`bare_pan_frame_p95_ms_${label} ${fmt(bare_pan.p95)}`);
  console.log(`pan_frame_ratio_${label} ${(app_pan.mean / bare_pan.mean).toFixed(2)}`);
  console.log(`pan_frames_counted_${label} ${app_pan.count} ${bare_pan.count}`);
  console.log(`longest_task_interaction_ms_${label} ${fmt(interaction_longest)}`);
  console.log(`longest_task_load_ms_${label} ${fmt(load_longest)}`);
}

ensure_store();
const dir = temp_dir('tagscape-web-bench-');
const build = spawnSync(path.join(WEB_DIR, 'node_modules/.bin/vite'),
  ['build', '--config', 'bench/vite.bench.config.ts', '--outDir', path.join(dir, 'app'), '--emptyOutDir', '--logLevel', 'error'],
  { cwd: WEB_DIR, stdio: 'inherit' });
if (build.status !== 0) process.exit(1);
const server = await start_server(DB, path.join(dir, 'app'));
const browser = await launch_browser();
try {
  console.log(`cores ${(await import('node:os')).cpus().length}`);
  await measure(browser, server.url, 1667, '100k');
  if (!process.argv.includes('--100k-only')) await measure(browser, server.url, 'all', '1m');
} finally {
  await browser.close();
  await server.stop();
  remove(dir);
  if (!process.argv.includes('--keep')) { /* the store stays in test-results/ for the next run */ }
}
