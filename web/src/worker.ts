// worker.ts — the heavy work, off the main thread: streams /api/points and cuts its frames,
// normalises coordinates, builds the spatial index, groups points by track (hover highlight,
// trajectories) and maps colour values to palette indices. Results go back as transferables.
// ref: embedding-atlas worker/index.ts, regl-scatterplot's kdbush worker.
import KDBush from 'kdbush';
import { ApiError, auth_headers, create_frame_reader, stream_points, type Frame } from './api';
import { TRACK_PALETTE, TRAJECTORY_STOPS, VALUE_BINS } from './colour';
import { selection_runs } from './curate';
import type { ColourRequest, FilterRequest, FromWorker, PointsMessage, Threshold, ToWorker, Trajectories } from './protocol';

const LINE_MIN_STEP = 2e-3;  // shorter steps are merged: sub-pixel at zoom 1, and fewer vertices
const ARROW_LENGTH = 0.025;  // arrowhead at each line's end, normalised units
const ARROW_ANGLE = 0.45;    // radians either side of the line
const NDC_EXTENT = 0.95; // points fill [-0.95, 0.95]: a margin so edge dots are not cut

interface Dataset {     // the last final frame, kept for colouring and lasso tests
  id: number;
  xy: Float32Array;     // normalised, as the plot shows them
  index: KDBush;        // over xy
  track: Int32Array;
  segment: Int32Array;
  group: Int32Array;
  groups: number;
}

let dataset: Dataset | null = null;
let points_abort: AbortController | null = null;
let colour_abort: AbortController | null = null;
let filter_abort: AbortController | null = null;
// Track means of one dim (the `original` projection of averages): "space|dim|tracks|seed" -> id -> mean.
const means_cache = new Map<string, Promise<Map<number, number>>>();

function post(message: FromWorker, transfer: Transferable[] = []) {
  (self as unknown as Worker).postMessage(message, transfer);
}

// Maps data xy to [-NDC_EXTENT, NDC_EXTENT]; with equal_aspect both axes share one scale
// (distances in PCA/t-SNE/UMAP layouts mean the same along x and y).
function normalise(xy: Float32Array, equal_aspect: boolean) {
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (let i = 0; i < xy.length; i += 2) {
    const x = xy[i], y = xy[i + 1];
    if (x < x0) x0 = x; if (x > x1) x1 = x;
    if (y < y0) y0 = y; if (y > y1) y1 = y;
  }
  if (!(x1 >= x0)) { x0 = -1; x1 = 1; }
  if (!(y1 >= y0)) { y0 = -1; y1 = 1; }
  let sx = (x1 - x0) / 2 || 1, sy = (y1 - y0) / 2 || 1;
  const cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
  if (equal_aspect) sx = sy = Math.max(sx, sy);
  const out = new Float32Array(xy.length);
  for (let i = 0; i < xy.length; i += 2) {
    out[i] = ((xy[i] - cx) / sx) * NDC_EXTENT;
    out[i + 1] = ((xy[i + 1] - cy) / sy) * NDC_EXTENT;
  }
  const bounds: [number, number, number, number] = [cx - sx / NDC_EXTENT, cx + sx / NDC_EXTENT, cy - sy / NDC_EXTENT, cy + sy / NDC_EXTENT];
  return { out, bounds };
}

function spatial_index(xy: Float32Array): ArrayBuffer {
  const n = xy.length / 2;
  const index = new KDBush(n, 16); // nodeSize as regl-scatterplot's own index
  for (let i = 0; i < n; i++) index.add(xy[2 * i], xy[2 * i + 1]);
  index.finish();
  return index.data as ArrayBuffer;
}

