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
  const parent = root.parentElement!.getBoundingClientRect();
  const left = Math.min(x + 14, parent.width - root.offsetWidth - 4);
  const top = y + 14 + root.offsetHeight > parent.height ? y - root.offsetHeight - 10 : y + 14;
  root.style.transform = `translate(${Math.max(0, left)}px, ${Math.max(0, top)}px)`;
}

export function hide_tooltip(root: HTMLElement) {
  root.hidden = true;
}
