// audio.ts — segment playback through Web Audio: fetch /api/audio/{track}/{segment} (16-bit
// WAV, 16 kHz mono, API.md) -> an AudioBuffer -> play with short fades so starts and stops do
// not click. The context runs at the segments' rate and the WAV samples are copied into the
// buffer here (~1 ms): decodeAudioData resampled each segment to the device rate first (27 ms
// median, 60 ms p95 on 2 busy cores), and a 16 kHz buffer in a 48 kHz context would be
// resampled by the source node's linear interpolation; the context's own output resampler is
// the good one. Another rate or format still goes through decodeAudioData.
// Decoded buffers sit in an LRU cache (a byte budget); prefetch() warms it for the points near
// the pointer and warm() for a whole view small enough to fit, so a hover usually plays from
// memory. A segment asked to play that is not cached goes first: its request is sent with high
// fetch priority and no prefetch starts until it arrived (on 2 cores the server's cuts and the
// browser's decodes of 4 prefetches took the hover's fetch from ~30 to 100s of ms).
import { auth_headers } from './api';
import type { AudioMode } from './state';

const FADE_S = 0.015;          // 15 ms fade in/out (10-20 ms: no click, no audible ramp)
const SEGMENT_RATE = 16000;     // Hz of /api/audio (API.md); the context's rate
const CACHE_BYTES = 96 * 2 ** 20; // decoded audio kept (a 3 s segment: 16k float32 = 0.19 MB)
const WARM_BYTES = 48 * 2 ** 20;  // warm() takes a view only if it fits in this share of it
const SEGMENT_BYTES_GUESS = 3 * SEGMENT_RATE * 4; // until a first segment is decoded
const PREFETCH_PARALLEL = 4;   // requests in flight for prefetching (the server has 8 handlers)
const WARM_PARALLEL = 2;       // requests in flight for warming a view (background work)
const EARLY_CONTEXT_TIMEOUT_MS = 2000; // build the AudioContext by then even if never idle

export interface PlayRecord {
  track: number;
  segment: number;
  requested_ms: number;        // performance.now() when play was asked
  started_ms: number;          // performance.now() when the source started
  from_cache: boolean;
}

export type AudioPlayer = ReturnType<typeof create_audio_player>;

