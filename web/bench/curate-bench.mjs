// bench/curate-bench.mjs — issue 6 responsiveness: every curation feature driven through the
// explorer's own controls in headless chromium (the tests' launch args) against the real
// `tagscape serve`, on ~100k shown segments. For each interaction:
//   - longest main-thread task (PerformanceObserver 'longtask', installed by
//     page.addInitScript before the app loads: no app change) from just before the input to
//     the moment the UI settled (nothing busy, no long task for QUIET_MS);
//   - result: from the input event's timestamp (event.timeStamp of the last pointerup /
//     click / input / change / keydown, captured on window) to the first animation frame in
//     which the result is visible (selection panel listed, filter count changed, neighbours
//     listed, legend switched and redrawn, ...).
// Target (issue 6): no interaction blocks the UI thread > 100 ms.
// Prints `cores N`, then `<feature>_longest_task_ms` / `<feature>_result_ms` lines, and
// `longest_task_worst_ms` (with the feature named in a `#` line).
//
//   node bench/curate-bench.mjs [--profile] [--compare] [--only select,filter,highlight,sparsity,point,colour,view]
//     (env TAGSCAPE_BINARY, TAGSCAPE_STORE_BENCH)
//   --profile: builds the app unminified and samples the main thread (CDP Profiler, 1 ms);
//   for every task over 50 ms prints the functions holding most of its samples (self and
//   inclusive), so a slow path is named by function and bundle line. --trace FILE records a
//   Chrome trace (devtools.timeline) into FILE and prints, per task over 100 ms, where the
//   main thread's time went by trace event (self time: Layout, UpdateLayoutTree, Paint,
//   FunctionCall, GC, ...) — what a JS profile shows as "(program)". --only runs those
//   sections (point = neighbours, taggram, goal colour and walk: they need a clicked track).
//
// The collection: store_bench's bulk file (16,667 synthetic tracks x 60 segments, 200-dim
// `msd-musicnn-1/embeddings`; web/test-results/bench-store/bulk.tagscape, shared with
// bench/web-bench.mjs) copied to curate.tagscape, plus a 50-dim `msd-musicnn-1/taggrams`
// space (the MSD tag names) written by the real `tagscape import` from seeded synthetic
// .npy files (each track its own tag levels, its segments around them), so tag filters,
// colour by tag, goals and the taggram have a tag space. The plot shows that taggram layer
// (PCA) for 1,667 tracks = 100,020 segments: store_bench writes the same 60 vectors for every
// track, so its embeddings would stack 100k points on 60 spots. Before the browser starts,
// one /api/knn per granularity makes the server load (or build and save) its kNN graphs:
// that cold cost is server-side and printed as knn_warmup_s, not part of the interactions.
// No audio files exist: sound is not measured here (bench/hover-bench.mjs does).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { BINARY, RESULTS_DIR, WEB_DIR, launch_browser, remove, start_server, temp_dir } from '../tests/fixture.mjs';

const STORE_BENCH = path.resolve(WEB_DIR, process.env.TAGSCAPE_STORE_BENCH ?? path.join(path.dirname(BINARY), 'bench/store_bench'));
const STORE_DIR = path.join(RESULTS_DIR, 'bench-store');
const BULK = path.join(STORE_DIR, 'bulk.tagscape');
const DB = path.join(STORE_DIR, 'curate.tagscape');
const TRACKS_SHOWN = 1667;          // x 60 segments = 100,020 points
const SEGMENTS = 60, TAGS_DIMS = 50;
const QUIET_MS = 800;               // settled: no long task and nothing busy for this long
const RESULT_TIMEOUT_MS = 30000;
const PROFILE = process.argv.includes('--profile');
const PROFILE_OVER_MS = 50;         // tasks profiled: the target is 100 ms, the machine is shared
const trace_arg = process.argv.indexOf('--trace');
const TRACE = trace_arg > 0 ? process.argv[trace_arg + 1] : null;
const only_arg = process.argv.indexOf('--only');
const ONLY = only_arg > 0 ? new Set(process.argv[only_arg + 1].split(',')) : null;

