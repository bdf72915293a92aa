// bench/hover-bench.mjs — hover -> sound latency in headless chromium, against the real
// `tagscape serve` on a real analysed collection (the browser tests' fixture: five tracks cut
// from the shared clip, mp3 files on disk, so every hover really seeks + decodes + sends WAV).
//
// For each of --hovers points (a seeded random order over all points), the mouse leaves the
// plot, then jumps onto the point in one move. Latency = from that pointermove event's
// timestamp (event.timeStamp, the browser's input time) to the moment the app started the
// segment's Web Audio source (audio.ts PlayRecord.started_ms, same clock), plus the audio
// context's output latency (baseLatency + outputLatency) reported separately. The app's
// own prefetching (segments near the pointer) is on, as for a user; the figure is what a
// user hears, fetched or prefetched alike, and how many came from the decoded cache.
// The total splits into: input dispatch (event timestamp -> the first of the move's listeners
// running: pointerrawupdate as soon as the main thread is free, the app hit-tests on it; the
// browser delivers pointermove aligned to its next frame, reported apart as aligned_dispatch),
// the app (listener -> play_segment called: hit test, highlight, tooltip) and audio (play
// asked -> source started: decoded cache, or fetch + decode).
// Prints `name value` lines: cores, hovers, p50/p95/p99/max ms, from_cache share, the split.
// A second stage (--uncached hovers, same method) empties the app's decoded cache and its
// prefetch/warm lists before each jump, so every hover fetches while the last hover's
// prefetches may still be in flight: the path a hover takes when prefetching did not reach it.
//
// --trace FILE writes a Chrome trace of the first stage (open it in ui.perfetto.dev; tracing
// slows the browser, so take the figures from a run without it).
//
//   node bench/hover-bench.mjs [--hovers 40] [--uncached 20] [--trace FILE]
//   (env TAGSCAPE_BINARY; at most one hover a point)
import os from 'node:os';
import path from 'node:path';
import { build_app, launch_browser, make_collection, open_page, remove, start_server, temp_dir } from '../tests/fixture.mjs';

const hovers_arg = process.argv.indexOf('--hovers');
const HOVERS = hovers_arg > 0 ? Number(process.argv[hovers_arg + 1]) : 40;
const uncached_arg = process.argv.indexOf('--uncached');
const UNCACHED = uncached_arg > 0 ? Number(process.argv[uncached_arg + 1]) : 20;
const trace_arg = process.argv.indexOf('--trace');
const TRACE = trace_arg > 0 ? path.resolve(process.argv[trace_arg + 1]) : null;

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

