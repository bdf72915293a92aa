// curate.ts — the text the curation controls take, parsed (goals, tag thresholds), and the
// metadata filter over the track list. Pure functions: no DOM, no fetch.
import type { Goal, Track } from './api';
import type { Threshold } from './protocol';
import type { TrackFilter } from './state';

// Splits on commas when there are any (so names may hold spaces: "female vocalists > 0.2"),
// else on whitespace.
function items(text: string): string[] {
  const parts = text.includes(',') ? text.split(',') : text.split(/\s+/);
  return parts.map((p) => p.trim()).filter((p) => p.length > 0);
}

// "+happy +electronic -vocals", "happy:2 vocals:-1", "+happy:2" -> [[name, weight]].
// Unknown names are the caller's business (the server names them in its 400).
export function parse_goal(text: string): { goal: Goal; problem: string | null } {
  const goal: Goal = [];
  for (const item of items(text)) {
    const m = /^([+-]?)(.+?)(?::\s*([+-]?\d*\.?\d+))?$/.exec(item);
    if (!m || !m[2]) return { goal: [], problem: `cannot read "${item}" (write +tag, -tag or tag:weight)` };
    const sign = m[1] === '-' ? -1 : 1;
    const weight = m[3] !== undefined ? Number(m[3]) * (m[1] === '-' ? -1 : 1) : sign;
    if (!Number.isFinite(weight)) return { goal: [], problem: `bad weight in "${item}"` };
    goal.push([m[2].trim(), weight]);
  }
  return { goal, problem: null };
}

// "rock > 0.3, happy >= 0.6" -> thresholds; each name is looked up in the given spaces
// (first match wins: tags, then moods; "mood:happy" / "tag:happy" choose).
export function parse_thresholds(text: string, spaces: Array<{ name: string; dims: string[]; is_moods: boolean }>):
  { thresholds: Threshold[]; problem: string | null } {
  const thresholds: Threshold[] = [];
  const parts = text.split(/,|\band\b/).map((p) => p.trim()).filter(Boolean);
  for (const part of parts) {
    const m = /^(.+?)\s*(>=|<=|>|<)\s*([+-]?\d*\.?\d+)$/.exec(part);
    if (!m) return { thresholds: [], problem: `cannot read "${part}" (write e.g. rock > 0.3)` };
    // "mood:happy" / "tag:happy" pick the space when both name a dim alike (MSD has a "happy" tag).
    const prefixed = /^(tag|mood):\s*(.+)$/i.exec(m[1].trim());
    const dim = prefixed ? prefixed[2] : m[1].trim();
    const among = prefixed ? spaces.filter((s) => s.is_moods === (prefixed[1].toLowerCase() === 'mood')) : spaces;
    const space = among.find((s) => s.dims.includes(dim)) ?? among.find((s) => s.dims.some((d) => d.toLowerCase() === dim.toLowerCase()));
    if (!space) return { thresholds: [], problem: `no tag or mood named "${dim}"` };
    const name = space.dims.find((d) => d === dim) ?? space.dims.find((d) => d.toLowerCase() === dim.toLowerCase())!;
    thresholds.push({ space: space.name, dim: name, op: m[2] as Threshold['op'], value: Number(m[3]) });
  }
  return { thresholds, problem: null };
}

// "2009" or "2009-2011" -> [from, to]; null when empty or unreadable.
export function parse_years(text: string): [number, number] | null {
  const m = /^\s*(\d{1,4})\s*(?:-\s*(\d{1,4}))?\s*$/.exec(text);
  if (!m) return null;
  const a = Number(m[1]), b = m[2] !== undefined ? Number(m[2]) : a;
  return [Math.min(a, b), Math.max(a, b)];
}

export function metadata_filter_active(f: TrackFilter): boolean {
  return !!(f.text.trim() || f.artist || f.album || f.genre || f.year.trim());
}