const MSD_TAGS = ['rock', 'pop', 'alternative', 'indie', 'electronic', 'female vocalists', 'dance', '00s', 'alternative rock',
  'jazz', 'beautiful', 'metal', 'chillout', 'male vocalists', 'classic rock', 'soul', 'indie rock', 'Mellow', 'electronica',
  '80s', 'folk', '90s', 'chill', 'instrumental', 'punk', 'oldies', 'blues', 'hard rock', 'ambient', 'acoustic', 'experimental',
  'female vocalist', 'guitar', 'Hip-Hop', '70s', 'party', 'country', 'easy listening', 'sexy', 'catchy', 'funk', 'electro',
  'heavy metal', 'Progressive rock', '60s', 'rnb', 'indie pop', 'sad', 'House', 'happy'];

// --- the collection ------------------------------------------------------------------------

function ensure_bulk() {
  if (existsSync(BULK)) return;
  console.error(`curate-bench: writing the 1M-segment store with ${STORE_BENCH} (once, ~30 s)`);
  mkdirSync(STORE_DIR, { recursive: true });
  const r = spawnSync(STORE_BENCH, [STORE_DIR], { env: { ...process.env, KEEP: '1' }, stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0 || !existsSync(BULK)) throw new Error(`${STORE_BENCH} failed (${r.status})`);
}

// A float32 [rows, cols] .npy (format 1.0, header padded to 64 bytes).
function npy(values, rows, cols) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`;
  header += ' '.repeat(64 - ((10 + header.length + 1) % 64)) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1; head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(values.buffer, values.byteOffset, values.byteLength)]);
}

// Taggrams with some structure: each track has its own level per tag (skewed towards 0, as
// sigmoid tag outputs are), its segments wander around it.
function write_taggrams(dir) {
  let state = 12345;
  const random = () => ((state = (state * 1664525 + 1013904223) >>> 0) / 4294967296);
  const values = new Float32Array(SEGMENTS * TAGS_DIMS);
  const level = new Float32Array(TAGS_DIMS);
  for (let t = 0; t < 16667; t++) {
    for (let d = 0; d < TAGS_DIMS; d++) level[d] = random() ** 2;
    for (let s = 0; s < SEGMENTS; s++) {
      for (let d = 0; d < TAGS_DIMS; d++) values[s * TAGS_DIMS + d] = Math.min(1, Math.max(0, level[d] + 0.15 * (random() - 0.5)));
    }
    // store_bench's paths: /music/library/artist A/album/track T.mp3
    const folder = path.join(dir, `artist ${t % 300}`, 'album');
    mkdirSync(folder, { recursive: true });
    writeFileSync(path.join(folder, `track ${t}.npy`), npy(values, SEGMENTS, TAGS_DIMS));
  }
}

function ensure_store() {
  ensure_bulk();
  if (existsSync(DB)) return;
  console.error('curate-bench: adding a taggram space to a copy of the bulk store (once, ~1 min)');
  const tmp = `${DB}.tmp`;
  const npy_dir = path.join(STORE_DIR, 'curate-npy');
  rmSync(npy_dir, { recursive: true, force: true });
  copyFileSync(BULK, tmp);
  write_taggrams(npy_dir);
  const names = path.join(STORE_DIR, 'curate-tags.json');
  writeFileSync(names, JSON.stringify(MSD_TAGS));
  const r = spawnSync(BINARY, ['import', '--db', tmp, '--space', 'msd-musicnn-1/taggrams', '--kind', 'taggrams', '--dim-names', names, npy_dir],
    { encoding: 'utf8' });
  rmSync(npy_dir, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`tagscape import failed (${r.status}): ${r.stdout} ${r.stderr}`);
  renameSync(tmp, DB);
}

// The kNN graphs the neighbours (segments) and the walk (track averages) use.
async function warm_knn(url) {
  const start = Date.now();
  for (const segment of [0, -1]) {
    const r = await fetch(`${url}/api/knn?space=${encodeURIComponent('msd-musicnn-1/taggrams')}&track=1&segment=${segment}&k=10&metric=cosine`);
    if (!r.ok) throw new Error(`/api/knn warm-up: ${r.status} ${await r.text()}`);
  }
  console.log(`knn_warmup_s ${((Date.now() - start) / 1000).toFixed(1)}`);
}

// --- the page ------------------------------------------------------------------------------

// --compare: two panes side by side (the second a copy of the first, cameras linked), each
// drawing the 100k points; every interaction then updates both.
const COMPARE = process.argv.includes('--compare');

function state_hash() {
  const state = { version: 3, model: 'msd-musicnn-1', layer: 'taggrams', tracks: TRACKS_SHOWN, seed: 0, method: 'pca',
    view: 'segments', colour: 'track', audio: 'off', drag: 'pan', compare: COMPARE };
  return 's=' + zlib.deflateRawSync(Buffer.from(JSON.stringify(state))).toString('base64url');
}

// Installed before the app's scripts: every long task and the last input event's time.
function observe() {
  window.__bench = { tasks: [], input_ms: 0, result_ms: 0 };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__bench.tasks.push([e.startTime, e.duration]);
  }).observe({ type: 'longtask', buffered: true });
  for (const type of ['pointerup', 'click', 'input', 'change', 'keydown']) {
    window.addEventListener(type, (e) => { window.__bench.input_ms = e.timeStamp; }, { capture: true });
  }
}

const settled_now = () => page_eval((q) => {
  const tasks = window.__bench.tasks;
  const last_end = tasks.length ? tasks.at(-1)[0] + tasks.at(-1)[1] : 0;
  return document.body.dataset.busy !== '1' && performance.now() - last_end > q;
}, QUIET_MS);

let page;
const page_eval = (fn, arg) => page.evaluate(fn, arg);

async function settle(timeout = RESULT_TIMEOUT_MS) {
  const start = Date.now();
  while (!(await settled_now())) {
    if (Date.now() - start > timeout) throw new Error('the page did not settle');
    await page.waitForTimeout(100);
  }
}

const results = [];   // { name, longest, result, tasks: [[start, dur]] }

// One interaction: `act` performs the user's input with Playwright; `done` (a page-side
// predicate, as source text of an arrow function taking `arg`) says the result is visible.
// options.also: more results of the same input, { name: predicate source }, timed alike;
// options.timed = false: only the long tasks count (a hover sweep, the first pointerdown).
async function interaction(name, act, done, arg = null, cdp = null, { also = {}, timed = true } = {}) {
  await settle();
  const t0 = await page_eval(([src, extra]) => {
    window.__bench.done = (0, eval)(src);
    window.__bench.also = extra.map(([n, s]) => ({ name: n, done: (0, eval)(s), at: 0 }));
    window.__bench.result_ms = 0;
    window.__bench.input_ms = 0;
    return performance.now();
  }, [done, Object.entries(also)]);
  if (cdp) await cdp.start();
  await act();
  const input_ms = await page_eval(() => window.__bench.input_ms);
  try {
    await page.waitForFunction((a) => {
      const b = window.__bench;
      for (const x of b.also) if (!x.at && x.done(a)) x.at = performance.now();
      if (!b.result_ms && b.done(a)) b.result_ms = performance.now();
      return b.result_ms > 0 && b.also.every((x) => x.at > 0);
    }, arg, { polling: 'raf', timeout: RESULT_TIMEOUT_MS });
  } catch (e) {
    const seen = await page_eval(() => ({ state: window.__tagscape.state(), status: document.getElementById('status').textContent,
      side: document.getElementById('side')?.innerText.slice(0, 300) }));
    console.log(`# ${name}: no result within ${RESULT_TIMEOUT_MS} ms (${e.message.split('\n')[0]}); status "${seen.status}"; side "${seen.side}"; state ${JSON.stringify(seen.state)}`);
  }
  await page.waitForTimeout(300);
  await settle();
  const r = await page_eval(([from, input]) => ({
    tasks: window.__bench.tasks.filter(([s]) => s >= from),
    result: window.__bench.result_ms ? window.__bench.result_ms - (input || from) : NaN,
    also: window.__bench.also.map((x) => [x.name, x.at ? x.at - (input || from) : NaN]),
  }), [t0, input_ms]);
  const longest = r.tasks.reduce((m, [, d]) => Math.max(m, d), 0);
  results.push({ name, longest, result: r.result, tasks: r.tasks });
  console.log(`${name}_longest_task_ms ${longest.toFixed(1)}`);
  if (timed) console.log(`${name}_result_ms ${r.result.toFixed(1)}`);
  for (const [n, ms] of r.also) console.log(`${n}_result_ms ${ms.toFixed(1)}`);
  if (cdp) await cdp.stop(name, r.tasks);
}

