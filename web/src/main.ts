// main.ts — wires the app: state (URL) -> panes (each a worker + renderer, pane.ts) and
// pane events -> tooltip, side panel, curation lists, audio. Owns no heavy work: the workers
// stream and prepare arrays, regl-scatterplot draws them. In compare mode two panes show the
// same tracks, each its own space/projection; hover, selection, neighbours and walks show in
// both, and pan/zoom may be linked.
import {
  get_knn, get_summary, get_track, get_tracks, get_vectors, get_walk, playlist_url, token_from_url, with_token,
  type Neighbour, type Summary, type Track, type TrackDetail, type Walk,
} from './api';
import { create_audio_player } from './audio';
import { parse_goal, selection_keys, selection_rows } from './curate';
import { create_pane, type Emphasis, type Pane, type PaneHost } from './pane';
import { first_raw_update_per_frame } from './scatter';
import { colour_dims, fix_state, goal_space_of, named_spaces, resolve_space, tag_space } from './spaces';
import { decode_state, default_state, encode_state, pane_state, pane_view, patch_state, type ViewState } from './state';
import { create_compare_controls } from './ui/compare';
import { create_controls } from './ui/controls';
import { create_curate_controls } from './ui/curate';
import { render_neighbours, render_selection, render_walk } from './ui/lists';
import { create_taggram } from './ui/taggram';
import { render_panel } from './ui/panel';
import { hide_tooltip, show_tooltip } from './ui/tooltip';
import './style.css';

const PREFETCH_RADIUS = 0.04;       // NDC units (at zoom 1) around a hovered point
const PREFETCH_NEIGHBOURS = 8;
const WARM_MAX_POINTS = 2000;       // a view with more is not even listed for warming

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const token = token_from_url(location.search);
const player = create_audio_player(token);
// The listening page needs the same token (and nothing else of this page's URL).
$<HTMLAnchorElement>('listening-link').href = `/listening.html${location.search}`;

let summary: Summary;
let tracks = new Map<number, Track>();
let state: ViewState = default_state();
let started = false;                  // the URL's state is read: from now on changes are written back
let hovered: { pane: Pane; index: number } | null = null;
let leader: Pane | null = null;       // the pane the pointer is in: its camera moves a linked other
let pointer: [number, number] = [0, 0];
const track_details = new Map<number, Promise<TrackDetail>>();
const vectors_cache = new Map<string, Promise<number[][] | null>>();

// Answers of the server for the state's knnOf and walkFrom.
let knn_key = '';
let neighbours: Neighbour[] | null = null;
let neighbours_problem: string | null = null;
let neighbour_playing = -1;
let latest_emphasis: 'highlight' | 'neighbours' = 'neighbours'; // the later one wins
let walk_key = '';
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

// --- panes -----------------------------------------------------------------------------

const host: PaneHost = {
  token,
  summary: () => summary,
  tracks: () => tracks,
  emphasis,
  pointover: on_pointover,
  pointout: on_pointout,
  select: on_select,
  lasso: on_lasso,
  view: on_view,
  fitted: (pane) => (pane.k === 0 ? state.camera : state.second.camera) === null,
  activate(pane) {
    if (state.compare && state.active !== pane.k) update({ active: pane.k });
  },
  loaded(pane) {
    if (pane.k === state.active) sync_controls();
    pane.show_path(walk_track_ids());
    pane.emphasise();
    sync_curate();
    warm_audio_soon();
  },
  filtered: () => sync_curate(),
  busy: sync_busy,
};

const second_root = document.createElement('main');
second_root.id = 'plot-2';
second_root.hidden = true;
$('plot').after(second_root);
const panes: [Pane, Pane] = [create_pane(0, $('plot'), host), create_pane(1, second_root, host)];
panes[1].set_enabled(false);
for (const pane of panes) {
  const track_pointer = (e: PointerEvent) => {
    leader = pane;
    const r = pane.root.getBoundingClientRect();
    pointer = [e.clientX - r.left, e.clientY - r.top];
  };
  pane.root.addEventListener('pointermove', track_pointer);
  // A hover can come from a raw update (scatter.ts): the tooltip goes where the pointer is.
  // The same raw updates as there (track_pointer reads the layout: not several a frame).
  pane.root.addEventListener('pointerrawupdate', first_raw_update_per_frame(track_pointer), { capture: true });
  pane.root.addEventListener('wheel', () => { leader = pane; }, { capture: true, passive: true });
}

