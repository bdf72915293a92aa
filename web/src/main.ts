// main.ts — wires the app: state (URL) -> requests (worker) -> renderer (scatter) and
// renderer events -> tooltip, panel, audio. Owns no heavy work: the worker streams and
// prepares arrays, regl-scatterplot draws them.
import KDBush from 'kdbush';
import {
  get_summary, get_track, get_tracks, get_vectors, token_from_url,
  type ModelInfo, type PointsQuery, type SpaceInfo, type Summary, type Track, type TrackDetail,
} from './api';
import { create_audio_player } from './audio';
import { TRACK_PALETTE, VALUE_PALETTE } from './colour';
import type { ColourMessage, FromWorker, PointsMessage, ToWorker } from './protocol';
import { create_scatter, type ScatterPoints } from './scatter';
import { decode_state, default_state, encode_state, type ViewState } from './state';
import { create_controls } from './ui/controls';
import { render_legend } from './ui/legend';
import { render_panel } from './ui/panel';
import { hide_tooltip, show_tooltip } from './ui/tooltip';
import './style.css';

const PROGRESS_PALETTE = ['#9aa4b1'];
const PREFETCH_RADIUS = 0.04;       // NDC units (at zoom 1) around a hovered point
const PREFETCH_NEIGHBOURS = 8;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const token = token_from_url(location.search);
const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
const player = create_audio_player(token);

let summary: Summary;
let tracks = new Map<number, Track>();
let state: ViewState = default_state();
let data_key = '';                    // the points query the plot shows (or is loading)
let colour_key = '';
let points_id = 0, colour_id = 0;
let current: PointsMessage | null = null; // the last final frame
let current_index: KDBush | null = null;
let category: Float32Array | null = null;
let palette: readonly string[] = TRACK_PALETTE; // what `category` indexes
let legend: ColourMessage['legend'] | null = null;
let explained_ratio: number[] | null = null;
let restore_camera = true;            // apply state.camera once, after the first layout
let hovered = -1;
let pointer: [number, number] = [0, 0];
let draws = 0;
// Bench hooks (bench/web-bench.mjs): when the request went out, when its final frame reached
// this thread, when that frame's first draw finished.
const timing = { requested_ms: 0, data_ms: 0, painted_ms: 0 };
const track_details = new Map<number, Promise<TrackDetail>>();
const vectors_cache = new Map<string, Promise<number[][] | null>>();

const scatter = create_scatter($<HTMLCanvasElement>('canvas'), {
  pointover: on_pointover,
  pointout: on_pointout,
  select: on_select,
  view(camera) {
    const home = Math.abs(camera[0]) < 1e-9 && Math.abs(camera[1]) < 1e-9 && Math.abs(camera[2] - 1) < 1e-9;
    state.camera = home ? null : camera; // the fitted view needs no camera in the URL
    save_url();
  },
});
const controls = create_controls($('controls'), (patch) => update(patch), () => {
  scatter.reset();
  state.camera = null;
  save_url();
});

function post(message: ToWorker) {
  worker.postMessage(message);
}

function set_status(text: string, busy = false) {
  $('status').textContent = text;
  document.body.dataset.busy = busy ? '1' : '';
}

function show_message(html_free_text: string | null, command?: string) {
  const m = $('message');
  m.replaceChildren();
  m.hidden = html_free_text === null;
  if (html_free_text === null) return;
  const p = document.createElement('p');
  p.textContent = html_free_text;
  m.append(p);
  if (command) {
    const code = document.createElement('code');
    code.textContent = command;
    m.append(code);
  }
}

// --- what the state means against this collection ------------------------------------

function space_named(name: string | undefined): SpaceInfo | undefined {
  return summary.spaces.find((s) => s.name === name);
}

function resolve_space(s: ViewState): { space: SpaceInfo | null; problem: string | null; command?: string } {
  if (summary.collection.tracks === 0) {
    return { space: null, problem: 'The collection is empty: no analysed tracks yet. Add music with', command: 'tagscape analyze MUSIC_DIR' };
  }
  const imported = summary.spaces.find((sp) => sp.name === s.model && sp.kind === 'imported');
  if (imported) return { space: imported, problem: null };
  if (s.layer === 'moods') {
    const moods = space_named(summary.moods.space);
    return moods && summary.moods.analysed ? { space: moods, problem: null }
      : { space: null, problem: 'The moods space is not analysed yet. Add it with', command: summary.moods.command };
  }
  const model = summary.models.find((m) => m.id === s.model);
  if (!model) return { space: null, problem: `Unknown model ${s.model}.` };
  const space = space_named(model.spaces[s.layer]);
  if (!space) {
    return { space: null, problem: `${model.id} (${s.layer}) is not analysed yet. Add it with`, command: model.command };
  }
  return { space, problem: null };
}