// --- CPU profile of the main thread (--profile) ------------------------------------------

function create_profiler(session) {
  return {
    async start() {
      await session.send('Profiler.enable');
      await session.send('Profiler.setSamplingInterval', { interval: 1000 });
      await session.send('Profiler.start');
      // A fresh function each time: V8 reports a function it optimised in an earlier
      // profiling session as "(anonymous)".
      this.calibrated_at = await page_eval(() => (0, eval)(`(function bench_calibrate_marker_${Math.random().toString(36).slice(2)}() {
        const start = performance.now();
        while (performance.now() - start < 40) { /* spin */ }
        return start;
      })`)());
    },
    async stop(name, tasks) {
      const { profile } = await session.send('Profiler.stop');
      report_profile(name, profile, this.calibrated_at, tasks.filter(([, d]) => d > PROFILE_OVER_MS));
    },
  };
}

// Per task over 100 ms: the functions with most samples inside it, self and inclusive.
function report_profile(name, profile, calibrated_at, tasks) {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (n) => {
    const f = n.callFrame;
    const file = f.url ? f.url.split('/').pop() : '';
    return `${f.functionName || '(anonymous)'}${file ? ` ${file}:${f.lineNumber + 1}` : ''}`;
  };
  // Sample times (ms, profile clock).
  const times = [];
  let t = profile.startTime;
  for (const d of profile.timeDeltas) { t += d; times.push(t / 1000); }
  const marker = profile.samples.findIndex((id) => {
    for (let n = id; n !== undefined; n = parent.get(n)) if (nodes.get(n).callFrame.functionName.startsWith('bench_calibrate_marker')) return true;
    return false;
  });
  if (marker < 0) { console.log(`# ${name}: the profile has no calibration samples`); return; }
  const offset = times[marker] - calibrated_at; // profile ms - performance.now() ms
  for (const [start, duration] of tasks) {
    const self = new Map(), inclusive = new Map();
    let count = 0;
    profile.samples.forEach((id, k) => {
      const at = times[k] - offset;
      if (at < start || at > start + duration) return;
      count++;
      self.set(label(nodes.get(id)), (self.get(label(nodes.get(id))) ?? 0) + 1);
      const seen = new Set();
      for (let n = id; n !== undefined; n = parent.get(n)) {
        const l = label(nodes.get(n));
        if (seen.has(l)) continue;
        seen.add(l);
        inclusive.set(l, (inclusive.get(l) ?? 0) + 1);
      }
    });
    const top = (m, k) => [...m].sort((a, b) => b[1] - a[1]).slice(0, k).map(([l, c]) => `${c} ${l}`).join('; ');
    console.log(`# ${name}: task of ${duration.toFixed(0)} ms at ${start.toFixed(0)} (${count} samples)`);
    console.log(`#   self: ${top(self, 8)}`);
    console.log(`#   inclusive: ${top(inclusive, 25)}`);
  }
}

