// audio.ts — segment playback through Web Audio: fetch /api/audio/{track}/{segment} (16-bit
// WAV, API.md) -> decodeAudioData -> play with short fades so starts and stops do not click.
// Decoded buffers sit in an LRU cache; prefetch() warms it for the points near the pointer, so
// a hover usually plays from memory.
import { auth_headers } from './api';
import type { AudioMode } from './state';

const FADE_S = 0.015;          // 15 ms fade in/out (10-20 ms: no click, no audible ramp)
const CACHE_ENTRIES = 96;      // decoded segments kept (~0.5 MB each at 48 kHz mono)
const PREFETCH_PARALLEL = 4;   // requests in flight for prefetching (the server has 8 handlers)
const EARLY_CONTEXT_TIMEOUT_MS = 2000; // build the AudioContext by then even if never idle

export interface PlayRecord {
  track: number;
  segment: number;
  requested_ms: number;        // performance.now() when play was asked
  started_ms: number;          // performance.now() when the source started
  from_cache: boolean;
}

export type AudioPlayer = ReturnType<typeof create_audio_player>;

export function create_audio_player(token: string | null) {
  let context: AudioContext | null = null;
  let mode: AudioMode = 'hover';
  const cache = new Map<string, Promise<AudioBuffer>>(); // insertion order = recency
  let current: { source: AudioBufferSourceNode; gain: GainNode } | null = null;
  let play_generation = 0;     // a newer play() wins over an older one still loading
  const prefetch_queue: string[] = [];
  let prefetch_running = 0;
  const history: PlayRecord[] = [];

  function ctx(): AudioContext {
    if (!context) context = new AudioContext();
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

  function load(key: string): Promise<AudioBuffer> {
    const hit = cache.get(key);
    if (hit) {
      cache.delete(key); // refresh recency
      cache.set(key, hit);
      return hit;
    }
    const promise = fetch(`/api/audio/${key}`, { headers: auth_headers(token) })
      .then(async (r) => {
        if (!r.ok) throw new Error(`audio ${key}: ${r.status}`);
        return ctx().decodeAudioData(await r.arrayBuffer());
      });
    promise.catch(() => cache.delete(key)); // a failed fetch is retried next time
    cache.set(key, promise);
    while (cache.size > CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
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

  function pump_prefetch() {
    while (prefetch_running < PREFETCH_PARALLEL && prefetch_queue.length) {
      const key = prefetch_queue.shift()!;
      if (cache.has(key)) continue;
      prefetch_running++;
      load(key).catch(() => {}).finally(() => { prefetch_running--; pump_prefetch(); });
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
      const buffer = await load(key);
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
    stop() {
      play_generation++;
      stop();
    },
    history: (): readonly PlayRecord[] => history,
  };
}