// A canonical PCM WAV (RIFF, 'fmt ' format 1, 16-bit) as an AudioBuffer at its own rate; null
// for anything else (the caller decodes it with decodeAudioData).
export function wav16_buffer(bytes: ArrayBuffer): AudioBuffer | null {
  const view = new DataView(bytes);
  const tag = (at: number) => String.fromCharCode(view.getUint8(at), view.getUint8(at + 1), view.getUint8(at + 2), view.getUint8(at + 3));
  if (bytes.byteLength < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') return null;
  let channels = 0, rate = 0;
  for (let at = 12; at + 8 <= bytes.byteLength;) {
    const id = tag(at), size = view.getUint32(at + 4, true), body = at + 8;
    if (id === 'fmt ') {
      if (size < 16 || view.getUint16(body, true) !== 1 || view.getUint16(body + 14, true) !== 16) return null;
      channels = view.getUint16(body + 2, true);
      rate = view.getUint32(body + 4, true);
      if (rate < 3000 || rate > 768000) return null; // outside what an AudioBuffer takes
    } else if (id === 'data') {
      if (!channels || !rate) return null;
      const frames = Math.floor(Math.min(size, bytes.byteLength - body) / (2 * channels));
      if (frames === 0) return null;
      const buffer = new AudioBuffer({ length: frames, numberOfChannels: channels, sampleRate: rate });
      for (let c = 0; c < channels; c++) {
        const out = buffer.getChannelData(c);
        for (let i = 0; i < frames; i++) out[i] = view.getInt16(body + 2 * (i * channels + c), true) / 32768;
      }
      return buffer;
    }
    at = body + size + (size & 1); // chunks are padded to even sizes
  }
  return null;
}

export function create_audio_player(token: string | null) {
  let context: AudioContext | null = null;
  let mode: AudioMode = 'hover';
  const cache = new Map<string, Promise<AudioBuffer>>(); // insertion order = recency
  const cache_sizes = new Map<string, number>();          // bytes of the decoded ones
  let cache_bytes = 0;
  let decoded = 0, decoded_bytes = 0;                     // for the size guess of warm()
  let current: { source: AudioBufferSourceNode; gain: GainNode } | null = null;
  let play_generation = 0;     // a newer play() wins over an older one still loading
  const prefetch_queue: string[] = [];                   // near the pointer, nearest first
  let warm_queue: string[] = [];                          // the rest of a small view
  let prefetch_running = 0;
  let urgent = 0;              // segments asked to play, not cached, still loading
  const history: PlayRecord[] = [];

  function ctx(): AudioContext {
    if (!context) context = new AudioContext({ sampleRate: SEGMENT_RATE });
    return context;
  }

  // The first AudioContext of a browser session can take most of a second to construct (the
  // audio service starts: ~0.8 s in a fresh headless chromium). Built when the page is idle,
  // it is ready (suspended, as browsers start it before a gesture) by the first pointerdown,
  // which then only resumes it. Whichever comes first builds it: ctx() stays the one place.
  if (typeof AudioContext !== 'undefined') {
    if (typeof requestIdleCallback === 'function') requestIdleCallback(() => ctx(), { timeout: EARLY_CONTEXT_TIMEOUT_MS });
    else setTimeout(() => ctx(), EARLY_CONTEXT_TIMEOUT_MS);
  }

  function forget(key: string) {
    cache.delete(key);
    cache_bytes -= cache_sizes.get(key) ?? 0;
    cache_sizes.delete(key);
  }

  function load(key: string, priority: RequestPriority = 'auto'): Promise<AudioBuffer> {
    const hit = cache.get(key);
    if (hit) {
      cache.delete(key); // refresh recency
      cache.set(key, hit);
      return hit;
    }
    const promise = fetch(`/api/audio/${key}`, { headers: auth_headers(token), priority })
      .then(async (r) => {
        if (!r.ok) throw new Error(`audio ${key}: ${r.status}`);
        const bytes = await r.arrayBuffer();
        const buffer = wav16_buffer(bytes);
        return buffer && buffer.sampleRate === ctx().sampleRate ? buffer : ctx().decodeAudioData(bytes);
      });
    promise.then((buffer) => {
      const bytes = buffer.length * buffer.numberOfChannels * 4;
      decoded++;
      decoded_bytes += bytes;
      if (cache.get(key) !== promise) return; // evicted meanwhile
      cache_sizes.set(key, bytes);
      cache_bytes += bytes;
      while (cache_bytes > CACHE_BYTES && cache.size > 1) forget(cache.keys().next().value!);
    }, () => { if (cache.get(key) === promise) forget(key); }); // a failed fetch is retried next time
    cache.set(key, promise);
    return promise;
  }

  // A segment to play now: ahead of every prefetch (see the top).
  function load_now(key: string): Promise<AudioBuffer> {
    if (cache.has(key)) return load(key);
    urgent++;
    const promise = load(key, 'high');
    const done = () => { urgent--; pump_prefetch(); };
    promise.then(done, done);
    return promise;
  }

  function stop() {
    if (!current || !context) return;
    const { source, gain } = current;
    const t = context.currentTime;
    gain.gain.cancelScheduledValues(t);
    gain.gain.setValueAtTime(gain.gain.value, t);
    gain.gain.linearRampToValueAtTime(0, t + FADE_S);
    source.stop(t + FADE_S + 0.005);
    current = null;
  }

  function start(buffer: AudioBuffer, on_end?: () => void) {
    const c = ctx();
    stop();
    const gain = c.createGain();
    const source = c.createBufferSource();
    source.buffer = buffer;
    source.connect(gain).connect(c.destination);
    const t = c.currentTime;
    gain.gain.setValueAtTime(0, t);
    gain.gain.linearRampToValueAtTime(1, t + FADE_S);
    const end = t + buffer.duration;
    gain.gain.setValueAtTime(1, Math.max(t + FADE_S, end - FADE_S));
    gain.gain.linearRampToValueAtTime(0, end);
    source.start(t);
    source.onended = () => {
      if (current?.source !== source) return; // stopped for another sound
      current = null;
      on_end?.();
    };
    current = { source, gain };
  }

  // Near the pointer first, then the warm list with fewer requests in flight; none while a
  // segment asked to play is loading.
  function pump_prefetch() {
    while (urgent === 0) {
      const queue = prefetch_queue.length ? prefetch_queue : warm_queue;
      const parallel = queue === prefetch_queue ? PREFETCH_PARALLEL : WARM_PARALLEL;
      if (!queue.length || prefetch_running >= parallel) return;
      const key = queue.shift()!;
      if (cache.has(key)) continue;
      prefetch_running++;
      load(key, 'low').catch(() => {}).finally(() => { prefetch_running--; pump_prefetch(); });
    }
  }

  return {
    get mode() { return mode; },
    set_mode(m: AudioMode) {
      mode = m;
      if (m === 'off') stop();
    },
    // Browsers start an AudioContext suspended until a user gesture; call from one. The context
    // is usually built already (see above): this only resumes it.
    unlock() {
      const c = ctx();
      if (c.state === 'suspended') void c.resume();
    },
    state: (): AudioContextState | 'none' => context?.state ?? 'none',
    // force: play even in mode 'off' (the user asked for it: a list's play button).
    async play_segment(track: number, segment: number, on_end?: () => void, force = false): Promise<void> {
      if (mode === 'off' && !force) return;
      const generation = ++play_generation;
      const key = `${track}/${segment}`;
      const requested_ms = performance.now();
      const from_cache = cache.has(key);
      const buffer = await load_now(key);
      if (generation !== play_generation) return; // the pointer moved on
      if (ctx().state === 'suspended') await ctx().resume().catch(() => {});
      start(buffer, on_end);
      history.push({ track, segment, requested_ms, started_ms: performance.now(), from_cache });
      if (history.length > 1000) history.shift();
    },
    // Plays segments one after another (a neighbour list); another play or stop ends it.
    // Plays even when the hover mode is off: the user asked for this sequence.
    play_sequence(segments: Array<[number, number]>, on_step?: (k: number) => void) {
      const step = (k: number) => {
        if (k >= segments.length) return;
        on_step?.(k);
        const [t, s] = segments[k];
        for (const [pt, ps] of segments.slice(k + 1, k + 3)) void load(`${pt}/${ps}`).catch(() => {});
        void this.play_segment(t, s, () => step(k + 1), true).catch(() => step(k + 1));
      };
      step(0);
    },
    // Warms the cache (most important first); replaces the previous prefetch wish list.
    prefetch(segments: Array<[number, number]>) {
      prefetch_queue.length = 0;
      for (const [t, s] of segments) {
        const key = `${t}/${s}`;
        if (!cache.has(key)) prefetch_queue.push(key);
      }
      pump_prefetch();
    },
    // Warms the cache with every segment of a view (in this order) when their decoded audio
    // fits in WARM_BYTES; false (and nothing queued) when it does not. Replaces the last list.
    warm(segments: Array<[number, number]>): boolean {
      const guess = decoded ? decoded_bytes / decoded : SEGMENT_BYTES_GUESS;
      warm_queue = [];
      if (segments.length * guess > WARM_BYTES) return false;
      for (const [t, s] of segments) {
        const key = `${t}/${s}`;
        if (!cache.has(key)) warm_queue.push(key);
      }
      pump_prefetch();
      return true;
    },
    stop() {
      play_generation++;
      stop();
    },
    // Drops every decoded segment and every prefetch/warm wish (loads in flight finish unused):
    // hover-bench's stage that measures hovers not prefetched.
    forget() {
      cache.clear();
      cache_sizes.clear();
      cache_bytes = 0;
      prefetch_queue.length = 0;
      warm_queue = [];
    },
    history: (): readonly PlayRecord[] => history,
  };
}
