// ui/tooltip.ts — the hover card: title, artist, segment time, the segment's top tags.
import type { Track } from '../api';

export interface TooltipContent {
  track: Track | undefined;
  track_id: number;
  segment: number;                          // -1 for a track average
  time: [number, number] | null;            // segment start/end, seconds
  top_tags: Array<[string, number]> | null; // null while loading / not available
}

export function format_time(s: number): string {
  const m = Math.floor(s / 60);
  return `${m}:${String(Math.floor(s - m * 60)).padStart(2, '0')}`;
}

export function show_tooltip(root: HTMLElement, x: number, y: number, c: TooltipContent) {
  const title = document.createElement('div');
  title.className = 'title';
  title.textContent = c.track?.title || c.track?.file || `track ${c.track_id}`;
  const artist = document.createElement('div');
  artist.textContent = c.track?.artist || 'unknown artist';
  const where = document.createElement('div');
  where.className = 'time';
  where.textContent = c.segment < 0 ? 'track average'
    : `segment ${c.segment + 1}` + (c.time ? ` · ${format_time(c.time[0])}–${format_time(c.time[1])}` : '');
  const tags = document.createElement('div');
  tags.className = 'tags';
  tags.textContent = c.top_tags ? c.top_tags.map(([t, v]) => `${t} ${v.toFixed(2)}`).join(' · ') : '';
  root.replaceChildren(title, artist, where, tags);
  root.hidden = false;
  const p = placement_of(root);
  p.x = x;
  p.y = y;
  place(root, p);
}

// Where the card goes: beside the pointer, flipped to stay inside its parent. The sizes come
// from ResizeObservers (after the browser's own layout), not from measuring here: reading
// getBoundingClientRect / offsetWidth right after changing the card forced a layout of the
// page on every hover, 100 ms during a lasso drag with a long selection list open.
interface Placement { x: number; y: number; width: number; height: number; parent_width: number; parent_height: number }
const placements = new WeakMap<HTMLElement, Placement>();

function placement_of(root: HTMLElement): Placement {
  const known = placements.get(root);
  if (known) return known;
  const p: Placement = { x: 0, y: 0, width: 0, height: 0, parent_width: Infinity, parent_height: Infinity };
  placements.set(root, p);
  const parent = root.parentElement!;
  const observer = new ResizeObserver((entries) => {
    for (const e of entries) {
      const box = e.borderBoxSize?.[0];
      const [w, h] = box ? [box.inlineSize, box.blockSize] : [e.contentRect.width, e.contentRect.height];
      if (e.target === parent) { p.parent_width = w; p.parent_height = h; }
      else if (w > 0 && h > 0) { p.width = w; p.height = h; } // hidden (0 x 0): keep the last size
    }
    if (!root.hidden) place(root, p); // the card changed size (new text) or the pane resized
  });
  observer.observe(root);
  observer.observe(parent);
  return p;
}

function place(root: HTMLElement, p: Placement) {
  const left = Math.min(p.x + 14, p.parent_width - p.width - 4);
  const top = p.y + 14 + p.height > p.parent_height ? p.y - p.height - 10 : p.y + 14;
  root.style.transform = `translate(${Math.max(0, left)}px, ${Math.max(0, top)}px)`;
}

export function hide_tooltip(root: HTMLElement) {
  root.hidden = true;
}