const live_panes = () => panes.filter((p) => p.enabled());
const active_pane = () => panes[state.active];

const controls = create_controls($('controls'), (patch) => update(patch), () => {
  const pane = active_pane();
  const reset = state.compare && state.linked ? panes : [pane];
  for (const p of reset) p.reset_camera();
  if (reset.includes(panes[0])) state.camera = null; // the fitted view needs no camera in the URL
  if (reset.includes(panes[1])) state.second = { ...state.second, camera: null };
  save_url();
});
const compare_controls = create_compare_controls($('controls'), (patch) => update(patch));
const curate_controls = create_curate_controls($('controls'), { change: (patch) => update(patch), walk: start_walk });

function sync_busy() {
  const busy = live_panes().some((p) => p.busy());
  document.body.dataset.busy = busy ? '1' : '';
  document.body.dataset.draws = String(draws());
}

const draws = () => panes.reduce((sum, p) => sum + p.draws(), 0);

// The state as the active pane sees it (what the controls show and edit).
const active_state = () => pane_state(state, state.active);
const space_of = (s: ViewState) => resolve_space(summary, s).space;

// --- state changes ---------------------------------------------------------------------

// Both panes made consistent with the collection (a shared URL may name what is not here).
function fix(s: ViewState) {
  fix_state(summary, s);
  const second = pane_state(s, 1);
  fix_state(summary, second);
  s.second = pane_view(second);
  if (!s.compare) s.active = s.knnPane = 0;
}

// A user change: the pane fields go to the active pane, the rest is shared.
function update(patch: Partial<ViewState>) {
  const before = state;
  if (patch.compare && !state.compare) {
    // A new second pane starts as the first one shows now (camera fitted).
    state = { ...state, second: { ...pane_view(state), camera: null } };
  }
  state = patch_state(state, patch, 'active' in patch || 'compare' in patch ? 0 : state.active);
  fix(state);
  apply(before);
}

function apply(before: ViewState | null) {
  panes[1].set_enabled(state.compare);
  document.body.classList.toggle('compare', state.compare);
  for (const pane of live_panes()) {
    pane.update(pane_state(state, pane.k), before && (pane.k === 0 || before.compare) ? pane_state(before, pane.k) : null);
    pane.set_active(state.compare && state.active === pane.k);
    pane.set_title(state.compare ? pane_title(pane) : null);
  }
  if (state.compare && state.linked && before && (!before.linked || !before.compare)) {
    const from = active_pane(); // linking: the other pane takes this one's view
    panes[1 - from.k].set_camera(from.camera());
  }
  sync_controls();
  player.set_mode(state.audio);
  request_neighbours();
  request_walk();
  if (!before || before.selected !== state.selected || before.taggram !== state.taggram) void show_selected();
  if (before && before.highlight !== state.highlight) latest_emphasis = 'highlight';
  if (before && before.knnOf !== state.knnOf) latest_emphasis = 'neighbours';
  if (!before || before.selection !== state.selection) show_selection();
  emphasise_all();
  sync_curate();
  sync_busy();
  save_url();
}

function pane_title(pane: Pane): string {
  const s = pane_state(state, pane.k);
  const space = space_of(s);
  const method = { original: 'original axes', pca: 'PCA', 'std-pca': 'STD-PCA', tsne: 't-SNE', umap: 'UMAP' }[s.method];
  return `${pane.k + 1} · ${space?.name ?? s.model} · ${method}${state.active === pane.k ? ' · editing' : ''}`;
}

function sync_controls() {
  if (!summary) return;
  const s = active_state();
  const space = space_of(s);
  compare_controls.sync(state);
  controls.sync(s, { summary, space, colour_dims: colour_dims(summary, s, space), explained_variance_ratio: active_pane().explained_ratio() });
}

let save_timer = 0;
function save_url() {
  if (!started) return; // (a renderer's first view event must not overwrite the URL before it is read)
  clearTimeout(save_timer);
  save_timer = window.setTimeout(async () => {
    const hash = await encode_state(state);
    history.replaceState(null, '', `${location.pathname}${location.search}#${hash}`);
  }, 150);
}