// Groups points by track: ordinal per point, distinct ids, and point indices sorted by
// (track, segment) — a counting sort, O(n).
function group_by_track(track: Int32Array, segment: Int32Array) {
  const n = track.length;
  const ids = Array.from(new Set(track)).sort((a, b) => a - b);
  const ordinal = new Map<number, number>();
  ids.forEach((id, k) => ordinal.set(id, k));
  const group = new Int32Array(n);
  const offsets = new Int32Array(ids.length + 1);
  for (let i = 0; i < n; i++) {
    const g = ordinal.get(track[i])!;
    group[i] = g;
    offsets[g + 1]++;
  }
  for (let g = 0; g < ids.length; g++) offsets[g + 1] += offsets[g];
  const fill = offsets.slice(0, ids.length);
  const by_group = new Int32Array(n);
  for (let i = 0; i < n; i++) by_group[fill[group[i]]++] = i;
  for (let g = 0; g < ids.length; g++) {  // segments in time order within each run
    const run = by_group.subarray(offsets[g], offsets[g + 1]);
    let sorted = true;
    for (let k = 1; k < run.length; k++) if (segment[run[k]] < segment[run[k - 1]]) { sorted = false; break; }
    if (!sorted) run.sort((a, b) => segment[a] - segment[b]);
  }
  return { group, groups: ids.length, group_tracks: Int32Array.from(ids), group_offsets: offsets, by_group };
}

// Line segments for the trajectories view: per track its segments in time order, cut into up
// to TRAJECTORY_STOPS pieces coloured dark -> bright, and an arrowhead at the last segment.
// Steps below LINE_MIN_STEP (sub-pixel at zoom 1) are merged into one vertex. Built here as
// the vertex pairs scatter.ts hands to one gl.LINES draw: the main thread does no per-vertex work.
function build_trajectories(xy: Float32Array, by_group: Int32Array, offsets: Int32Array): Trajectories {
  const groups = offsets.length - 1;
  // At most: per track (points - 1) steps + 2 arrowhead strokes, 2 vertices x 3 floats each.
  const out = new Float32Array(6 * (by_group.length + groups));
  let o = 0;
  const push = (x0: number, y0: number, x1: number, y1: number, stop: number) => {
    out[o++] = x0; out[o++] = y0; out[o++] = stop;
    out[o++] = x1; out[o++] = y1; out[o++] = stop;
  };
  const track_xy: number[] = [];
  for (let g = 0; g < groups; g++) {
    track_xy.length = 0;
    for (let k = offsets[g]; k < offsets[g + 1]; k++) {
      const i = by_group[k];
      const x = xy[2 * i], y = xy[2 * i + 1];
      const m = track_xy.length;
      if (m && Math.abs(track_xy[m - 2] - x) + Math.abs(track_xy[m - 1] - y) < LINE_MIN_STEP) continue;
      track_xy.push(x, y);
    }
    const steps = track_xy.length / 2 - 1;
    if (steps < 1) continue; // one place: nothing to draw
    const pieces = Math.min(TRAJECTORY_STOPS, steps);
    for (let c = 0; c < pieces; c++) {
      const from = Math.floor((c * steps) / pieces), to = Math.floor(((c + 1) * steps) / pieces);
      const stop = pieces === 1 ? TRAJECTORY_STOPS - 1 : Math.round((c * (TRAJECTORY_STOPS - 1)) / (pieces - 1));
      for (let v = from; v < to; v++) push(track_xy[2 * v], track_xy[2 * v + 1], track_xy[2 * v + 2], track_xy[2 * v + 3], stop);
    }
    const n = track_xy.length;
    const ex = track_xy[n - 2], ey = track_xy[n - 1];
    const angle = Math.atan2(ey - track_xy[n - 3], ex - track_xy[n - 4]);
    const last = TRAJECTORY_STOPS - 1;
    push(ex - ARROW_LENGTH * Math.cos(angle - ARROW_ANGLE), ey - ARROW_LENGTH * Math.sin(angle - ARROW_ANGLE), ex, ey, last);
    push(ex - ARROW_LENGTH * Math.cos(angle + ARROW_ANGLE), ey - ARROW_LENGTH * Math.sin(angle + ARROW_ANGLE), ex, ey, last);
  }
  return { segments: out.slice(0, o) };
}