// The space whose dims name tags: the shown one if it has names, else its model's taggrams.
function tag_space(s: ViewState, space: SpaceInfo | null): SpaceInfo | undefined {
  if (space && space.kind !== 'moods' && space.dim_names.length) return space;
  const model = summary.models.find((m) => m.id === s.model);
  return space_named(model?.spaces.taggrams);
}

function colour_dims(s: ViewState, space: SpaceInfo | null) {
  const moods = summary.moods.analysed ? space_named(summary.moods.space)?.dim_names ?? [] : [];
  return { tags: tag_space(s, space)?.dim_names ?? [], moods };
}

// Makes a state consistent with the collection (a shared URL may name what is not here).
function fix_state(s: ViewState) {
  const imported = summary.spaces.some((sp) => sp.name === s.model && sp.kind === 'imported');
  const usable = (m: ModelInfo | undefined) => !!m && (m.analysed || Object.values(m.spaces).some((n) => space_named(n)));
  if (!imported && !usable(summary.models.find((m) => m.id === s.model))) {
    const first = summary.models.find((m) => m.analysed) ?? summary.models.find(usable);
    if (first) s.model = first.id;
  }
  if (s.layer === 'moods' && !summary.moods.analysed) s.layer = 'taggrams';
  const { space } = resolve_space(s);
  if (space) {
    const valid_dim = (v: string) => space.dim_names.includes(v) ||
      space.dim_names.some((n) => n.toLowerCase() === v.toLowerCase()) ||
      (/^\d+$/.test(v) && Number(v) < space.dims);
    if (!valid_dim(s.origX)) s.origX = space.dim_names[0] ?? '0';
    if (!valid_dim(s.origY)) s.origY = space.dim_names[1] ?? '1';
    s.pcX = Math.min(s.pcX, space.dims - 1);
    s.pcY = Math.min(s.pcY, space.dims - 1);
  }
  const dims = colour_dims(s, space);
  const [kind, name] = [s.colour.split(':')[0], s.colour.slice(s.colour.indexOf(':') + 1)];
  if (!(s.colour === 'track' || (kind === 'tag' && dims.tags.includes(name)) || (kind === 'mood' && dims.moods.includes(name)))) {
    s.colour = 'track';
  }
}

function points_query(s: ViewState, space: SpaceInfo): PointsQuery {
  const q: PointsQuery = {
    space: space.name, tracks: s.tracks, seed: s.seed,
    granularity: s.view === 'averages' ? 'averages' : 'segments', method: s.method,
  };
  if (s.method === 'original') Object.assign(q, { x: s.origX, y: s.origY, log: s.log });
  if (s.method === 'pca' || s.method === 'std-pca') Object.assign(q, { x: String(s.pcX), y: String(s.pcY) });
  if (s.method === 'tsne') Object.assign(q, { perplexity: s.perplexity, learning_rate: s.learningRate, iterations: s.iterations });
  if (s.method === 'umap') Object.assign(q, { n_neighbors: s.nNeighbors, min_dist: s.minDist });
  return q;
}

function colour_query(s: ViewState, space: SpaceInfo): { query: PointsQuery; label: string } | null {
  if (s.colour === 'track') return null;
  const kind = s.colour.split(':')[0];
  const name = s.colour.slice(kind.length + 1);
  const source = kind === 'mood' ? space_named(summary.moods.space) : tag_space(s, space);
  if (!source) return null;
  return {
    label: name,
    query: { space: source.name, tracks: s.tracks, seed: s.seed, granularity: s.view === 'averages' ? 'averages' : 'segments',
      method: 'original', x: name, y: name },
  };
}

// --- state changes ---------------------------------------------------------------------

function update(patch: Partial<ViewState>) {
  const before = state;
  state = { ...state, ...patch };
  fix_state(state);
  apply(before);
}