// A pane's camera moved: kept in the URL; with linked panes, the pane the user moves leads.
function on_view(pane: Pane, camera: [number, number, number]) {
  if (!started) return;
  const fitted = pane.home();
  // (the renderer keeps the camera in float32)
  const home = Math.abs(camera[0]) < 1e-6 && Math.abs(camera[1]) < 1e-6 && Math.abs(camera[2] - fitted[2]) < 1e-6;
  const kept = home ? null : camera; // the fitted view needs no camera in the URL
  if (pane.k === 0) state.camera = kept;
  else state.second = { ...state.second, camera: kept };
  if (state.compare && state.linked && (leader === pane || leader === null)) {
    const other = panes[1 - pane.k];
    const c = other.camera();
    if (Math.abs(c[0] - camera[0]) + Math.abs(c[1] - camera[1]) + Math.abs(c[2] - camera[2]) > 1e-9) other.set_camera(camera);
  }
  save_url();
  warm_audio_soon();
}

// --- emphasis: what stands out in every pane ---------------------------------------------

// When nothing is hovered, first that applies: the lasso selection, the neighbours of the
// clicked point, the highlight (artist / album / track), the selected track.
function emphasis(): Emphasis {
  if (state.selection) return { kind: 'selection', runs: state.selection };
  const near = neighbour_keys();
  const h = state.highlight;
  const highlighting = !!(h.artist || h.album || h.track !== null);
  if (near && (!highlighting || latest_emphasis === 'neighbours')) return { kind: 'points', keys: near };
  if (highlighting) {
    return {
      kind: 'tracks',
      has: (id) => {
        const t = tracks.get(id);
        return (h.track !== null && id === h.track) || (!!h.artist && t?.artist === h.artist) || (!!h.album && t?.album === h.album);
      },
    };
  }
  if (state.selected !== null) {
    const selected = state.selected;
    return { kind: 'tracks', has: (id) => id === selected };
  }
  return null;
}

function emphasise_all() {
  for (const pane of live_panes()) pane.emphasise();
}

function neighbour_keys(): Array<[number, number]> | null {
  if (!neighbours || !state.knnOf) return null;
  return [state.knnOf, ...neighbours.map((n) => [n.track, n.segment] as [number, number])];
}

// --- pointer, tooltip, selection, audio ------------------------------------------------

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

function prefetch_near(pane: Pane, index: number) {
  const current = pane.current();
  if (!current?.track) return;
  const track = current.track, segment = current.segment!;
  const wishes: Array<[number, number]> = [];
  const t = track[index], s = audible_segment(t, segment[index]);
  for (const d of [1, -1, 2]) if (s + d >= 0 && s + d < (tracks.get(t)?.segments ?? 0)) wishes.push([t, s + d]);
  for (const j of pane.nearby(index, PREFETCH_RADIUS, PREFETCH_NEIGHBOURS)) wishes.push([track[j], audible_segment(track[j], segment[j])]);
  player.prefetch(wishes);
}

// At idle after a draw or a camera move: when the segments in view fit the player's warm
// budget, all of them are fetched and decoded (a hover then plays from memory); otherwise only
// the prefetch near the pointer does.
let warm_pending = false;
function warm_audio_soon() {
  if (warm_pending || state.audio === 'off') return;
  warm_pending = true;
  const run = () => {
    warm_pending = false;
    const wishes: Array<[number, number]> = [];
    const seen = new Set<string>();
    for (const pane of live_panes()) {
      const current = pane.current();
      const inside = current?.track ? pane.visible(WARM_MAX_POINTS) : null;
      if (!inside) continue;
      for (const i of inside) {
        const t = current!.track![i], s = audible_segment(t, current!.segment![i]);
        if (!seen.has(`${t}/${s}`)) { seen.add(`${t}/${s}`); wishes.push([t, s]); }
      }
    }
    player.warm(wishes);
  };
  if (typeof requestIdleCallback === 'function') requestIdleCallback(run, { timeout: 1000 });
  else setTimeout(run, 200);
}