function on_points_frame(id: number, frame: Frame, equal_aspect: boolean) {
  const xy = frame.arrays.xy as Float32Array;
  const { out, bounds } = normalise(xy, equal_aspect);
  const index = spatial_index(out);
  const message: PointsMessage = {
    type: 'points', id, header: frame.header, xy: out, track: null, segment: null, size: null,
    group: null, group_tracks: null, group_offsets: null, by_group: null, lines: null, spatial_index: index, bounds,
  };
  const transfer: Transferable[] = [out.buffer, index];
  if (frame.header.kind === 'final') {
    const track = frame.arrays.track as Int32Array;
    const segment = frame.arrays.segment as Int32Array;
    const grouped = group_by_track(track, segment);
    // (copies: `out` and `index` move to the main thread)
    dataset = { id, xy: out.slice(), index: KDBush.from(index.slice(0)), track, segment, group: grouped.group, groups: grouped.groups };
    message.track = track.slice();
    message.segment = segment.slice();
    message.group = grouped.group.slice();
    message.group_tracks = grouped.group_tracks;
    message.group_offsets = grouped.group_offsets;
    message.by_group = grouped.by_group;
    const size = frame.arrays.size as Float32Array | undefined;
    if (!size) {
      message.lines = build_trajectories(out, grouped.by_group, grouped.group_offsets);
      transfer.push(message.lines.segments.buffer);
    }
    if (size) {
      let max = 0;
      for (let i = 0; i < size.length; i++) if (size[i] > max) max = size[i];
      message.size = new Float32Array(size.length);
      for (let i = 0; i < size.length; i++) message.size[i] = max > 0 ? size[i] / max : 0;
      transfer.push(message.size.buffer);
    }
    transfer.push(message.track.buffer, message.segment.buffer, message.group.buffer,
      grouped.group_tracks.buffer, grouped.group_offsets.buffer, grouped.by_group.buffer);
  }
  post(message, transfer);
}

async function load_points(msg: Extract<ToWorker, { type: 'points' }>) {
  points_abort?.abort();
  colour_abort?.abort();
  const abort = new AbortController();
  points_abort = abort;
  try {
    await stream_points(msg.query, msg.token, abort.signal, (frame) => {
      if (!abort.signal.aborted) on_points_frame(msg.id, frame, msg.equal_aspect);
    });
  } catch (e) {
    if (abort.signal.aborted) return; // superseded: the newer request reports
    post({ type: 'error', id: msg.id, request: 'points', message: (e as Error).message, status: e instanceof ApiError ? e.status : 0 });
  }
}