function apply(before: ViewState | null) {
  const { space, problem, command } = resolve_space(state);
  controls.sync(state, { summary, space, colour_dims: colour_dims(state, space), explained_variance_ratio: explained_ratio });
  player.set_mode(state.audio);
  show_message(problem, command);
  if (!space) {
    post({ type: 'cancel' });
    scatter.clear();
    current = null;
    data_key = colour_key = '';
    render_legend($('legend'), null);
    $('variance').textContent = '';
    set_status(problem ? 'Nothing to show' : '');
  } else {
    const query = points_query(state, space);
    const key = JSON.stringify(query);
    const colour = colour_query(state, space);
    const ckey = key + '|' + state.colour;
    if (key !== data_key) {
      data_key = key;
      colour_key = ckey;
      current = null;
      category = null;
      hovered = -1;
      hide_tooltip($('tooltip'));
      if (before) restore_camera = false;
      points_id++;
      set_status(`Loading ${space.name} (${state.method})…`, true);
      timing.requested_ms = performance.now();
      timing.data_ms = timing.painted_ms = 0;
      post({ type: 'points', id: points_id, token, query, equal_aspect: state.method !== 'original' });
    } else if (ckey !== colour_key) {
      colour_key = ckey;
      request_colours(colour);
    } else if (before && before.view !== state.view && current) {
      draw_current(false);
    }
  }
  if (!before || before.selected !== state.selected) void show_selected();
  save_url();
}

function request_colours(colour: ReturnType<typeof colour_query>) {
  if (!current) return;
  colour_id++;
  if (!colour) {
    category = track_categories(current);
    palette = TRACK_PALETTE;
    legend = { kind: 'track', tracks: current.group_tracks!.length };
    render_legend($('legend'), legend);
    draw_current(false);
    return;
  }
  set_status(`Colouring by ${colour.label}…`, true);
  post({ type: 'colour', id: colour_id, token, colour: { by: 'value', query: colour.query, label: colour.label } });
}

function track_categories(p: PointsMessage): Float32Array {
  const out = new Float32Array(p.group!.length);
  for (let i = 0; i < out.length; i++) out[i] = p.group![i] % TRACK_PALETTE.length;
  return out;
}

let save_timer = 0;
function save_url() {
  clearTimeout(save_timer);
  save_timer = window.setTimeout(async () => {
    const hash = await encode_state(state);
    history.replaceState(null, '', `${location.pathname}${location.search}#${hash}`);
  }, 150);
}

// --- drawing ---------------------------------------------------------------------------

function scatter_points(p: PointsMessage): ScatterPoints {
  return { xy: p.xy, category, size: p.size, group: p.group, segment: p.segment, lines: p.lines, spatial_index: p.spatial_index };
}

function draw_current(transition: boolean) {
  if (!current) return;
  const t0 = performance.now();
  void scatter.draw(scatter_points(current), { mode: state.view, palette }, transition).then(() => {
    draws++;
    if (!timing.painted_ms && timing.data_ms) timing.painted_ms = performance.now();
    document.body.dataset.draws = String(draws);
    highlight_track(hovered >= 0 && current ? current.group![hovered] : null);
    set_status(status_line(performance.now() - t0));
  });
}

function status_line(draw_ms: number): string {
  if (!current) return '';
  const h = current.header;
  const tw = h.trustworthiness !== undefined ? ` · trustworthiness ${h.trustworthiness.toFixed(3)}` : '';
  return `${h.n.toLocaleString()} points · ${current.group_tracks?.length ?? 0} tracks · ${h.method}${tw} · drawn in ${draw_ms.toFixed(0)} ms`;
}

