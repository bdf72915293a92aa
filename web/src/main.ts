// main.ts — wires the app: state (URL) -> requests (worker) -> renderer (scatter) and
// renderer events -> tooltip, panel, audio. Owns no heavy work: the worker streams and
// prepares arrays, regl-scatterplot draws them.
import KDBush from 'kdbush';
import {
  get_axes, get_knn, get_summary, get_track, get_tracks, get_vectors, get_walk, playlist_url, scores_url, token_from_url, with_token,
  type ModelInfo, type Neighbour, type PointsQuery, type SpaceInfo, type Summary, type Track, type TrackDetail, type Walk,
} from './api';
import { create_audio_player } from './audio';
import { TRACK_PALETTE, VALUE_PALETTE } from './colour';
import { count_by_track, metadata_filter_active, parse_goal, parse_thresholds, tracks_passing } from './curate';
import type { ColourMessage, ColourRequest, FilterMessage, FromWorker, PointsMessage, ToWorker } from './protocol';
import { create_scatter, type ScatterPoints } from './scatter';
import { decode_state, default_state, encode_state, type ViewState } from './state';
import { create_controls } from './ui/controls';
import { create_curate_controls } from './ui/curate';
import { render_axes } from './ui/axes';
import { create_cluster_labels, place_clusters } from './ui/clusters';
import { render_neighbours, render_selection, render_walk } from './ui/lists';
import { create_taggram } from './ui/taggram';
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
// The listening page needs the same token (and nothing else of this page's URL).
$<HTMLAnchorElement>('listening-link').href = `/listening.html${location.search}`;

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
let axes_key = '';                    // the points query the axis labels explain
let restore_camera = true;            // apply state.camera once, after the first layout
let hovered = -1;
let pointer: [number, number] = [0, 0];
let draws = 0;
// Bench hooks (bench/web-bench.mjs): when the request went out, when its final frame reached
// this thread, when that frame's first draw finished.
const timing = { requested_ms: 0, data_ms: 0, painted_ms: 0 };
const track_details = new Map<number, Promise<TrackDetail>>();
const vectors_cache = new Map<string, Promise<number[][] | null>>();

// Curation (not in the URL: it belongs to the points loaded now).
let selection: number[] | null = null;       // point indices inside the last lasso / box
let filter_id = 0, filter_key = '';
let filter_result: FilterMessage | null = null;
let filter_problem: string | null = null;
let knn_key = '';
let neighbours: Neighbour[] | null = null;
let neighbours_problem: string | null = null;
let neighbour_playing = -1;
let latest_emphasis: 'highlight' | 'neighbours' = 'neighbours'; // the later one wins
let walk: { goal: string; walk: Walk | null; problem: string | null } | null = null;
const sequence: { tracks: number[]; at: number; plays: number[] } = { tracks: [], at: -1, plays: [] };

// The right column: the selected track (#panel) over the curation lists (#curation).
const side = document.createElement('div');
side.id = 'side';
const panel_element = $('panel');
panel_element.replaceWith(side);
const curation = document.createElement('aside');
curation.id = 'curation';
curation.setAttribute('aria-label', 'Curation');
const [selection_root, neighbours_root, walk_root] = ['selection', 'neighbours', 'walk-panel'].map((id) => {
  const section = document.createElement('section');
  section.id = id;
  section.hidden = true;
  return section;
});
const sequence_audio = document.createElement('audio');
sequence_audio.id = 'sequence-audio';
sequence_audio.controls = true;
sequence_audio.hidden = true;
curation.append(sequence_audio, selection_root, neighbours_root, walk_root);
side.append(panel_element, curation);

const taggram_section = document.createElement('section');
taggram_section.id = 'taggram';
const taggram_kind = document.createElement('select');
taggram_kind.id = 'taggram-kind';
const taggram_canvas = document.createElement('canvas');
taggram_canvas.id = 'taggram-canvas';
const taggram = create_taggram(taggram_canvas, (segment) => seek_track(segment), () => {});
let taggram_track: TrackDetail | null = null;

const scatter = create_scatter($<HTMLCanvasElement>('canvas'), {
  lasso: on_lasso,
  pointover: on_pointover,
  pointout: on_pointout,
  select: on_select,
  view(camera) {
    place_cluster_labels();
    const home = Math.abs(camera[0]) < 1e-9 && Math.abs(camera[1]) < 1e-9 && Math.abs(camera[2] - 1) < 1e-9;
    state.camera = home ? null : camera; // the fitted view needs no camera in the URL
    save_url();
  },
});
const cluster_labels = create_cluster_labels($('cluster-labels-layer'));
function place_cluster_labels() {
  cluster_labels.place((x, y) => scatter.to_screen(x, y));
}
new ResizeObserver(place_cluster_labels).observe($('plot'));

