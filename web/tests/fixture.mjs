// tests/fixture.mjs — real parts for the browser tests: a real collection analysed by the real
// `tagscape analyze` from audio made with ffmpeg out of shared/audio's test clip, the real
// `tagscape serve` on it serving this app (built with vite from the current sources), and
// Debian's chromium driven by playwright-core. No mocks.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const RESULTS_DIR = path.join(WEB_DIR, 'test-results');
export const BINARY = path.resolve(WEB_DIR, process.env.TAGSCAPE_BINARY ?? '../build/tagscape');
export const SHARED_DIR = path.resolve(WEB_DIR, process.env.TAGSCAPE_SHARED_DIR ?? '../../shared');
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const TEST_CLIP = path.join(SHARED_DIR, 'audio/joram-moments_of_clarity-08-solipsism-59-88.mp3');

// Why the suite cannot run here, or null. `tagscape serve --help` failing means the server is
// not built (yet): the suite skips with this message instead of failing.
export function skip_reason() {
  if (!existsSync(BINARY)) return `no tagscape binary at ${BINARY} (set TAGSCAPE_BINARY)`;
  const help = spawnSync(BINARY, ['serve', '--help'], { encoding: 'utf8' });
  if (help.status !== 0) return `\`${BINARY} serve --help\` failed: serve is not available in this build`;
  if (!existsSync(TEST_CLIP)) return `no test clip at ${TEST_CLIP} (set TAGSCAPE_SHARED_DIR)`;
  return null;
}

function run(command, args, options = {}) {
  const r = spawnSync(command, args, { encoding: 'utf8', ...options });
  if (r.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited ${r.status}: ${r.stderr || r.stdout}`);
  }
  return r.stdout;
}

// Five tracks of different character (the clip, faster, reversed, darker, a synthetic drone),
// with tags for the metadata the side panel shows.
const TRACKS = [
  { file: 'solipsism.mp3', filter: null, title: 'Solipsism', artist: 'Joram', album: 'Moments of Clarity', year: '2009' },
  { file: 'solipsism-fast.mp3', filter: 'asetrate=16000*1.3,aresample=16000', title: 'Solipsism (fast)', artist: 'Joram', album: 'Remixes', year: '2010' },
  { file: 'msisspilos.mp3', filter: 'areverse', title: 'Msisspilos', artist: 'Joram', album: 'Remixes', year: '2010' },
  { file: 'dark.mp3', filter: 'lowpass=f=500,atempo=0.8', title: 'Dark Water', artist: 'Joram', album: 'Remixes', year: '2011' },
  { file: 'drone.mp3', lavfi: 'sine=frequency=110:duration=18', title: 'Drone', artist: 'Synth', album: 'Tones', year: '2020' },
];

export function make_collection(dir, models = 'msd-musicnn-1,mtt-musicnn-1,moods') {
  const music = path.join(dir, 'music');
  mkdirSync(music, { recursive: true });
  for (const t of TRACKS) {
    const input = t.lavfi ? ['-f', 'lavfi', '-i', t.lavfi] : ['-i', TEST_CLIP];
    const filter = t.filter ? ['-af', t.filter] : [];
    const meta = ['title', 'artist', 'album'].flatMap((k) => ['-metadata', `${k}=${t[k]}`]).concat(['-metadata', `date=${t.year}`]);
    run('ffmpeg', ['-loglevel', 'error', '-y', ...input, ...filter, '-ac', '1', '-ar', '16000', ...meta, path.join(music, t.file)]);
  }
  const db = path.join(dir, 'collection.tagscape');
  run(BINARY, ['analyze', '--db', db, '--models', models, '-j', '2', music]);
  return { db, tracks: TRACKS.length };
}

export function build_app(out_dir) {
  run(path.join(WEB_DIR, 'node_modules/.bin/vite'), ['build', '--outDir', out_dir, '--emptyOutDir', '--logLevel', 'error'], { cwd: WEB_DIR });
  return out_dir;
}

// Starts `tagscape serve` on a free port; resolves with its base URL once it listens.
export function start_server(db, web_dir, extra = []) {
  const child = spawn(BINARY, ['serve', '--db', db, '--port', '0', '--web-dir', web_dir, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tagscape serve did not start: ${output}`)), 20000);
    const on_data = (chunk) => {
      output += chunk;
      const m = /(http:\/\/127\.0\.0\.1:\d+)\//.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1], child, stop: () => new Promise((done) => { child.once('exit', done); child.kill('SIGINT'); }) });
      }
    };
    child.stdout.on('data', on_data);
    child.stderr.on('data', on_data);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`tagscape serve exited ${code}: ${output}`)); });
  });
}