// Track ids passing the metadata part of the filter (one pass over the track list).
export function tracks_passing(tracks: Iterable<Track>, f: TrackFilter): Int32Array {
  const text = f.text.trim().toLowerCase();
  const years = parse_years(f.year);
  const out: number[] = [];
  for (const t of tracks) {
    if (f.artist && t.artist !== f.artist) continue;
    if (f.album && t.album !== f.album) continue;
    if (f.genre && t.genre !== f.genre) continue;
    if (years && !(t.year >= years[0] && t.year <= years[1])) continue;
    if (text && !t.title.toLowerCase().includes(text) && !t.file.toLowerCase().includes(text)) continue;
    out.push(t.id);
  }
  return Int32Array.from(out);
}

// Selected points -> tracks with how many of their points are selected, most first.
export function count_by_track(indices: readonly number[], track_of: Int32Array): Array<{ track: number; count: number }> {
  const counts = new Map<number, number>();
  for (const i of indices) counts.set(track_of[i], (counts.get(track_of[i]) ?? 0) + 1);
  return [...counts].map(([track, count]) => ({ track, count })).sort((a, b) => b.count - a.count || a.track - b.track);
}

// A lasso/box selection as the URL keeps it: one run a track, [track, item, item, ...], tracks
// ascending. An item is a segment index (ascending), -1 for the track's average, or v <= -2:
// "and every segment after the previous item through -v - 2" (so a whole 60-segment track is
// [t, 0, -61], and 100k selected points stay a few KB in the URL).
export function selection_runs(indices: Iterable<number>, track_of: Int32Array, segment_of: Int32Array): number[][] {
  const by = new Map<number, number[]>();
  for (const i of indices) {
    const list = by.get(track_of[i]);
    if (list) list.push(segment_of[i]); else by.set(track_of[i], [segment_of[i]]);
  }
  return [...by].sort((a, b) => a[0] - b[0]).map(([t, segs]) => [t, ...compress_segments(segs.sort((a, b) => a - b))]);
}

function compress_segments(segs: number[]): number[] {
  const out: number[] = [];
  for (let k = 0; k < segs.length; k++) {
    let end = k;
    while (segs[k] >= 0 && end + 1 < segs.length && segs[end + 1] === segs[end] + 1) end++;
    out.push(segs[k]);
    if (end >= k + 2) { out.push(-segs[end] - 2); k = end; } // 3 or more in a row: a range
  }
  return out;
}

// Visits the segments of one run as ascending ranges [from, to] (a single item is [v, v], -1
// the track's average); a malformed range (not after a segment, backwards, or over a million
// segments) visits nothing.
function for_each_range(run: readonly number[], visit: (from: number, to: number) => void) {
  let last = -2; // the last segment visited
  for (let k = 1; k < run.length; k++) {
    const v = run[k];
    if (v >= -1) { visit(v, v); last = v; continue; }
    const to = -v - 2;
    if (last >= 0 && to > last && to - last - 1 < 1_000_000) { visit(last + 1, to); last = to; }
  }
}

// The segments of one run, ascending (expanded ranges; a malformed range adds nothing).
export function run_segments(run: readonly number[]): number[] {
  const out: number[] = [];
  for_each_range(run, (from, to) => { for (let s = from; s <= to; s++) out.push(s); });
  return out;
}

// The (track, segment) pairs of a selection.
export function selection_keys(runs: readonly number[][]): Array<[number, number]> {
  return runs.flatMap((run) => run_segments(run).map((s) => [run[0], s] as [number, number]));
}

// The selection panel's rows: tracks with how many of their points are selected, most first.
export function selection_rows(runs: readonly number[][]): Array<{ track: number; count: number }> {
  return runs.map((run) => ({ track: run[0], count: run_count(run) })).sort((a, b) => b.count - a.count || a.track - b.track);
}

// How many segments a run holds, without expanding it (as run_segments(run).length).
function run_count(run: readonly number[]): number {
  let count = 0;
  for_each_range(run, (from, to) => { count += to - from + 1; });
  return count;
}