// Hover: the track stands out in every pane; tooltip and sound from the hovered pane.
async function on_pointover(pane: Pane, index: number) {
  const current = pane.current();
  if (!current?.track) return;
  hovered = { pane, index };
  const track_id = current.track[index], segment = current.segment![index];
  for (const p of live_panes()) p.hover_track(track_id);
  if (track_id === state.selected) taggram.set_hovered(segment >= 0 ? segment : null);
  if (state.audio === 'hover') void player.play_segment(track_id, audible_segment(track_id, segment)).catch(() => {});
  if (state.audio !== 'off') prefetch_near(pane, index);
  const tip = pane.dom.tooltip;
  const base = { track: tracks.get(track_id), track_id, segment, time: null, top_tags: null };
  show_tooltip(tip, pointer[0], pointer[1], base);
  const s = pane_state(state, pane.k);
  const space = tag_space(summary, s, space_of(s));
  const [detail, values] = await Promise.all([
    track_detail(track_id).catch(() => null),
    space ? track_vectors(track_id, space.name) : Promise.resolve(null),
  ]);
  if (hovered?.pane !== pane || hovered.index !== index) return;
  let top_tags: Array<[string, number]> | null = null;
  if (values && space) {
    const row = segment >= 0 ? values[segment]
      : values[0]?.map((_, d) => values.reduce((sum, v) => sum + v[d], 0) / values.length);
    if (row) top_tags = row.map((v, d) => [space.dim_names[d] ?? String(d), v] as [string, number]).sort((a, b) => b[1] - a[1]).slice(0, 3);
  }
  show_tooltip(tip, pointer[0], pointer[1], { ...base, time: segment >= 0 ? detail?.segment_times[segment] ?? null : null, top_tags });
}

function on_pointout(pane: Pane) {
  if (hovered?.pane === pane) hovered = null;
  taggram.set_hovered(null);
  hide_tooltip(pane.dom.tooltip);
  for (const p of live_panes()) p.hover_track(null);
}

// A click on a point selects its track and lists its neighbours (in that pane's space).
function on_select(pane: Pane, index: number | null) {
  const current = pane.current();
  if (index === null || !current?.track) {
    if (state.selected !== null || state.knnOf !== null) update({ selected: null, knnOf: null });
    else emphasise_all();
    return;
  }
  const track_id = current.track[index];
  if (state.audio === 'click') void player.play_segment(track_id, audible_segment(track_id, current.segment![index])).catch(() => {});
  const k = state.compare ? pane.k : 0;
  update({ selected: track_id, knnOf: [track_id, current.segment![index]], knnPane: k, selection: null, active: k });
}

