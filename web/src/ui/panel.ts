// ui/panel.ts — the side panel of the selected track: metadata, the whole track's audio,
// and its segment list (a click plays that segment).
import { with_token, type TrackDetail } from '../api';
import { format_time } from './tooltip';

export interface PanelActions {
  play_segment(track: number, segment: number): void;
  close(): void;
}

export function render_panel(root: HTMLElement, track: TrackDetail | null, token: string | null, actions: PanelActions) {
  root.replaceChildren();
  root.hidden = track === null;
  if (!track) return;
  const close = document.createElement('button');
  close.id = 'panel-close';
  close.type = 'button';
  close.textContent = '×';
  close.title = 'Close';
  close.addEventListener('click', actions.close);
  const h = document.createElement('h2');
  h.textContent = track.title || track.file;
  const meta = document.createElement('dl');
  const fields: Array<[string, string]> = [
    ['Artist', track.artist], ['Album', track.album], ['Genre', track.genre],
    ['Year', track.year ? String(track.year) : ''], ['Track', track.track_number ? String(track.track_number) : ''],
    ['Duration', format_time(track.duration_s)], ['Segments', String(track.segments)], ['File', track.file],
  ];
  for (const [k, v] of fields) {
    if (!v) continue;
    const dt = document.createElement('dt');
    dt.textContent = k;
    const dd = document.createElement('dd');
    dd.textContent = v;
    meta.append(dt, dd);
  }
  // The whole track through a media element: it streams and seeks (Range) by itself. Its
  // native controls appear once it plays (the play button, a taggram cell): painting them (SVG
  // icons) as the panel opened took 50-90 ms of a click's task at 100k points. Their slot keeps
  // its height so nothing below moves when they appear.
  const player = document.createElement('audio');
  player.id = 'track-audio';
  player.controls = false;
  player.preload = 'none';
  player.src = with_token(`/api/audio/${track.id}`, token);
  player.addEventListener('play', () => { player.controls = true; }, { once: true });
  const slot = document.createElement('div');
  slot.className = 'audio-slot';
  slot.append(player);
  const play = document.createElement('button');
  play.id = 'play-track';
  play.type = 'button';
  play.textContent = '▶ Play track';
  // A pause (another sound starting, the panel closing) before playback begins rejects the
  // play() promise: expected, not an error for the console.
  play.addEventListener('click', () => { player.play().catch(() => {}); });
  const list = document.createElement('ol');
  list.id = 'segments';
  track.segment_times.forEach(([start, end], k) => {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.dataset.segment = String(k);
    b.textContent = `${format_time(start)}–${format_time(end)}`;
    b.addEventListener('click', () => actions.play_segment(track.id, k));
    li.append(b);
    list.append(li);
  });
  const seg_title = document.createElement('h3');
  seg_title.textContent = 'Segments';
  root.append(close, h, meta, play, slot, seg_title, list);
}