function shuffled(n, seed) {
  const order = [...Array(n).keys()];
  let state = seed;
  for (let i = n - 1; i > 0; i--) {
    state = (state * 1664525 + 1013904223) >>> 0;
    const j = state % (i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

const dir = temp_dir('tagscape-hover-bench-');
let server, browser;
try {
  const collection = make_collection(dir, 'msd-musicnn-1');
  const app = build_app(path.join(dir, 'app'));
  server = await start_server(collection.db, app);
  browser = await launch_browser();
  const { page, problems } = await open_page(browser, `${server.url}/`);
  await page.waitForFunction(() => window.__tagscape?.draws() > 0, null, { timeout: 30000 });
  await page.evaluate(() => {
    window.__bench_moves = [];
    window.__bench_raw = [];
    // capture on window: before the app's listeners of the same event
    window.addEventListener('pointermove', (e) => window.__bench_moves.push([e.timeStamp, performance.now()]), { capture: true });
    window.addEventListener('pointerrawupdate', (e) => window.__bench_raw.push([e.timeStamp, performance.now()]), { capture: true });
  });
  const canvas = await page.locator('#canvas').boundingBox();
  const n = await page.evaluate(() => window.__tagscape.points());
  // One hover of the method above; `before_jump` runs in the page just before the jump.
  async function hover(i, before_jump) {
    const target = await page.evaluate((k) => window.__tagscape.point(k), i);
    await page.mouse.move(canvas.x + 2, canvas.y + 2); // off every point (corner of the plot)
    await page.waitForTimeout(30);
    const plays_before = (await page.evaluate(() => window.__tagscape.plays())).length;
    await page.evaluate((forget) => {
      window.__bench_moves.length = 0;
      window.__bench_raw.length = 0;
      if (forget) window.__tagscape.forget_audio();
    }, before_jump === 'forget');
    await page.mouse.move(canvas.x + target.at[0], canvas.y + target.at[1]);
    await page.waitForFunction((before) => window.__tagscape.plays().length > before, plays_before, { timeout: 10000 });
    await page.waitForFunction(() => window.__bench_moves.length > 0, null, { timeout: 10000 });
    const { play, moved, raw, fetch } = await page.evaluate(() => {
      const play = window.__tagscape.plays().at(-1);
      // the segment's request, if this hover made one (Resource Timing, same clock)
      const fetch = performance.getEntriesByType('resource').findLast((r) =>
        r.name.endsWith(`/api/audio/${play.track}/${play.segment}`) && r.startTime >= play.requested_ms - 1);
      return { play, moved: window.__bench_moves[0], raw: window.__bench_raw[0], fetch: fetch && fetch.toJSON() };
    });
    const first = raw && raw[1] < moved[1] ? raw : moved;
    return { total: play.started_ms - moved[0], dispatch: first[1] - moved[0], aligned: moved[1] - moved[0],
      handler: play.requested_ms - first[1], audio: play.started_ms - play.requested_ms, from_cache: play.from_cache,
      fetch_ms: fetch ? fetch.responseEnd - play.requested_ms : null, rest_ms: fetch ? play.started_ms - fetch.responseEnd : null };
  }
  const latencies = [], fetched = [], dispatch = [], aligned = [], handler = [], audio = [];
  let from_cache = 0;
  if (TRACE) {
    await browser.startTracing(page, { path: TRACE, categories: ['devtools.timeline', 'blink.user_timing', 'input', 'latencyInfo', 'toplevel', 'gpu', 'viz', 'cc'] });
  }
  for (const i of shuffled(n, 7).slice(0, HOVERS)) {
    const h = await hover(i);
    latencies.push(h.total);
    dispatch.push(h.dispatch);
    aligned.push(h.aligned);
    handler.push(h.handler);
    audio.push(h.audio);
    if (h.from_cache) from_cache++;
    else fetched.push(h.total);
  }
  if (TRACE) await browser.stopTracing();
  const uncached = [], uncached_audio = [], uncached_fetch = [], uncached_rest = [];
  for (const i of shuffled(n, 11).slice(0, UNCACHED)) {
    const h = await hover(i, 'forget');
    uncached.push(h.total);
    uncached_audio.push(h.audio);
    if (h.fetch_ms !== null) { uncached_fetch.push(h.fetch_ms); uncached_rest.push(h.rest_ms); }
  }
  const output_ms = await page.evaluate(() => {
    const ctx = new AudioContext();
    const ms = 1000 * ((ctx.baseLatency ?? 0) + (ctx.outputLatency ?? 0));
    ctx.close();
    return ms;
  });
  latencies.sort((a, b) => a - b);
  console.log(`cores ${os.cpus().length}`);
  console.log(`points ${n}`);
  console.log(`hovers ${latencies.length}`);
  console.log(`hover_to_sound_p50_ms ${percentile(latencies, 0.5).toFixed(1)}`);
  console.log(`hover_to_sound_p95_ms ${percentile(latencies, 0.95).toFixed(1)}`);
  console.log(`hover_to_sound_p99_ms ${percentile(latencies, 0.99).toFixed(1)}`);
  console.log(`hover_to_sound_max_ms ${latencies.at(-1).toFixed(1)}`);
  console.log(`from_decoded_cache_share ${(from_cache / latencies.length).toFixed(2)}`);
  fetched.sort((a, b) => a - b);
  if (fetched.length) {
    console.log(`fetched_on_hover ${fetched.length}`);
    console.log(`fetched_on_hover_p50_ms ${percentile(fetched, 0.5).toFixed(1)}`);
    console.log(`fetched_on_hover_p95_ms ${percentile(fetched, 0.95).toFixed(1)}`);
  }
  for (const [name, values] of [['input_dispatch', dispatch], ['aligned_dispatch', aligned], ['app_handler', handler], ['audio_start', audio]]) {
    values.sort((a, b) => a - b);
    console.log(`${name}_p50_ms ${percentile(values, 0.5).toFixed(1)}`);
    console.log(`${name}_p95_ms ${percentile(values, 0.95).toFixed(1)}`);
  }
  uncached.sort((a, b) => a - b);
  uncached_audio.sort((a, b) => a - b);
  if (uncached.length) {
    console.log(`uncached_hovers ${uncached.length}`);
    console.log(`uncached_hover_to_sound_p50_ms ${percentile(uncached, 0.5).toFixed(1)}`);
    console.log(`uncached_hover_to_sound_p95_ms ${percentile(uncached, 0.95).toFixed(1)}`);
    console.log(`uncached_audio_start_p50_ms ${percentile(uncached_audio, 0.5).toFixed(1)}`);
    console.log(`uncached_audio_start_p95_ms ${percentile(uncached_audio, 0.95).toFixed(1)}`);
    // audio start = fetch (play asked -> response end) + after it (body -> AudioBuffer -> source
    // started: the decode is ~1 ms, the rest is waiting for the main thread)
    for (const [name, values] of [['uncached_fetch', uncached_fetch], ['uncached_after_response', uncached_rest]]) {
      if (!values.length) continue;
      values.sort((a, b) => a - b);
      console.log(`${name}_p50_ms ${percentile(values, 0.5).toFixed(1)}`);
      console.log(`${name}_p95_ms ${percentile(values, 0.95).toFixed(1)}`);
    }
  }
  console.log(`audio_output_latency_ms ${output_ms.toFixed(1)}`);
  if (problems.length) console.log(`# page problems: ${problems.join('; ')}`);
} finally {
  await browser?.close();
  await server?.stop();
  remove(dir);
}