// Per task over 100 ms: self time by trace event name on the page's main thread.
function report_trace(trace, all) {
  const events = trace.traceEvents ?? trace;
  const mark = events.find((e) => e.name === 'curate-bench-calibration' && e.ph !== 'M');
  if (!mark) { console.log('# trace: no calibration mark'); return; }
  const main = events.filter((e) => e.pid === mark.pid && e.tid === mark.tid && e.ph === 'X' && e.dur > 0)
    .sort((a, b) => a.ts - b.ts || b.dur - a.dur);
  // performance.now() of the mark = its startTime; trace ts of it = mark.ts (us).
  const mark_ms = mark.args?.data?.startTime ?? null;
  const offset_us = mark_ms !== null ? mark.ts - mark_ms * 1000 : null;
  if (offset_us === null) { console.log('# trace: mark has no startTime'); return; }
  for (const r of all) {
    for (const [start, duration] of r.tasks.filter(([, d]) => d > 100)) {
      const from = offset_us + start * 1000, to = from + duration * 1000;
      const self = new Map();
      const stack = [];
      for (const e of main) {
        if (e.ts + e.dur < from || e.ts > to) continue;
        while (stack.length && stack.at(-1).ts + stack.at(-1).dur <= e.ts) stack.pop();
        const parent = stack.at(-1);
        if (parent) self.set(parent.name, (self.get(parent.name) ?? 0) - e.dur);
        self.set(e.name, (self.get(e.name) ?? 0) + e.dur);
        stack.push(e);
      }
      const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, 10).map(([n, us]) => `${n} ${(us / 1000).toFixed(0)}`).join('; ');
      console.log(`# ${r.name}: task of ${duration.toFixed(0)} ms, trace self ms: ${top}`);
    }
  }
}

