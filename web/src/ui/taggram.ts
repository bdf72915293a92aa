// ui/taggram.ts — the selected track's activations over time: a heatmap (rows = the dims
// with the highest track mean, top first; columns = segments), a playhead while the track
// plays, the hovered segment outlined. A click on a cell asks to play from that segment.
import { VALUE_PALETTE } from '../colour';

export interface TaggramData {
  track: number;
  names: string[];                 // dim names (all of the space)
  values: number[][];              // [segment][dim]
  times: [number, number][];       // [segment] start, end in seconds
}

const ROWS = 16;                   // dims shown
const ROW_PX = 12;
const LABEL_PX = 92;               // left column for the dim names
const AXIS_PX = 4;

export function create_taggram(canvas: HTMLCanvasElement, on_seek: (segment: number) => void, on_hover: (segment: number | null) => void) {
  let data: TaggramData | null = null;
  let rows: number[] = [];         // dim indices shown, top first
  let lo = 0, hi = 1;
  let playhead: number | null = null; // seconds
  let hovered: number | null = null;

  // The canvas's CSS width as a ResizeObserver last reported it: reading clientWidth in draw()
  // forced a layout of the side column as a click opened it (32 profile samples of a 78 ms
  // task at 100k points), and again on every hover that outlines a segment.
  let css_width = 0;
  new ResizeObserver(([entry]) => {
    const w = entry.contentRect.width;
    if (w > 0 && w !== css_width) { css_width = w; draw(); }
  }).observe(canvas);
  const width = () => css_width || 256;
  const cell_w = () => (data ? (width() - LABEL_PX) / Math.max(1, data.values.length) : 1);

  function segment_at(x: number): number | null {
    if (!data || x < LABEL_PX) return null;
    const s = Math.floor((x - LABEL_PX) / cell_w());
    return s >= 0 && s < data.values.length ? s : null;
  }

  // x of a time: inside the segment that holds it (segments are contiguous in time).
  function x_of_time(t: number): number {
    const times = data!.times;
    let s = times.findIndex(([a, b]) => t >= a && t < b);
    if (s < 0) s = t < (times[0]?.[0] ?? 0) ? 0 : times.length - 1;
    const [a, b] = times[s];
    const f = b > a ? Math.min(1, Math.max(0, (t - a) / (b - a))) : 0;
    return LABEL_PX + (s + f) * cell_w();
  }

  function draw() {
    const ctx = canvas.getContext('2d')!;
    const dpr = window.devicePixelRatio || 1;
    const w = width(), h = rows.length * ROW_PX + AXIS_PX;
    if (canvas.style.height !== `${h}px`) canvas.style.height = `${h}px`;
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    if (!data) return;
    const cw = cell_w();
    const span = hi > lo ? hi - lo : 1;
    ctx.font = '10px system-ui, sans-serif';
    ctx.textBaseline = 'middle';
    rows.forEach((d, r) => {
      ctx.fillStyle = '#8b95a3';
      ctx.fillText(data!.names[d] ?? String(d), 2, r * ROW_PX + ROW_PX / 2, LABEL_PX - 6);
      for (let s = 0; s < data!.values.length; s++) {
        const v = (data!.values[s][d] - lo) / span;
        ctx.fillStyle = VALUE_PALETTE[Math.min(VALUE_PALETTE.length - 1, Math.max(0, Math.floor(v * VALUE_PALETTE.length)))];
        ctx.fillRect(LABEL_PX + s * cw, r * ROW_PX, Math.ceil(cw), ROW_PX - 1);
      }
    });
    if (hovered !== null) {
      ctx.strokeStyle = '#ffffff';
      ctx.lineWidth = 1.5;
      ctx.strokeRect(LABEL_PX + hovered * cw + 0.75, 0.75, Math.max(1, cw - 1.5), rows.length * ROW_PX - 1.5);
    }
    if (playhead !== null) {
      const x = x_of_time(playhead);
      ctx.fillStyle = '#ff5050';
      ctx.fillRect(x - 1, 0, 2, h);
    }
  }

  canvas.addEventListener('click', (e) => {
    const s = segment_at(e.offsetX);
    if (s !== null) on_seek(s);
  });
  canvas.addEventListener('mousemove', (e) => {
    const s = segment_at(e.offsetX);
    if (s !== hovered) { hovered = s; draw(); on_hover(s); }
  });
  canvas.addEventListener('mouseleave', () => { if (hovered !== null) { hovered = null; draw(); on_hover(null); } });

  return {
    show(d: TaggramData | null) {
      data = d;
      rows = [];
      if (d && d.values.length) {
        const dims = d.values[0].length;
        const mean = Array.from({ length: dims }, (_, k) => d.values.reduce((sum, row) => sum + row[k], 0) / d.values.length);
        rows = mean.map((m, k) => [m, k]).sort((a, b) => b[0] - a[0]).slice(0, ROWS).map(([, k]) => k);
        lo = Infinity; hi = -Infinity;
        for (const row of d.values) for (const k of rows) { lo = Math.min(lo, row[k]); hi = Math.max(hi, row[k]); }
      }
      draw();
    },
    set_playhead(t: number | null) {
      if (t === playhead) return;
      playhead = t;
      draw();
    },
    set_hovered(s: number | null) {
      if (s === hovered) return;
      hovered = s;
      draw();
    },
    // Test hooks: which dims are shown, where a segment's cell is (CSS px in the canvas).
    rows: () => rows.map((k) => data!.names[k] ?? String(k)),
    cell: (segment: number, row = 0): [number, number] => [LABEL_PX + (segment + 0.5) * cell_w(), row * ROW_PX + ROW_PX / 2],
    hovered: () => hovered,
    playhead_x: () => (playhead === null || !data ? null : x_of_time(playhead)),
    redraw: draw,
  };
}
