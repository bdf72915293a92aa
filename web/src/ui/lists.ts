// ui/lists.ts — the curation side panel's lists: the lasso/box selection (tracks with how
// many of their points are selected, play in sequence, export), the neighbours of a clicked
// point (with distances, playable in a row), and a goal-guided walk (path, export).
import type { Neighbour, Track, Walk } from '../api';
import { el } from './controls';

export interface Exporter {
  m3u8(paths: 'absolute' | 'relative'): void;
  csv(): void;
}

function title_of(tracks: Map<number, Track>, id: number): string {
  const t = tracks.get(id);
  return t ? `${t.title || t.file}${t.artist ? ` — ${t.artist}` : ''}` : `track ${id}`;
}

function export_buttons(prefix: string, exporter: Exporter) {
  const abs = el('button', { id: `${prefix}-m3u8-absolute`, type: 'button', textContent: 'M3U8 (absolute)' });
  const rel = el('button', { id: `${prefix}-m3u8-relative`, type: 'button', textContent: 'M3U8 (relative)' });
  const csv = el('button', { id: `${prefix}-csv`, type: 'button', textContent: 'CSV' });
  abs.addEventListener('click', () => exporter.m3u8('absolute'));
  rel.addEventListener('click', () => exporter.m3u8('relative'));
  csv.addEventListener('click', () => exporter.csv());
  return el('div', { className: 'buttons' }, el('span', { className: 'label' }, 'Export'), abs, rel, csv);
}

// Selection rows listed at first, and per "Show more": a page more than fills the side column;
// 200 rows (~1,450 layout objects) cost the opening column 76 ms of style + 110 ms of layout
// (trace at load 10) after a 100k-point lasso.
const SELECTION_PAGE = 50;
const shown_rows = new WeakMap<HTMLElement, { key: string; shown: number }>(); // per list root

export interface SelectionView {
  rows: Array<{ track: number; count: number }>;
  points: number;                 // selected points
  playing: number | null;         // track playing in the sequence
}

export function render_selection(root: HTMLElement, view: SelectionView | null, tracks: Map<number, Track>,
  actions: Exporter & { play(): void; stop(): void; clear(): void; play_track(id: number): void }) {
  root.replaceChildren();
  root.hidden = !view;
  if (!view) return;
  const play = el('button', { id: 'selection-play', type: 'button', textContent: '▶ Play in sequence' });
  play.addEventListener('click', actions.play);
  const stop = el('button', { id: 'selection-stop', type: 'button', textContent: '■ Stop' });
  stop.addEventListener('click', actions.stop);
  const clear = el('button', { id: 'selection-clear', type: 'button', textContent: 'Clear' });
  clear.addEventListener('click', actions.clear);
  const list = el('ol', { id: 'selection-tracks' });
  // A lasso over 100k points selects thousands of tracks; listing them all made the side
  // column's style + layout take 200-600 ms. Rows come a page at a time ("Show more"), and a
  // re-render of the same selection (a play step) keeps the pages already shown.
  const key = `${view.rows.length}:${view.rows[0]?.track}:${view.rows[view.rows.length - 1]?.track}`;
  const earlier = shown_rows.get(root);
  let shown = earlier && earlier.key === key ? earlier.shown : SELECTION_PAGE;
  const more = el('button', { id: 'selection-more', type: 'button' });
  const add_rows = (from: number, to: number) => {
    for (const r of view.rows.slice(from, to)) {
      const b = el('button', { type: 'button', className: 'link', textContent: title_of(tracks, r.track) });
      b.addEventListener('click', () => actions.play_track(r.track));
      const li = el('li', { 'data-track': r.track }, b, el('span', { className: 'count' }, ` ${r.count} seg.`));
      if (view.playing === r.track) li.classList.add('playing');
      list.append(li);
    }
    const left = view.rows.length - to;
    more.hidden = left <= 0;
    more.textContent = `Show ${Math.min(left, SELECTION_PAGE)} more (${left} not listed)`;
  };
  const playing_at = view.playing === null ? -1 : view.rows.findIndex((r) => r.track === view.playing);
  if (playing_at >= shown) shown = Math.ceil((playing_at + 1) / SELECTION_PAGE) * SELECTION_PAGE; // the playing row shows
  add_rows(0, shown);
  shown_rows.set(root, { key, shown });
  more.addEventListener('click', () => {
    add_rows(shown, shown + SELECTION_PAGE);
    shown += SELECTION_PAGE;
    shown_rows.set(root, { key, shown });
  });
  root.append(el('h3', {}, `Selection: ${view.rows.length} track${view.rows.length === 1 ? '' : 's'}, ${view.points} points`),
    el('div', { className: 'buttons' }, play, stop, clear), export_buttons('selection', actions), list, more);
}