const controls = create_controls($('controls'), (patch) => update(patch), () => {
  scatter.reset();
  state.camera = null;
  save_url();
});
const curate_controls = create_curate_controls($('controls'), { change: (patch) => update(patch), walk: () => void start_walk() });

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

// Spaces whose dim names a filter threshold or goal may use: the tag space, then moods.
function named_spaces(s: ViewState, space: SpaceInfo | null): SpaceInfo[] {
  const out: SpaceInfo[] = [];
  const tags = tag_space(s, space);
  if (tags) out.push(tags);
  const moods = summary.moods.analysed ? space_named(summary.moods.space) : undefined;
  if (moods) out.push(moods);
  return out;
}

// The goal's space: the chosen one, else the first named space holding every goal dim.
function goal_space_of(s: ViewState, space: SpaceInfo | null): string | null {
  if (s.goalSpace) return s.goalSpace;
  const { goal } = parse_goal(s.goal);
  const spaces = named_spaces(s, space);
  const fits = spaces.find((sp) => goal.every(([d]) => sp.dim_names.includes(d)));
  return (fits ?? spaces[0])?.name ?? null;
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
  const goal_ok = s.colour === 'goal' && parse_goal(s.goal).goal.length > 0;
  if (!(s.colour === 'track' || goal_ok || (kind === 'tag' && dims.tags.includes(name)) || (kind === 'mood' && dims.moods.includes(name)))) {
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

function colour_query(s: ViewState, space: SpaceInfo): ColourRequest | null {
  if (s.colour === 'track') return null;
  const granularity = s.view === 'averages' ? 'averages' : 'segments';
  if (s.colour === 'goal') {
    const { goal } = parse_goal(s.goal);
    const gs = goal_space_of(s, space);
    if (!goal.length || !gs) return null;
    return { by: 'score', label: `goal ${s.goal}`, url: scores_url(space.name, s.tracks, s.seed, granularity, goal, gs) };
  }
  const kind = s.colour.split(':')[0];
  const name = s.colour.slice(kind.length + 1);
  const source = kind === 'mood' ? space_named(summary.moods.space) : tag_space(s, space);
  if (!source) return null;
  return {
    by: 'value',
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
  cluster_labels.set_visible(state.clusterLabels);
  show_message(problem, command);
  if (!space) {
    post({ type: 'cancel' });
    scatter.clear();
    cluster_labels.show(null);
    current = null;
    data_key = colour_key = '';
    render_legend($('legend'), null);
    $('variance').textContent = '';
    request_axes();
    set_status(problem ? 'Nothing to show' : '');
  } else {
    const query = points_query(state, space);
    const key = JSON.stringify(query);
    const colour = colour_query(state, space);
    const ckey = key + '|' + state.colour + (state.colour === 'goal' ? `|${state.goal}|${state.goalSpace}` : '');
    if (key !== data_key) {
      data_key = key;
      colour_key = ckey;
      current = null;
      category = null;
      hovered = -1;
      cluster_labels.show(null);
      clear_curation();
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
    request_filter();
    request_neighbours();
    request_axes();
  }
  if (!before || before.selected !== state.selected || before.taggram !== state.taggram) void show_selected();
  if (before && before.highlight !== state.highlight) {
    latest_emphasis = 'highlight';
    highlight_track(null);
  }
  if (before && before.knnOf !== state.knnOf) latest_emphasis = 'neighbours';
  sync_curate();
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
  set_status(`Colouring by ${'label' in colour ? colour.label : 'track'}…`, true);
  post({ type: 'colour', id: colour_id, token, colour });
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
    place_cluster_labels();
    set_status(status_line(performance.now() - t0));
  });
}

function status_line(draw_ms: number): string {
  if (!current) return '';
  const h = current.header;
  // How far to trust the layout's neighbourhoods (every method; null below 21 points).
  const tw = typeof h.trustworthiness === 'number' ? ` · trustworthiness ${h.trustworthiness.toFixed(3)}`
    : h.trustworthiness === null ? ' · trustworthiness n/a (too few points)' : '';
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
  cluster_labels.show(msg.header.clusters ? place_clusters(msg.header.clusters, msg.bounds) : null);
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
  request_filter();
  request_neighbours();
  show_walk();
}

// PCA axis labels: the server correlates the shown components with the tag space's dims over
// the same points (the request runs alongside the points request).
function request_axes() {
  const { space } = resolve_space(state);
  const pca = state.method === 'pca' || state.method === 'std-pca';
  const query = space && pca ? points_query(state, space) : null;
  const key = query ? JSON.stringify(query) : '';
  if (key === axes_key) return;
  axes_key = key;
  render_axes($('axis-x-label'), $('axis-y-label'), null);
  if (!query) return;
  get_axes(query, token).then((axes) => {
    if (axes_key === key) render_axes($('axis-x-label'), $('axis-y-label'), axes);
  }, (e: Error) => {
    if (axes_key === key) $('axis-x-label').title = `No axis labels: ${e.message}`; // e.g. an imported space without tags
  });
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
      cluster_labels.show(null);
      current = null;
      set_status('');
      show_message(`Cannot show this view: ${msg.message}`);
    } else if (msg.request === 'colour' && msg.id === colour_id) {
      set_status(`Colouring failed: ${msg.message}`);
    } else if (msg.request === 'filter' && msg.id === filter_id) {
      filter_problem = msg.message;
      sync_curate();
    }
  } else if (msg.type === 'filter') {
    if (msg.id !== filter_id) return;
    filter_result = msg;
    scatter.filter(msg.visible);
    sync_curate();
  }
};

