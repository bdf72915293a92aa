// bench/bare.ts — the floor for bench/web-bench.mjs: a bare regl-scatterplot page drawing the
// same points as the app (same /api/points request, same dot size, opacity and colours), with
// no UI, no worker and no app logic. `?q=<points query string>`.
import createScatterplot from 'regl-scatterplot';
import { create_frame_reader, type Frame } from '../src/api';
import { BACKGROUND, TRACK_PALETTE } from '../src/colour';

declare global { interface Window { __bare: { data_ms: number; painted_ms: number; n: number } } }
window.__bare = { data_ms: 0, painted_ms: 0, n: 0 };

const canvas = document.getElementById('canvas') as HTMLCanvasElement;
const plot = createScatterplot({ canvas, width: 'auto', height: 'auto', backgroundColor: BACKGROUND } as never);
const q = new URLSearchParams(location.search).get('q')!;
const response = await fetch(`/api/points?${q}`);
let final: Frame | null = null;
const reader = create_frame_reader((f) => { if (f.header.kind === 'final') final = f; });
const body = response.body!.getReader();
for (;;) {
  const { value, done } = await body.read();
  if (done) break;
  reader.push(value);
}
window.__bare.data_ms = performance.now();
const f = final as unknown as Frame;
const xy = f.arrays.xy as Float32Array, track = f.arrays.track as Int32Array;
const n = track.length;
let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
for (let i = 0; i < n; i++) {
  x0 = Math.min(x0, xy[2 * i]); x1 = Math.max(x1, xy[2 * i]);
  y0 = Math.min(y0, xy[2 * i + 1]); y1 = Math.max(y1, xy[2 * i + 1]);
}
const s = Math.max(x1 - x0, y1 - y0) / 2 || 1, cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
const x = new Float32Array(n), y = new Float32Array(n), c = new Float32Array(n);
for (let i = 0; i < n; i++) {
  x[i] = ((xy[2 * i] - cx) / s) * 0.95;
  y[i] = ((xy[2 * i + 1] - cy) / s) * 0.95;
  c[i] = track[i] % TRACK_PALETTE.length;
}
plot.set({ pointColor: TRACK_PALETTE as string[], colorBy: 'valueA', opacity: 0.9,
  pointSize: n < 1_000 ? 7 : n < 10_000 ? 5 : n < 200_000 ? 3 : 2 } as never);
await plot.draw({ x, y, valueA: c } as never, { zDataType: 'categorical' } as never);
window.__bare.painted_ms = performance.now();
window.__bare.n = n;