// --- the interactions -----------------------------------------------------------------------

async function canvas_box() {
  return page.locator('#canvas').boundingBox();
}

// Screen rectangle (page px) around the middle `share` of the points along x and y.
async function point_extent(share) {
  return page_eval((s) => {
    const n = window.__tagscape.points();
    const xs = [], ys = [];
    const step = Math.max(1, Math.floor(n / 5000));
    for (let i = 0; i < n; i += step) {
      const p = window.__tagscape.point(i);
      if (p?.at) { xs.push(p.at[0]); ys.push(p.at[1]); }
    }
    xs.sort((a, b) => a - b); ys.sort((a, b) => a - b);
    const q = (a, f) => a[Math.min(a.length - 1, Math.floor(f * a.length))];
    return [q(xs, (1 - s) / 2), q(ys, (1 - s) / 2), q(xs, (1 + s) / 2), q(ys, (1 + s) / 2)];
  }, share);
}

async function drag(points) {
  const box = await canvas_box();
  const [x0, y0] = points[0];
  await page.mouse.move(box.x + x0, box.y + y0);
  await page.mouse.down();
  await page.mouse.move(box.x + x0 + 1, box.y + y0 + 1);
  for (const [x, y] of points.slice(1)) await page.mouse.move(box.x + x, box.y + y, { steps: 3 });
  await page.waitForTimeout(60); // the lasso samples the pointer every few ms: rest on the end
  const [lx, ly] = points.at(-1);
  await page.mouse.move(box.x + lx + 0.5, box.y + ly + 0.5);
  await page.waitForTimeout(60);
  await page.mouse.up();
}

const selection_text = () => page_eval(() => document.querySelector('#selection:not([hidden]) h3')?.textContent ?? '');
const count_text = () => page_eval(() => document.getElementById('filter-count')?.textContent ?? '');
const draws = () => page_eval(() => window.__tagscape.draws());
let server_url = '';
// The title of a track on the plot (from the server, as the app's track list has it).
async function shown_title() {
  const { track } = await page_eval(() => window.__tagscape.point(12345));
  return (await (await fetch(`${server_url}/api/tracks/${track}`)).json()).title;
}