// --- pointer, tooltip, selection, audio ------------------------------------------------

function track_indices(group: number | null): number[] | null {
  if (group === null || !current?.by_group) return null;
  return Array.from(current.by_group.subarray(current.group_offsets![group], current.group_offsets![group + 1]));
}

// What stands out when nothing is hovered, first that applies: the lasso selection, the
// neighbours of the clicked point, the highlight (artist / album / track), the selected track.
function emphasis(): number[] | null {
  if (!current?.by_group) return null;
  if (selection?.length) return selection;
  const near = neighbour_points();
  const h = state.highlight;
  const highlighting = !!(h.artist || h.album || h.track !== null);
  if (near && (!highlighting || latest_emphasis === 'neighbours')) return near;
  if (highlighting) {
    const out: number[] = [];
    const ids = current.group_tracks!;
    for (let g = 0; g < ids.length; g++) {
      const t = tracks.get(ids[g]);
      if ((h.track !== null && ids[g] === h.track) || (h.artist && t?.artist === h.artist) || (h.album && t?.album === h.album)) {
        out.push(...track_indices(g)!);
      }
    }
    return out;
  }
  if (state.selected !== null) return track_indices(group_of(state.selected));
  return null;
}

function group_of(track: number): number | null {
  if (!current?.group_tracks) return null;
  const ids = current.group_tracks; // ascending: binary search
  let lo = 0, hi = ids.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (ids[mid] === track) return mid;
    if (ids[mid] < track) lo = mid + 1; else hi = mid - 1;
  }
  return null;
}

// The point of (track, segment) in the current set, or -1. Segment -1 (an average) on a
// segments plot means the track's first segment.
function point_index(track: number, segment: number): number {
  const g = group_of(track);
  if (g === null || !current?.by_group) return -1;
  const run = current.by_group.subarray(current.group_offsets![g], current.group_offsets![g + 1]);
  if (segment < 0 || current.segment![run[0]] < 0) return run.length ? run[0] : -1;
  for (const i of run) if (current.segment![i] === segment) return i;
  return -1;
}

function highlight_track(group: number | null) {
  scatter.highlight(group === null ? emphasis() : track_indices(group));
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
  if (track_id === state.selected) taggram.set_hovered(segment >= 0 ? segment : null);
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
  taggram.set_hovered(null);
  hide_tooltip($('tooltip'));
  highlight_track(null);
}

function on_select(index: number | null) {
  if (index === null || !current?.track) {
    if (state.selected !== null || state.knnOf !== null) update({ selected: null, knnOf: null });
    else highlight_track(null);
    return;
  }
  const track_id = current.track[index];
  if (state.audio === 'click') void player.play_segment(track_id, audible_segment(track_id, current.segment![index])).catch(() => {});
  if (selection) { selection = null; show_selection(); }
  update({ selected: track_id, knnOf: [track_id, current.segment![index]] });
  highlight_track(null);
}