async function show_selected() {
  const id = state.selected;
  const panel = $('panel');
  if (taggram_track?.id !== id) taggram.show(null); // another track's rows must not stand in while this one loads
  if (id === null) {
    render_panel(panel, null, token, { play_segment() {}, close() {} });
    taggram_track = null;
    emphasise_all();
    sync_side();
    return;
  }
  const detail = await track_detail(id).catch(() => null);
  if (state.selected !== id) return;
  render_panel(panel, detail, token, {
    play_segment: (t, s) => { player.unlock(); void player.play_segment(t, s).catch(() => {}); },
    close: () => update({ selected: null, knnOf: null }),
  });
  emphasise_all();
  sync_side();
  taggram_track = detail;
  if (!detail) return;
  // The taggram: tag or mood activations of this track over time.
  const s = active_state();
  const spaces = named_spaces(summary, s, space_of(s));
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

// --- curation: lasso selection, neighbours, walk ------------------------------------------

// A lasso / box in a pane: its points, as (track, segment) runs the pane's worker made,
// become the selection of both.
function on_lasso(pane: Pane, runs: number[][] | null) {
  update({ selection: runs, active: state.compare ? pane.k : 0 });
}

function show_selection() {
  const rows = state.selection ? selection_rows(state.selection) : null;
  const view = rows
    ? { rows, points: rows.reduce((sum, r) => sum + r.count, 0), playing: sequence.at >= 0 ? sequence.tracks[sequence.at] : null }
    : null;
  render_selection(selection_root, view, tracks, {
    play: () => play_tracks(rows!.map((r) => r.track)),
    stop: stop_tracks,
    clear: () => update({ selection: null }),
    play_track: (id) => play_tracks([id]),
    m3u8: (paths) => download(playlist_url(rows!.map((r) => r.track), 'm3u8', paths, rows!.map((r) => r.count))),
    csv: () => download(playlist_url(rows!.map((r) => r.track), 'csv', 'absolute', rows!.map((r) => r.count))),
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

// The state as the clicked pane sees it: its space gives the neighbours and the walk (so
// panning or editing the other pane does not change them).
const clicked_state = () => pane_state(state, state.compare ? state.knnPane : 0);

// Neighbours in the full space of the pane clicked.
function request_neighbours() {
  const space = space_of(clicked_state());
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

function show_neighbours() {
  const of = state.knnOf;
  render_neighbours(neighbours_root, of ? {
    of: { track: of[0], segment: of[1] }, metric: state.knnMetric, neighbours, problem: neighbours_problem, playing: neighbour_playing,
  } : null, tracks, {
    play_all: () => play_neighbours(0),
    play: (k) => play_neighbours(k, true),
    close: () => update({ knnOf: null }),
  });
  emphasise_all();
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

// "Walk from selected track": the walk is state (walkFrom), so the URL shows it again.
function start_walk() {
  if (state.selected !== null) update({ walkFrom: state.selected });
}

// A goal-guided walk from walkFrom in the clicked pane's space (again when the goal changes).
function request_walk() {
  const s = clicked_state();
  const space = space_of(s);
  const { goal, problem } = parse_goal(state.goal);
  const gs = goal_space_of(summary, s, space);
  const from = state.walkFrom;
  const key = from !== null && space ? JSON.stringify([space.name, from, state.goal, gs, state.walkSteps, state.knnMetric]) : '';
  if (key === walk_key) return;
  walk_key = key;
  if (from === null || !space) { walk = null; show_walk(); return; }
  const text = state.goal;
  walk = { goal: text, walk: null, problem: problem ?? (!goal.length || !gs ? 'Give a goal first (e.g. +happy -vocals).' : null) };
  show_walk();
  if (walk.problem || !gs) return;
  get_walk(space.name, from, goal, gs, state.walkSteps, 15, state.knnMetric, token).then((w) => {
    if (walk_key !== key) return;
    walk = { goal: text, walk: w, problem: null };
    show_walk();
  }, (e: Error) => {
    if (walk_key !== key) return;
    walk = { goal: text, walk: null, problem: e.message };
    show_walk();
  });
}

function walk_track_ids(): number[] {
  const w = walk?.walk;
  return w ? [w.start.track, ...w.path.map((p) => p.track)] : [];
}

function show_walk() {
  render_walk(walk_root, walk, tracks, {
    play: () => play_tracks(walk_track_ids()),
    close: () => update({ walkFrom: null }),
    m3u8: (paths) => download(playlist_url(walk_track_ids(), 'm3u8', paths)),
    csv: () => download(playlist_url(walk_track_ids(), 'csv', 'absolute')),
  });
  // The path over every plot: through each track's average (averages view) or first segment.
  for (const pane of live_panes()) pane.show_path(walk_track_ids());
  sync_side();
}

function sync_side() {
  curation.hidden = selection_root.hidden && neighbours_root.hidden && walk_root.hidden && sequence_audio.hidden;
  side.hidden = curation.hidden && $('panel').hidden;
}

function sync_curate() {
  if (!summary) return;
  const s = active_state();
  const pane = active_pane();
  const space = space_of(s);
  const current = pane.current();
  const filter_result = pane.filter_result();
  const n = current?.header.n ?? 0;
  const groups = current?.group_tracks?.length ?? 0;
  const shown = filter_result ? `${filter_result.tracks} of ${groups} tracks · ${filter_result.points.toLocaleString()} of ${n.toLocaleString()} points`
    : `${groups} tracks · ${n.toLocaleString()} points`;
  const goal = parse_goal(state.goal);
  const goal_spaces: Array<[string, string]> = [['', 'auto'], ...named_spaces(summary, s, space).map((sp) => [sp.name, sp.name] as [string, string])];
  if (state.goalSpace && !goal_spaces.some(([v]) => v === state.goalSpace)) goal_spaces.push([state.goalSpace, state.goalSpace]);
  curate_controls.sync(s, {
    tracks: [...tracks.values()], goal_spaces, filter_count: shown, filter_problem: pane.filter_problem(),
    goal_problem: goal.problem, can_walk: state.selected !== null && goal.goal.length > 0 && !!space,
  });
  for (const p of panes) p.set_drag(state.drag);
}

for (const type of ['pointerdown', 'keydown']) document.addEventListener(type, () => player.unlock(), { once: true });

window.addEventListener('hashchange', async () => {
  const s = await decode_state(location.hash);
  if (!s) return;
  const before = state;
  state = s;
  for (const pane of panes) pane.restore_camera_next();
  fix(state);
  apply(before);
});

// Test and benchmark hooks (web/tests, bench/web-bench): read-only views of the app. The
// top-level ones look at the first pane; pane(k) gives the same for pane k (0 or 1).
declare global {
  interface Window { __tagscape: Record<string, unknown> }
}
function pane_hooks(pane: Pane) {
  const cur = () => pane.current();
  return {
    state: () => pane.state() && structuredClone(pane.state()),
    points: () => cur()?.header.n ?? 0,
    draws: () => pane.draws(),
    point: (i: number) => { const c = cur(); return c?.track ? { track: c.track[i], segment: c.segment![i], at: pane.screen_position(i) } : null; },
    // Screen position (CSS px, relative to the canvas) of the first point of a track.
    point_of_track: (track: number) => {
      const c = cur();
      if (!c?.track) return null;
      const i = c.track.indexOf(track);
      return i < 0 ? null : { index: i, segment: c.segment![i], at: pane.screen_position(i) };
    },
    track_points: (track: number) => pane.track_points(track),
    point_index: (track: number, segment: number) => pane.point_index(track, segment),
    categories: () => { const c = pane.category(); return c ? Array.from(c) : null; },
    legend: () => pane.legend(),
    space: () => pane.space()?.name ?? null,
    highlighted: () => pane.highlighted(),
    filtered: () => pane.filtered(),
    filter_result: () => { const f = pane.filter_result(); return f ? { tracks: f.tracks, points: f.points } : null; },
    // The selection's points here (indices).
    selection: () => (state.selection ? selection_indices(pane) : null),
    walk_overlay: () => walk_track_ids().map((id) => pane.point_index(id, -1)),
    camera: () => pane.camera(),
    home: () => pane.home(),
    timing: () => pane.timing(),
    axes_key: () => pane.axes_key(),
    clusters: () => pane.clusters(),
    to_screen: (x: number, y: number) => pane.to_screen(x, y),
    busy: () => pane.busy(),
  };
}

// (For the hooks: the selection's points in a pane, found key by key, apart from pane.ts's merge.)
function selection_indices(pane: Pane): number[] {
  const out = new Set<number>();
  for (const [t, s] of selection_keys(state.selection ?? [])) {
    if (s < 0 && pane.current()?.segment?.[0] !== -1) for (const i of pane.track_points(t)) out.add(i);
    else { const i = pane.point_index(t, s); if (i >= 0) out.add(i); }
  }
  return [...out].sort((a, b) => a - b);
}

window.__tagscape = {
  ...pane_hooks(panes[0]),
  pane: (k: 0 | 1) => pane_hooks(panes[k]),
  state: () => structuredClone(state),
  draws,
  plays: () => player.history(),
  hovered: () => {
    const c = hovered?.pane.current();
    return hovered && c?.track ? { pane: hovered.pane.k, index: hovered.index, track: c.track[hovered.index], segment: c.segment![hovered.index] } : null;
  },
  active: () => state.active,
  stop_audio: () => { player.stop(); stop_tracks(); },
  forget_audio: () => player.forget(),
  neighbours: () => (neighbours ? neighbours.map((n) => ({ ...n, index: panes[0].point_index(n.track, n.segment) })) : null),
  sequence: () => ({ tracks: [...sequence.tracks], at: sequence.at, plays: [...sequence.plays] }),
  taggram: () => ({ rows: taggram.rows(), cell: (s: number) => taggram.cell(s), hovered: taggram.hovered(), playhead_x: taggram.playhead_x() }),
  taggram_cell: (s: number, row = 0) => taggram.cell(s, row),
  audio_state: () => player.state(),
  walk: () => (walk?.walk ? structuredClone(walk.walk) : null),
};

// --- start -----------------------------------------------------------------------------

function show_start_problem(text: string) {
  const m = panes[0].dom.message;
  m.replaceChildren(Object.assign(document.createElement('p'), { textContent: text }));
  m.hidden = false;
}

async function start() {
  panes[0].dom.status.textContent = 'Loading the collection…';
  document.body.dataset.busy = '1';
  try {
    summary = await get_summary(token);
    tracks = new Map((await get_tracks(token)).map((t) => [t.id, t]));
  } catch (e) {
    panes[0].dom.status.textContent = '';
    document.body.dataset.busy = '';
    show_start_problem(`Cannot reach the tagscape server: ${(e as Error).message}`);
    return;
  }
  state = (await decode_state(location.hash)) ?? default_state();
  started = true;
  fix(state);
  apply(null);
}

void start();