function on_points(msg: PointsMessage) {
  if (msg.id !== points_id) return; // a superseded request
  if (msg.header.kind === 'progress') {
    set_status(`${msg.header.method}: iteration ${msg.header.iteration} of ${msg.header.of}…`, true);
    void scatter.draw({ xy: msg.xy, category: null, size: null, group: null, segment: null, lines: null, spatial_index: msg.spatial_index },
      { mode: 'segments', palette: PROGRESS_PALETTE }, true);
    return;
  }
  current = msg;
  timing.data_ms = performance.now();
  current_index = KDBush.from(msg.spatial_index);
  explained_ratio = msg.header.explained_variance_ratio ?? null;
  show_variance();
  const { space } = resolve_space(state);
  controls.sync(state, { summary, space, colour_dims: colour_dims(state, space), explained_variance_ratio: explained_ratio });
  if (msg.header.n === 0) show_message('No points: the space holds no vectors for these tracks.');
  const colour = space ? colour_query(state, space) : null;
  if (colour) {
    category = track_categories(msg); // first paint at once; the value colours follow
    palette = TRACK_PALETTE;
    request_colours(colour);
  } else {
    request_colours(null);
  }
  if (colour) draw_current(false);
  if (restore_camera && state.camera) {
    const cam = state.camera;
    scatter.set_camera(cam);
  } else if (!restore_camera) {
    scatter.reset();
  }
  restore_camera = false;
}

function show_variance() {
  const v = $('variance');
  const r = explained_ratio;
  if (!r || (state.method !== 'pca' && state.method !== 'std-pca')) { v.textContent = ''; return; }
  const pct = (i: number) => (r[i] !== undefined ? `${(r[i] * 100).toFixed(1)}%` : '?');
  v.textContent = `explained variance: X = PC${state.pcX + 1} ${pct(state.pcX)}, Y = PC${state.pcY + 1} ${pct(state.pcY)}`;
}

worker.onmessage = (event: MessageEvent<FromWorker>) => {
  const msg = event.data;
  if (msg.type === 'points') on_points(msg);
  else if (msg.type === 'colours') {
    if (msg.id !== colour_id || !current || msg.category.length !== current.header.n) return;
    category = msg.category;
    palette = VALUE_PALETTE;
    legend = msg.legend;
    render_legend($('legend'), legend);
    draw_current(false);
  } else if (msg.type === 'error') {
    if (msg.request === 'points' && msg.id === points_id) {
      scatter.clear();
      current = null;
      set_status('');
      show_message(`Cannot show this view: ${msg.message}`);
    } else if (msg.request === 'colour' && msg.id === colour_id) {
      set_status(`Colouring failed: ${msg.message}`);
    }
  }
};

// --- pointer, tooltip, selection, audio ------------------------------------------------

function track_indices(group: number | null): number[] | null {
  if (group === null || !current?.by_group) return null;
  return Array.from(current.by_group.subarray(current.group_offsets![group], current.group_offsets![group + 1]));
}

function highlight_track(group: number | null) {
  if (group === null && state.selected !== null && current) {
    const g = current.group_tracks!.indexOf(state.selected);
    group = g >= 0 ? g : null;
  }
  scatter.highlight(track_indices(group));
}

function track_detail(id: number): Promise<TrackDetail> {
  let p = track_details.get(id);
  if (!p) {
    p = get_track(id, token);
    p.catch(() => track_details.delete(id));
    track_details.set(id, p);
  }
  return p;
}

function track_vectors(id: number, space: string): Promise<number[][] | null> {
  const key = `${id}|${space}`;
  let p = vectors_cache.get(key);
  if (!p) {
    p = get_vectors(id, space, token).then((v) => v.values).catch(() => null);
    vectors_cache.set(key, p);
  }
  return p;
}

function audible_segment(track: number, segment: number): number {
  if (segment >= 0) return segment;
  const t = tracks.get(track); // an average: play the middle of the track
  return t ? Math.floor(t.segments / 2) : 0;
}

function prefetch_near(index: number) {
  if (!current || !current_index) return;
  const track = current.track!, segment = current.segment!;
  const wishes: Array<[number, number]> = [];
  const t = track[index], s = audible_segment(t, segment[index]);
  for (const d of [1, -1, 2]) if (s + d >= 0 && s + d < (tracks.get(t)?.segments ?? 0)) wishes.push([t, s + d]);
  const x = current.xy[2 * index], y = current.xy[2 * index + 1];
  const r = PREFETCH_RADIUS * Math.min(1, scatter.camera()[2]);
  for (const j of current_index.within(x, y, r).slice(0, PREFETCH_NEIGHBOURS * 2)) {
    if (j !== index) wishes.push([track[j], audible_segment(track[j], segment[j])]);
    if (wishes.length >= PREFETCH_NEIGHBOURS + 3) break;
  }
  player.prefetch(wishes);
}