async function run_all(cdp) {
  const section = (name) => !ONLY || ONLY.has(name);
  // The page's first pointerdown: the app creates its AudioContext then (audio.ts unlock),
  // a one-off cost that would otherwise land in whichever interaction comes first.
  await interaction('first_pointerdown', () => page.mouse.click(60, 790),
    '() => true', null, cdp, { timed: false });
  // Lasso over the middle ~80% of the cloud (a 48-gon inside that box), left open by one
  // edge: regl-scatterplot also takes a mouseup within lassoMinDist of the mousedown as a
  // click, which would select the track under the start as well.
  if (section('select')) {
  await page.selectOption('#drag-mode', 'lasso');
  {
    const [x0, y0, x1, y1] = await point_extent(0.8);
    const cx = (x0 + x1) / 2, cy = (y0 + y1) / 2, rx = (x1 - x0) / 2, ry = (y1 - y0) / 2;
    const ring = Array.from({ length: 48 }, (_, k) => [cx + rx * Math.cos((2 * Math.PI * k) / 48), cy + ry * Math.sin((2 * Math.PI * k) / 48)]);
    const before = await selection_text();
    await interaction('lasso_select', () => drag(ring), '(b) => { const h = document.querySelector("#selection:not([hidden]) h3"); return !!h && h.textContent !== b && !!document.querySelector("#selection-tracks li"); }', before, cdp);
  }
  await interaction('selection_clear', () => page.click('#selection-clear'), '() => document.getElementById("selection").hidden', null, cdp);
  await page.selectOption('#drag-mode', 'box');
  {
    const [x0, y0, x1, y1] = await point_extent(0.6);
    await interaction('box_select', () => drag([[x0, y0], [x1, y1]]),
      '() => !!document.querySelector("#selection:not([hidden]) #selection-tracks li")', null, cdp);
  }
  await page.click('#selection-clear');
  await page.selectOption('#drag-mode', 'pan');
  }

  if (section('filter')) {
  // Metadata filter: typing into the search box, one input event a key.
  {
    const before = await count_text();
    await interaction('filter_text', async () => {
      await page.click('#filter-text');
      await page.keyboard.type('Title 12', { delay: 60 });
    }, '(b) => { const t = document.getElementById("filter-count").textContent; return t !== b && / of /.test(t) && window.__tagscape.filter_result() !== null && window.__tagscape.state().filter.text === "Title 12"; }', before, cdp);
  }
  await interaction('filter_clear', () => page.click('#filter-clear'), '() => window.__tagscape.filter_result() === null && !/ of /.test(document.getElementById("filter-count").textContent)', null, cdp);
  // Tag threshold filter.
  await interaction('filter_tag_threshold', async () => {
    await page.fill('#filter-tags', 'rock > 0.5');
    await page.press('#filter-tags', 'Enter');
  }, '() => / of /.test(document.getElementById("filter-count").textContent) && window.__tagscape.filter_result() !== null', null, cdp);
  await page.click('#filter-clear');
  await settle();
  }

  if (section('highlight')) {
  // Highlight an artist's tracks.
  await interaction('highlight_artist', () => page.selectOption('#highlight-artist', 'Artist 7'),
    '() => window.__tagscape.highlighted().length > 0', null, cdp);
  await interaction('highlight_clear', () => page.selectOption('#highlight-artist', ''),
    '() => window.__tagscape.highlighted().length === 0', null, cdp);
  // Highlight one track by search.
  await interaction('highlight_track_search', async () => {
    await page.fill('#highlight-track', await shown_title());
    await page.press('#highlight-track', 'Enter');
  }, '() => window.__tagscape.state().highlight.track !== null && window.__tagscape.highlighted().length > 0', null, cdp);
  await page.fill('#highlight-track', '');
  await page.press('#highlight-track', 'Enter');
  }

  if (section('sparsity')) {
  // Sparsity: every 4th segment.
  await interaction('sparsity_4', async () => {
    await page.fill('#sparsity', '4');
    await page.press('#sparsity', 'Enter');
  }, '() => window.__tagscape.filter_result() !== null && / of /.test(document.getElementById("filter-count").textContent)', null, cdp);
  await interaction('sparsity_1', async () => {
    await page.fill('#sparsity', '1');
    await page.press('#sparsity', 'Enter');
  }, '() => window.__tagscape.filter_result() === null', null, cdp);
  }

  if (section('point')) {
  // Click a point: its neighbours (server kNN over the full space) and the track's taggram.
  const target = await page_eval(() => window.__tagscape.point(Math.floor(window.__tagscape.points() / 3)));
  {
    const box = await canvas_box();
    await page.mouse.move(box.x + target.at[0], box.y + target.at[1]);
    await settle();
    await interaction('neighbours_click', () => page.mouse.click(box.x + target.at[0], box.y + target.at[1]),
      '() => document.querySelectorAll("#neighbours-list li").length > 0', null, cdp,
      { also: { taggram_shown: '() => window.__tagscape.taggram().rows.length > 0' } });
    await page.mouse.move(box.x + 3, box.y + 3);
  }
  // Taggram: hover along the timeline, then click a cell (seeks the track audio).
  {
    await page.locator('#taggram-canvas').scrollIntoViewIfNeeded(); // below the track's segment list
    const canvas = await page.locator('#taggram-canvas').boundingBox();
    const cell = await page_eval(() => window.__tagscape.taggram_cell(30, 2));
    await interaction('taggram_hover', async () => {
      for (let s = 0; s < 60; s += 3) {
        const [x, y] = await page_eval((k) => window.__tagscape.taggram_cell(k, 2), s);
        await page.mouse.move(canvas.x + x, canvas.y + y);
      }
    }, '() => window.__tagscape.taggram().hovered !== null', null, cdp, { timed: false });
    // The bench collection has no audio files: the result is the seek issued (the media
    // element asked to load / moved to the cell's time), not sound.
    await interaction('taggram_click', () => page.mouse.click(canvas.x + cell[0], canvas.y + cell[1]),
      '() => { const a = document.querySelector("#panel #track-audio"); return !!a && (a.preload === "auto" || a.currentTime > 0); }', null, cdp);
    await page_eval(() => window.__tagscape.stop_audio());
    await page.evaluate(() => document.querySelector('#panel #track-audio')?.pause());
  }

  // Goal: type it, colour by it (server scores), walk from the selected track.
  await page.fill('#goal', '+rock +happy -metal');
  await page.press('#goal', 'Enter');
  {
    const d = await draws();
    await interaction('goal_colour', () => page.check('#goal-colour'),
      '(d) => window.__tagscape.legend()?.kind === "value" && window.__tagscape.draws() > d', d, cdp);
  }
  await interaction('goal_walk', () => page.click('#walk'),
    '() => document.querySelectorAll("#walk-path li").length > 1 && window.__tagscape.walk_overlay().length > 1', null, cdp);
  await page.click('#walk-close');
  await page.uncheck('#goal-colour');
  await settle();
  }

  // Colour by a tag (its values fetched as the original projection of that dim).
  if (section('colour')) {
    const d = await draws();
    await interaction('colour_by_tag', () => page.selectOption('#colour', 'tag:rock'),
      '(d) => window.__tagscape.legend()?.label === "rock" && window.__tagscape.draws() > d', d, cdp);
  }
  await page.selectOption('#colour', 'track');
  await settle();

  // Views: segments -> trajectories -> averages -> segments.
  if (section('view')) for (const [view, name] of [['trajectories', 'view_trajectories'], ['averages', 'view_averages'], ['segments', 'view_segments']]) {
    const d = await draws();
    await interaction(name, () => page.selectOption('#view', view),
      `(d) => window.__tagscape.draws() > d && window.__tagscape.state().view === "${view}" && document.body.dataset.busy !== "1"`, d, cdp);
  }
}

