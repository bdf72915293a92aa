// listening/hash.ts — the listening page's state in its URL hash, readable by eye:
// `#v=1&spaces=msd-musicnn-1/taggrams,mtt-musicnn-1/embeddings&seed=12&listener=ann`.
// Reloading or sharing the URL gives the same spaces, the same trial and the same listener.

export const HASH_VERSION = 1;

export interface ListeningState {
  spaces: string[] | null;      // the compared spaces; null = the server's default
  seed: number;                 // integer, draws the reference (next trial = seed + 1)
  listener: string;             // who is answering (stored with each answer), may be empty
}

const MAX_SEED = 2 ** 31 - 1;

// `/` and `,` stay readable: space names hold `/`, the list is comma-separated.
function encode(text: string): string {
  return encodeURIComponent(text).replace(/%2F/gi, '/').replace(/%2C/gi, ',');
}

export function format_hash(s: ListeningState): string {
  const parts = [`v=${HASH_VERSION}`];
  if (s.spaces) parts.push(`spaces=${s.spaces.map(encode).join(',')}`);
  parts.push(`seed=${s.seed}`);
  if (s.listener) parts.push(`listener=${encode(s.listener)}`);
  return '#' + parts.join('&');
}

// Whatever the hash holds, a valid state: fields that are missing or malformed take `fallback`'s.
export function parse_hash(hash: string, fallback: ListeningState): ListeningState {
  const p = new URLSearchParams(hash.replace(/^#/, ''));
  const out: ListeningState = { ...fallback };
  const spaces = p.get('spaces');
  if (spaces !== null) {
    const names = spaces.split(',').map((n) => n.trim()).filter((n) => n.length > 0);
    out.spaces = names.length ? [...new Set(names)] : fallback.spaces;
  }
  const seed = p.get('seed');
  if (seed !== null && /^\d{1,10}$/.test(seed) && Number(seed) <= MAX_SEED) out.seed = Number(seed);
  const listener = p.get('listener');
  if (listener !== null) out.listener = listener.slice(0, 100);
  return out;
}

// A fresh seed for a listener who arrives without one (so listeners do not all hear the same
// sequence of references).
export function random_seed(): number {
  return Math.floor(Math.random() * 1_000_000);
}

export function next_seed(seed: number): number {
  return seed >= MAX_SEED ? 0 : seed + 1;
}