async function colour_points(msg: Extract<ToWorker, { type: 'colour' }>) {
  colour_abort?.abort();
  const data = dataset;
  if (!data) return;
  const request: ColourRequest = msg.colour;
  const n = data.track.length;
  const category = new Float32Array(n);
  if (request.by === 'track') {
    for (let i = 0; i < n; i++) category[i] = data.group[i] % TRACK_PALETTE.length;
    post({ type: 'colours', id: msg.id, category, legend: { kind: 'track', tracks: data.groups } }, [category.buffer]);
    return;
  }
  const abort = new AbortController();
  colour_abort = abort;
  let values: Float32Array | null = null;
  const on_frame = (frame: Frame) => {
    if (frame.header.kind === 'progress') return; // 'final' (points) or 'scores'
    const xy = frame.arrays.xy as Float32Array | undefined;
    const score = frame.arrays.score as Float32Array | undefined;
    const value = (i: number) => (score ? score[i] : xy![2 * i]);
    const track = frame.arrays.track as Int32Array;
    const segment = frame.arrays.segment as Int32Array;
    values = new Float32Array(n).fill(NaN);
    const same = track.length === n && track.every((t, i) => t === data.track[i] && segment[i] === data.segment[i]);
    if (same) {
      for (let i = 0; i < n; i++) values[i] = value(i);
    } else { // another space may hold other tracks: align by (track, segment)
      const at = new Map<number, number>();
      for (let i = 0; i < track.length; i++) at.set(track[i] * 1e6 + segment[i], value(i));
      for (let i = 0; i < n; i++) values[i] = at.get(data.track[i] * 1e6 + data.segment[i]) ?? NaN;
    }
  };
  try {
    if (request.by === 'value') await stream_points(request.query, msg.token, abort.signal, on_frame);
    else await stream_frames(request.url, msg.token, abort.signal, on_frame);
  } catch (e) {
    if (abort.signal.aborted) return;
    post({ type: 'error', id: msg.id, request: 'colour', message: (e as Error).message, status: e instanceof ApiError ? e.status : 0 });
    return;
  }
  if (abort.signal.aborted || dataset !== data || !values) return;
  const v = values as Float32Array;
  let min = Infinity, max = -Infinity;
  for (let i = 0; i < n; i++) {
    if (v[i] < min) min = v[i];
    if (v[i] > max) max = v[i];
  }
  if (min > max) { min = 0; max = 1; } // no values (every point NaN)
  const span = max > min ? max - min : 1;
  for (let i = 0; i < n; i++) {
    category[i] = Number.isNaN(v[i]) ? 0 : Math.min(VALUE_BINS - 1, Math.floor(((v[i] - min) / span) * VALUE_BINS));
  }
  post({ type: 'colours', id: msg.id, category, legend: { kind: 'value', label: request.label, min, max } }, [category.buffer]);
}

// Any endpoint answering frames like /api/points (/api/scores).
async function stream_frames(url: string, token: string | null, signal: AbortSignal, on_frame: (f: Frame) => void) {
  const response = await fetch(url, { headers: auth_headers(token), signal });
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try { message = (await response.json()).error ?? message; } catch { /* keep the status line */ }
    throw new ApiError(message, response.status);
  }
  const reader = create_frame_reader(on_frame);
  const body = response.body!.getReader();
  for (;;) {
    const { value, done } = await body.read();
    if (done) break;
    reader.push(value);
  }
  if (!reader.finished()) throw new ApiError(`${url}: the stream ended inside a frame`, 0);
}

// Small (one value a track) and shared by later filters, so never aborted.
function track_means(t: Threshold, f: FilterRequest, token: string | null): Promise<Map<number, number>> {
  const key = `${t.space}|${t.dim}|${f.tracks}|${f.seed}`;
  let p = means_cache.get(key);
  if (!p) {
    p = (async () => {
      const means = new Map<number, number>();
      await stream_points({ space: t.space, tracks: f.tracks, seed: f.seed, granularity: 'averages', method: 'original', x: t.dim, y: t.dim },
        token, new AbortController().signal, (frame) => {
          if (frame.header.kind !== 'final') return;
          const xy = frame.arrays.xy as Float32Array, track = frame.arrays.track as Int32Array;
          for (let i = 0; i < track.length; i++) means.set(track[i], xy[2 * i]);
        });
      return means;
    })();
    p.catch(() => means_cache.delete(key));
    means_cache.set(key, p);
  }
  return p;
}

function passes(v: number | undefined, t: Threshold): boolean {
  if (v === undefined) return false;
  return t.op === '>' ? v > t.value : t.op === '>=' ? v >= t.value : t.op === '<' ? v < t.value : v <= t.value;
}