async function show_selected() {
  const id = state.selected;
  const panel = $('panel');
  if (id === null) {
    render_panel(panel, null, token, { play_segment() {}, close() {} });
    taggram_track = null;
    highlight_track(null);
    sync_side();
    return;
  }
  const detail = await track_detail(id).catch(() => null);
  if (state.selected !== id) return;
  render_panel(panel, detail, token, {
    play_segment: (t, s) => { player.unlock(); void player.play_segment(t, s).catch(() => {}); },
    close: () => update({ selected: null, knnOf: null }),
  });
  highlight_track(null);
  sync_side();
  taggram_track = detail;
  if (!detail) return;
  // The taggram: tag or mood activations of this track over time.
  const spaces = named_spaces(state, resolve_space(state).space);
  const kinds: Array<[string, string]> = [['tags', 'tags']];
  if (spaces.some((sp) => sp.kind === 'moods')) kinds.push(['moods', 'moods']);
  taggram_kind.replaceChildren(...kinds.map(([v, t]) => Object.assign(document.createElement('option'), { value: v, textContent: t })));
  taggram_kind.value = state.taggram;
  const heading = document.createElement('h3');
  heading.append('Taggram ', taggram_kind);
  taggram_section.replaceChildren(heading, taggram_canvas);
  panel.append(taggram_section);
  const space = state.taggram === 'moods' ? spaces.find((sp) => sp.kind === 'moods') : spaces.find((sp) => sp.kind !== 'moods');
  const values = space ? await track_vectors(id, space.name) : null;
  if (state.selected !== id || taggram_track !== detail) return;
  taggram.show(values && space ? { track: id, names: space.dim_names, values, times: detail.segment_times } : null);
  const audio = panel.querySelector<HTMLAudioElement>('#track-audio');
  if (audio) watch_playhead(audio);
}

taggram_kind.addEventListener('change', () => update({ taggram: taggram_kind.value === 'moods' ? 'moods' : 'tags' }));

// The playhead follows the panel's track audio (every frame while it plays).
function watch_playhead(audio: HTMLAudioElement) {
  let frame = 0;
  const tick = () => {
    taggram.set_playhead(audio.currentTime > 0 || !audio.paused ? audio.currentTime : null);
    if (!audio.paused && audio.isConnected) frame = requestAnimationFrame(tick);
  };
  for (const type of ['play', 'seeked', 'timeupdate']) audio.addEventListener(type, () => { cancelAnimationFrame(frame); tick(); });
}

// A taggram cell: play the whole track from that segment's start.
function seek_track(segment: number) {
  const audio = document.querySelector<HTMLAudioElement>('#panel #track-audio');
  const detail = taggram_track;
  if (!audio || !detail || !detail.segment_times[segment]) return;
  player.stop();
  const start = detail.segment_times[segment][0];
  const go = () => { audio.currentTime = start; void audio.play().catch(() => {}); };
  if (audio.readyState >= 1) go();
  else {
    audio.preload = 'auto';
    audio.addEventListener('loadedmetadata', go, { once: true });
    audio.load();
  }
}

// --- curation: lasso selection, filter, neighbours, walk --------------------------------

function on_lasso(indices: number[]) {
  selection = indices.length ? indices : null;
  highlight_track(null);
  show_selection();
}

function clear_curation() {
  selection = null;
  filter_result = null;
  filter_key = '';
  knn_key = '';
  scatter.filter(null);
  show_selection();
}

function show_selection() {
  const view = selection && current?.track
    ? { rows: count_by_track(selection, current.track), points: selection.length, playing: sequence.at >= 0 ? sequence.tracks[sequence.at] : null }
    : null;
  render_selection(selection_root, view, tracks, {
    play: () => play_tracks(view!.rows.map((r) => r.track)),
    stop: stop_tracks,
    clear: () => { selection = null; highlight_track(null); show_selection(); },
    play_track: (id) => play_tracks([id]),
    m3u8: (paths) => download(playlist_url(view!.rows.map((r) => r.track), 'm3u8', paths, view!.rows.map((r) => r.count))),
    csv: () => download(playlist_url(view!.rows.map((r) => r.track), 'csv', 'absolute', view!.rows.map((r) => r.count))),
  });
  sync_side();
}

// The server answers with Content-Disposition: attachment, so following a link downloads.
function download(url: string) {
  const a = document.createElement('a');
  a.href = with_token(url, token);
  a.download = '';
  document.body.append(a);
  a.click();
  a.remove();
}