async function on_pointover(index: number) {
  if (!current?.track) return;
  hovered = index;
  const track_id = current.track[index], segment = current.segment![index];
  highlight_track(current.group![index]);
  if (state.audio === 'hover') void player.play_segment(track_id, audible_segment(track_id, segment)).catch(() => {});
  if (state.audio !== 'off') prefetch_near(index);
  const tip = $('tooltip');
  const base = { track: tracks.get(track_id), track_id, segment, time: null, top_tags: null };
  show_tooltip(tip, pointer[0], pointer[1], base);
  const space = tag_space(state, resolve_space(state).space);
  const [detail, values] = await Promise.all([
    track_detail(track_id).catch(() => null),
    space ? track_vectors(track_id, space.name) : Promise.resolve(null),
  ]);
  if (hovered !== index) return;
  let top_tags: Array<[string, number]> | null = null;
  if (values && space) {
    const row = segment >= 0 ? values[segment]
      : values[0]?.map((_, d) => values.reduce((sum, v) => sum + v[d], 0) / values.length);
    if (row) top_tags = row.map((v, d) => [space.dim_names[d] ?? String(d), v] as [string, number]).sort((a, b) => b[1] - a[1]).slice(0, 3);
  }
  show_tooltip(tip, pointer[0], pointer[1], { ...base, time: segment >= 0 ? detail?.segment_times[segment] ?? null : null, top_tags });
}

function on_pointout() {
  hovered = -1;
  hide_tooltip($('tooltip'));
  highlight_track(null);
}

function on_select(index: number | null) {
  if (index === null || !current?.track) {
    if (state.selected !== null) update({ selected: null });
    else highlight_track(null);
    return;
  }
  const track_id = current.track[index];
  if (state.audio === 'click') void player.play_segment(track_id, audible_segment(track_id, current.segment![index])).catch(() => {});
  update({ selected: track_id });
  highlight_track(current.group![index]);
}

async function show_selected() {
  const id = state.selected;
  const panel = $('panel');
  if (id === null) {
    render_panel(panel, null, token, { play_segment() {}, close() {} });
    highlight_track(null);
    return;
  }
  const detail = await track_detail(id).catch(() => null);
  if (state.selected !== id) return;
  render_panel(panel, detail, token, {
    play_segment: (t, s) => { player.unlock(); void player.play_segment(t, s).catch(() => {}); },
    close: () => update({ selected: null }),
  });
  highlight_track(null);
}

$('plot').addEventListener('pointermove', (e) => {
  const r = $('plot').getBoundingClientRect();
  pointer = [e.clientX - r.left, e.clientY - r.top];
});
for (const type of ['pointerdown', 'keydown']) document.addEventListener(type, () => player.unlock(), { once: true });

window.addEventListener('hashchange', async () => {
  const s = await decode_state(location.hash);
  if (!s) return;
  const before = state;
  state = s;
  restore_camera = true;
  fix_state(state);
  apply(before);
});

// Test and benchmark hooks (web/tests, bench/web-bench): read-only views of the app.
declare global {
  interface Window { __tagscape: Record<string, unknown> }
}
window.__tagscape = {
  state: () => structuredClone(state),
  points: () => (current ? current.header.n : 0),
  draws: () => draws,
  // Screen position (CSS px, relative to the canvas) of the first point of a track.
  point_of_track: (track: number) => {
    if (!current?.track) return null;
    const i = current.track.indexOf(track);
    return i < 0 ? null : { index: i, segment: current.segment![i], at: scatter.screen_position(i) };
  },
  point: (i: number) => (current?.track ? { track: current.track[i], segment: current.segment![i], at: scatter.screen_position(i) } : null),
  plays: () => player.history(),
  audio_state: () => player.state(),
  camera: () => scatter.camera(),
  timing: () => ({ ...timing }),
};

// --- start -----------------------------------------------------------------------------

async function start() {
  set_status('Loading the collection…', true);
  try {
    [summary] = await Promise.all([get_summary(token)]);
    tracks = new Map((await get_tracks(token)).map((t) => [t.id, t]));
  } catch (e) {
    set_status('');
    show_message(`Cannot reach the tagscape server: ${(e as Error).message}`);
    return;
  }
  state = (await decode_state(location.hash)) ?? default_state();
  fix_state(state);
  apply(null);
}

void start();