export interface NeighboursView {
  of: { track: number; segment: number };
  metric: string;
  neighbours: Neighbour[] | null; // null while loading
  problem: string | null;
  playing: number;                // index in neighbours playing, -1 none
}

const where = (segment: number) => (segment < 0 ? 'average' : `seg. ${segment + 1}`);

export function render_neighbours(root: HTMLElement, view: NeighboursView | null, tracks: Map<number, Track>,
  actions: { play_all(): void; play(k: number): void; close(): void }) {
  root.replaceChildren();
  root.hidden = !view;
  if (!view) return;
  const close = el('button', { id: 'neighbours-close', type: 'button', className: 'close', textContent: '×', title: 'Close' });
  close.addEventListener('click', actions.close);
  const head = el('h3', {}, `Neighbours of ${title_of(tracks, view.of.track)} (${where(view.of.segment)}), ${view.metric}`);
  root.append(close, head);
  if (view.problem) { root.append(el('div', { className: 'problem' }, view.problem)); return; }
  if (!view.neighbours) { root.append(el('div', { className: 'note' }, 'Loading…')); return; }
  const play = el('button', { id: 'neighbours-play', type: 'button', textContent: '▶ Play one after another' });
  play.addEventListener('click', actions.play_all);
  const list = el('ol', { id: 'neighbours-list' });
  view.neighbours.forEach((n, k) => {
    const b = el('button', { type: 'button', className: 'link', textContent: `${title_of(tracks, n.track)} · ${where(n.segment)}` });
    b.addEventListener('click', () => actions.play(k));
    const li = el('li', { 'data-track': n.track, 'data-segment': n.segment, 'data-distance': n.distance },
      b, el('span', { className: 'count' }, ` ${n.distance.toFixed(4)}`));
    if (view.playing === k) li.classList.add('playing');
    list.append(li);
  });
  root.append(play, list);
}

export interface WalkView {
  goal: string;
  walk: Walk | null;              // null while loading
  problem: string | null;
}

export function render_walk(root: HTMLElement, view: WalkView | null, tracks: Map<number, Track>,
  actions: Exporter & { play(): void; close(): void }) {
  root.replaceChildren();
  root.hidden = !view;
  if (!view) return;
  const close = el('button', { id: 'walk-close', type: 'button', className: 'close', textContent: '×', title: 'Close' });
  close.addEventListener('click', actions.close);
  root.append(close, el('h3', {}, `Walk towards ${view.goal}`));
  if (view.problem) { root.append(el('div', { className: 'problem' }, view.problem)); return; }
  if (!view.walk) { root.append(el('div', { className: 'note' }, 'Walking…')); return; }
  const play = el('button', { id: 'walk-play', type: 'button', textContent: '▶ Play in sequence' });
  play.addEventListener('click', actions.play);
  const list = el('ol', { id: 'walk-path' });
  const steps = [{ track: view.walk.start.track, score: view.walk.start.score, distance: 0 }, ...view.walk.path];
  steps.forEach((s, k) => list.append(el('li', { 'data-track': s.track },
    title_of(tracks, s.track), el('span', { className: 'count' }, ` score ${s.score.toFixed(3)}${k ? ` · step ${s.distance.toFixed(3)}` : ''}`))));
  root.append(el('div', { className: 'buttons' }, play), export_buttons('walk', actions), list);
}