// Whole tracks one after another through one media element (it streams and seeks by itself).
function play_tracks(ids: number[]) {
  player.stop();
  sequence.tracks = ids;
  sequence.at = -1;
  next_track();
}

function next_track() {
  sequence.at++;
  if (sequence.at >= sequence.tracks.length) { stop_tracks(); return; }
  const id = sequence.tracks[sequence.at];
  sequence.plays.push(id);
  sequence_audio.hidden = false;
  sequence_audio.src = with_token(`/api/audio/${id}`, token);
  void sequence_audio.play().catch(() => {});
  for (const li of curation.querySelectorAll('li.playing')) li.classList.remove('playing');
  for (const li of curation.querySelectorAll(`#selection-tracks li[data-track="${id}"], #walk-path li[data-track="${id}"]`)) li.classList.add('playing');
}

function stop_tracks() {
  sequence_audio.pause();
  sequence.tracks = [];
  sequence.at = -1;
  for (const li of curation.querySelectorAll('li.playing')) li.classList.remove('playing');
}

sequence_audio.addEventListener('ended', next_track);

function request_filter() {
  if (!current?.track) return;
  const { space } = resolve_space(state);
  const parsed = parse_thresholds(state.filter.tags, named_spaces(state, space).map((sp) => ({ name: sp.name, dims: sp.dim_names, is_moods: sp.kind === 'moods' })));
  const key = JSON.stringify([data_key, state.filter, state.sparsity]);
  if (key === filter_key) return;
  filter_key = key;
  filter_problem = parsed.problem; // (a failed request's message stays until the filter changes)
  filter_id++;
  const active = metadata_filter_active(state.filter) || parsed.thresholds.length > 0 || state.sparsity > 1;
  if (!active) {
    filter_result = null;
    scatter.filter(null);
    sync_curate();
    return;
  }
  const allowed = metadata_filter_active(state.filter) ? tracks_passing(tracks.values(), state.filter) : null;
  post({ type: 'filter', id: filter_id, token, filter: { tracks: state.tracks, seed: state.seed, allowed, thresholds: parsed.thresholds, sparsity: state.sparsity } });
}

function request_neighbours() {
  const { space } = resolve_space(state);
  const of = state.knnOf;
  const key = of && space ? JSON.stringify([space.name, of, state.knnK, state.knnMetric]) : '';
  if (key === knn_key) { show_neighbours(); return; }
  knn_key = key;
  neighbours = null;
  neighbours_problem = null;
  neighbour_playing = -1;
  show_neighbours();
  if (!of || !space) return;
  get_knn(space.name, of[0], of[1], state.knnK, state.knnMetric, token).then((r) => {
    if (knn_key !== key) return;
    neighbours = r.neighbours;
    show_neighbours();
  }, (e: Error) => {
    if (knn_key !== key) return;
    neighbours_problem = e.message;
    show_neighbours();
  });
}

function neighbour_points(): number[] | null {
  if (!neighbours || !state.knnOf) return null;
  const out = new Set<number>();
  const of = point_index(state.knnOf[0], state.knnOf[1]);
  if (of >= 0) out.add(of);
  for (const n of neighbours) {
    const i = point_index(n.track, n.segment);
    if (i >= 0) out.add(i);
  }
  return out.size ? [...out] : null;
}

function show_neighbours() {
  const of = state.knnOf;
  render_neighbours(neighbours_root, of ? {
    of: { track: of[0], segment: of[1] }, metric: state.knnMetric, neighbours, problem: neighbours_problem, playing: neighbour_playing,
  } : null, tracks, {
    play_all: () => play_neighbours(0),
    play: (k) => play_neighbours(k, true),
    close: () => update({ knnOf: null }),
  });
  highlight_track(null);
  sync_side();
}

function play_neighbours(from: number, only = false) {
  if (!neighbours) return;
  stop_tracks();
  player.unlock();
  const list = (only ? neighbours.slice(from, from + 1) : neighbours.slice(from))
    .map((n) => [n.track, audible_segment(n.track, n.segment)] as [number, number]);
  player.play_sequence(list, (k) => {
    neighbour_playing = from + k;
    neighbours_root.querySelectorAll('li').forEach((li, j) => li.classList.toggle('playing', j === neighbour_playing));
  });
}