console.log(`cores ${os.cpus().length}`);
ensure_store();
const dir = temp_dir('tagscape-curate-bench-');
const build_args = ['build', '--outDir', path.join(dir, 'app'), '--emptyOutDir', '--logLevel', 'error', ...(PROFILE ? ['--minify', 'false'] : [])];
const build = spawnSync(path.join(WEB_DIR, 'node_modules/.bin/vite'), build_args, { cwd: WEB_DIR, stdio: 'inherit' });
if (build.status !== 0) process.exit(1);
const server = await start_server(DB, path.join(dir, 'app'));
server_url = server.url;
await warm_knn(server.url);
const browser = await launch_browser();
try {
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  await page.addInitScript(observe);
  await page.goto(`${server.url}/#${state_hash()}`);
  await page.waitForFunction(() => window.__tagscape?.draws() > 0 && window.__tagscape.points() > 0, null, { timeout: 600000 });
  console.log(`points ${await page_eval(() => window.__tagscape.points())}`);
  if (COMPARE) console.log(`compare_panes ${await page_eval(() => (window.__tagscape.state().compare ? 2 : 1))}`);
  const cdp = PROFILE ? create_profiler(await page.context().newCDPSession(page)) : null;
  if (TRACE) {
    await browser.startTracing(page, { path: TRACE, categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'blink.user_timing', 'v8'] });
    await page_eval(() => performance.mark('curate-bench-calibration'));
  }
  await run_all(cdp);
  if (TRACE) report_trace(JSON.parse(String(await browser.stopTracing())), results);
  const worst = results.reduce((w, r) => (r.longest > w.longest ? r : w), { longest: 0, name: 'none' });
  console.log(`longest_task_worst_ms ${worst.longest.toFixed(1)}`);
  console.log(`# worst: ${worst.name}; over 100 ms: ${results.filter((r) => r.longest > 100).map((r) => `${r.name} (${r.longest.toFixed(0)})`).join(', ') || 'none'}`);
  if (problems.length) console.log(`# page errors: ${problems.join('; ')}`);
} finally {
  await browser.close();
  await server.stop();
  remove(dir);
}