export const CHROMIUM_ARGS = [
  '--no-sandbox', '--enable-unsafe-swiftshader', '--use-angle=swiftshader', '--headless=new',
  '--disable-background-networking', '--disable-component-update', '--no-first-run',
  '--autoplay-policy=no-user-gesture-required',
];

export async function launch_browser() {
  if (!existsSync(CHROMIUM)) throw new Error(`no chromium at ${CHROMIUM}: apt-get install chromium (scripts/setup)`);
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

// A page that records console errors, page errors and failed requests.
export async function open_page(browser, url) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  if (process.env.TAGSCAPE_WEB_DEBUG) page.on('request', (r) => console.log(`# request ${r.url()}`));
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => {
    const reason = r.failure()?.errorText ?? '';
    if (!reason.includes('ERR_ABORTED')) problems.push(`request failed: ${r.url()} ${reason}`); // aborts are cancelled stale requests
  });
  await page.goto(url);
  return { page, problems };
}

export function temp_dir(prefix) {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

export function remove(dir) {
  rmSync(dir, { recursive: true, force: true });
}

// The whole stack of a browser suite, filled into `ctx` as it comes up (so stop_explorer can
// clean up after a failure half-way): ctx.dir, .collection (make_collection with `models`),
// .app (the built app), .server (tagscape serve on it), .browser, .page showing the explorer
// with its first draw done, .problems (open_page's list).
export async function start_explorer(ctx, prefix, models = undefined) {
  mkdirSync(RESULTS_DIR, { recursive: true });
  ctx.dir = temp_dir(prefix);
  ctx.collection = make_collection(ctx.dir, models);
  ctx.app = build_app(path.join(ctx.dir, 'app'));
  ctx.server = await start_server(ctx.collection.db, ctx.app);
  ctx.browser = await launch_browser();
  ({ page: ctx.page, problems: ctx.problems } = await open_page(ctx.browser, `${ctx.server.url}/`));
  await ctx.page.waitForFunction(() => window.__tagscape?.draws() > 0, null, { timeout: 30000 });
  return ctx;
}

export async function stop_explorer(ctx) {
  await ctx.browser?.close();
  await ctx.server?.stop();
  if (ctx.dir) remove(ctx.dir);
}

// Waits until the app finished what a change started: a new draw and nothing loading.
export async function settle(page, draws_before, timeout = 20000) {
  await page.waitForFunction((before) => window.__tagscape.draws() > before && document.body.dataset.busy !== '1',
    draws_before, { timeout });
}

export const draws = (page) => page.evaluate(() => window.__tagscape.draws());

// Does `action` and waits for the redraw it causes.
export async function change(page, action) {
  const before = await draws(page);
  await action();
  await settle(page, before);
}

// Pixel statistics of the plot: the canvas area is screenshotted (what the user sees) and
// decoded in the page; counts pixels far from the background colour. `canvas`: another pane's.
export async function plot_pixels(page, file, canvas = '#canvas') {
  const png = await page.locator(canvas).screenshot(file ? { path: file } : {});
  return page.evaluate(async (b64) => {
    const img = new Image();
    img.src = `data:image/png;base64,${b64}`;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.width;
    c.height = img.height;
    const ctx = c.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    const bg = [0x14, 0x16, 0x1a];
    let lit = 0;
    const colours = new Set();
    for (let i = 0; i < d.length; i += 4) {
      const diff = Math.max(Math.abs(d[i] - bg[0]), Math.abs(d[i + 1] - bg[1]), Math.abs(d[i + 2] - bg[2]));
      if (diff > 40) {
        lit++;
        colours.add((d[i] >> 4) << 8 | (d[i + 1] >> 4) << 4 | (d[i + 2] >> 4));
      }
    }
    return { lit, total: d.length / 4, colours: colours.size };
  }, png.toString('base64'));
}

// How many plot pixels are within `tolerance` (per channel) of the colour [r, g, b].
export async function count_colour(page, rgb, tolerance = 40) {
  const png = await page.locator('#canvas').screenshot();
  return page.evaluate(async ([b64, want, tol]) => {
    const img = new Image();
    img.src = `data:image/png;base64,${b64}`;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.width;
    c.height = img.height;
    const ctx = c.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) {
      if (Math.abs(d[i] - want[0]) <= tol && Math.abs(d[i + 1] - want[1]) <= tol && Math.abs(d[i + 2] - want[2]) <= tol) n++;
    }
    return n;
  }, [png.toString('base64'), rgb, tolerance]);
}