async function start_walk() {
  const { space } = resolve_space(state);
  const { goal, problem } = parse_goal(state.goal);
  const gs = goal_space_of(state, space);
  if (!space || state.selected === null || !goal.length || !gs) return;
  const text = state.goal;
  walk = { goal: text, walk: null, problem };
  show_walk();
  if (problem) return;
  try {
    const w = await get_walk(space.name, state.selected, goal, gs, state.walkSteps, 15, state.knnMetric, token);
    if (walk?.goal === text) walk = { goal: text, walk: w, problem: null };
  } catch (e) {
    if (walk?.goal === text) walk = { goal: text, walk: null, problem: (e as Error).message };
  }
  show_walk();
}

function walk_track_ids(): number[] {
  const w = walk?.walk;
  return w ? [w.start.track, ...w.path.map((p) => p.track)] : [];
}

function show_walk() {
  render_walk(walk_root, walk, tracks, {
    play: () => play_tracks(walk_track_ids()),
    close: () => { walk = null; show_walk(); },
    m3u8: (paths) => download(playlist_url(walk_track_ids(), 'm3u8', paths)),
    csv: () => download(playlist_url(walk_track_ids(), 'csv', 'absolute')),
  });
  // The path over the plot: through each track's average (averages view) or first segment.
  const vertices: Array<[number, number]> = [];
  if (current) {
    for (const id of walk_track_ids()) {
      const i = point_index(id, -1);
      if (i >= 0) vertices.push([current.xy[2 * i], current.xy[2 * i + 1]]);
    }
  }
  scatter.set_overlay(vertices.length >= 2 ? [{ vertices, colour: [1, 0.55, 0.1, 0.95] }] : []);
  sync_side();
}

function sync_side() {
  curation.hidden = selection_root.hidden && neighbours_root.hidden && walk_root.hidden && sequence_audio.hidden;
  side.hidden = curation.hidden && $('panel').hidden;
}

function sync_curate() {
  if (!summary) return;
  const { space } = resolve_space(state);
  const n = current?.header.n ?? 0;
  const groups = current?.group_tracks?.length ?? 0;
  const shown = filter_result ? `${filter_result.tracks} of ${groups} tracks · ${filter_result.points.toLocaleString()} of ${n.toLocaleString()} points`
    : `${groups} tracks · ${n.toLocaleString()} points`;
  const goal = parse_goal(state.goal);
  const goal_spaces: Array<[string, string]> = [['', 'auto'], ...named_spaces(state, space).map((sp) => [sp.name, sp.name] as [string, string])];
  if (state.goalSpace && !goal_spaces.some(([v]) => v === state.goalSpace)) goal_spaces.push([state.goalSpace, state.goalSpace]);
  curate_controls.sync(state, {
    tracks: [...tracks.values()], goal_spaces, filter_count: shown, filter_problem,
    goal_problem: goal.problem, can_walk: state.selected !== null && goal.goal.length > 0 && !!space,
  });
  scatter.set_drag(state.drag);
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
  // Curation hooks (tests/curate.test.mjs).
  categories: () => (category ? Array.from(category) : null),
  legend: () => legend,
  hovered: () => (hovered >= 0 && current?.track ? { index: hovered, track: current.track[hovered], segment: current.segment![hovered] } : null),
  space: () => resolve_space(state).space?.name ?? null,
  stop_audio: () => { player.stop(); stop_tracks(); },
  highlighted: () => scatter.highlighted(),
  filtered: () => scatter.filtered(),
  selection: () => (selection ? [...selection] : null),
  neighbours: () => (neighbours ? neighbours.map((n) => ({ ...n, index: point_index(n.track, n.segment) })) : null),
  point_index: (track: number, segment: number) => point_index(track, segment),
  sequence: () => ({ tracks: [...sequence.tracks], at: sequence.at, plays: [...sequence.plays] }),
  filter_result: () => (filter_result ? { tracks: filter_result.tracks, points: filter_result.points } : null),
  taggram: () => ({ rows: taggram.rows(), cell: (s: number) => taggram.cell(s), hovered: taggram.hovered(), playhead_x: taggram.playhead_x() }),
  taggram_cell: (s: number, row = 0) => taggram.cell(s, row),
  walk_overlay: () => walk_track_ids().map((id) => point_index(id, -1)),
  audio_state: () => player.state(),
  camera: () => scatter.camera(),
  axes_key: () => axes_key,
  clusters: () => (current?.header.clusters ? structuredClone(current.header.clusters) : null),
  to_screen: (x: number, y: number) => scatter.to_screen(x, y),
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