async function filter_points(msg: Extract<ToWorker, { type: 'filter' }>) {
  filter_abort?.abort();
  const data = dataset;
  if (!data) return;
  const abort = new AbortController();
  filter_abort = abort;
  const f = msg.filter;
  let means: Map<number, number>[];
  try {
    means = await Promise.all(f.thresholds.map((t) => track_means(t, f, msg.token)));
  } catch (e) {
    if (abort.signal.aborted) return;
    post({ type: 'error', id: msg.id, request: 'filter', message: (e as Error).message, status: e instanceof ApiError ? e.status : 0 });
    return;
  }
  if (abort.signal.aborted || dataset !== data) return;
  // Per track (group ordinal) first: the conditions are per track.
  const tracks_of_group = new Int32Array(data.groups);
  for (let i = 0; i < data.track.length; i++) tracks_of_group[data.group[i]] = data.track[i];
  const allowed = f.allowed ? new Set(f.allowed) : null;
  const keep_group = new Uint8Array(data.groups);
  for (let g = 0; g < data.groups; g++) {
    const id = tracks_of_group[g];
    keep_group[g] = (!allowed || allowed.has(id)) && f.thresholds.every((t, k) => passes(means[k].get(id), t)) ? 1 : 0;
  }
  const n = data.track.length;
  const visible = new Int32Array(n);
  let count = 0;
  const seen = new Uint8Array(data.groups);
  let tracks = 0;
  for (let i = 0; i < n; i++) {
    if (!keep_group[data.group[i]]) continue;
    const s = data.segment[i];
    if (f.sparsity > 1 && s >= 0 && s % f.sparsity !== 0) continue;
    visible[count++] = i;
    if (!seen[data.group[i]]) { seen[data.group[i]] = 1; tracks++; }
  }
  const all = count === n;
  const out = all ? null : visible.slice(0, count);
  post({ type: 'filter', id: msg.id, visible: out, tracks, points: count }, out ? [out.buffer] : []);
}

// Whether (x, y) lies inside the closed polygon [x0, y0, x1, y1, ...] (even-odd rule, as
// regl-scatterplot's isPointInPolygon).
function in_polygon(p: Float32Array, x: number, y: number): boolean {
  let inside = false;
  for (let i = 0, j = p.length - 2; i < p.length; j = i, i += 2) {
    const xi = p[i], yi = p[i + 1], xj = p[j], yj = p[j + 1];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

// A lasso / box: the points of the last final frame inside the polygon (bounding box from the
// kd-tree, then the polygon test), among the visible ones. Here rather than in
// regl-scatterplot's lassoEnd, which took ~110 ms of the main thread for 80k points.
function lasso_points(msg: Extract<ToWorker, { type: 'lasso' }>) {
  const data = dataset;
  const p = msg.polygon;
  if (!data) return;
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (let i = 0; i < p.length; i += 2) {
    if (p[i] < x0) x0 = p[i]; if (p[i] > x1) x1 = p[i];
    if (p[i + 1] < y0) y0 = p[i + 1]; if (p[i + 1] > y1) y1 = p[i + 1];
  }
  let inside = new Int32Array(0);
  if (p.length >= 6 && x1 > x0 && y1 > y0) {
    let shown: Uint8Array | null = null;
    if (msg.visible) {
      shown = new Uint8Array(data.track.length);
      for (const i of msg.visible) shown[i] = 1;
    }
    const out: number[] = [];
    for (const i of data.index.range(x0, y0, x1, y1)) {
      if ((!shown || shown[i]) && in_polygon(p, data.xy[2 * i], data.xy[2 * i + 1])) out.push(i);
    }
    inside = Int32Array.from(out).sort();
  }
  const runs = inside.length ? selection_runs(inside, data.track, data.segment) : null;
  post({ type: 'lasso', id: msg.id, data: data.id, inside, runs }, [inside.buffer]);
}

self.onmessage = (event: MessageEvent<ToWorker>) => {
  const msg = event.data;
  if (msg.type === 'points') void load_points(msg);
  else if (msg.type === 'colour') void colour_points(msg);
  else if (msg.type === 'filter') void filter_points(msg);
  else if (msg.type === 'lasso') lasso_points(msg);
  else { points_abort?.abort(); colour_abort?.abort(); filter_abort?.abort(); }
};
