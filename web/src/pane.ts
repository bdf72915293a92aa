// pane.ts — one plot: its DOM (canvas, status, legend, axis and cluster labels over it), its
// worker (points stream, colours, filter), its renderer and the data it shows now. A pane is
// given a ViewState (the app's state as this pane sees it, state.ts pane_state) and reports
// pointer events to the app; what stands out (a selection, neighbours, a hovered track in the
// other pane) is the app's business: it hands the pane an Emphasis, the pane finds the points.
import KDBush from 'kdbush';
import { get_axes, type Cluster, type Summary, type Track } from './api';
import { TRACK_PALETTE, VALUE_PALETTE } from './colour';
import { metadata_filter_active, parse_thresholds, run_segments, tracks_passing } from './curate';
import type { ColourMessage, FilterMessage, FromWorker, PointsMessage, ToWorker } from './protocol';
import { create_scatter, type ScatterPoints } from './scatter';
import { colour_query, named_spaces, points_query, resolve_space, type Resolved } from './spaces';
import type { DragMode, ViewState } from './state';
import { render_axes } from './ui/axes';
import { create_cluster_labels, place_clusters } from './ui/clusters';
import { render_legend } from './ui/legend';
import { render_message } from './ui/message';

const PROGRESS_PALETTE = ['#9aa4b1'];

// What to emphasise when nothing is hovered: points by (track, segment), or whole tracks.
export type Emphasis =
  | { kind: 'points'; keys: Array<[number, number]> }
  // A lasso selection as the state keeps it (curate.ts selection_runs); an average in it
  // stands for its whole track on a segments plot.
  | { kind: 'selection'; runs: number[][] }
  | { kind: 'tracks'; has(track: number): boolean }
  | null;

export interface PaneHost {
  token: string | null;
  summary(): Summary;
  tracks(): Map<number, Track>;
  emphasis(): Emphasis;
  pointover(pane: Pane, index: number): void;
  pointout(pane: Pane): void;
  select(pane: Pane, index: number | null): void;
  lasso(pane: Pane, runs: number[][] | null): void; // a lasso's points as curate.ts selection_runs; null: none
  view(pane: Pane, camera: [number, number, number]): void;
  activate(pane: Pane): void;            // a pointer went down on the pane
  fitted(pane: Pane): boolean;           // the pane shows the fitted view (no camera in the state)
  loaded(pane: Pane): void;              // a final layout arrived (or the pane was cleared)
  filtered(pane: Pane): void;            // the filter result (or its problem) changed
  busy(): void;                          // the pane's busy flag changed
}

export type Pane = PaneApi;

// Builds the pane's DOM inside `root`; element ids end in `suffix` ('' for the first pane).
function pane_dom(root: HTMLElement, suffix: string) {
  const make = (tag: string, id: string, className: string) => {
    const e = document.createElement(tag);
    e.id = id + suffix;
    e.className = className;
    return e;
  };
  const canvas = make('canvas', 'canvas', 'canvas') as HTMLCanvasElement;
  const dom = {
    canvas,
    clusters: make('div', 'cluster-labels-layer', 'cluster-labels'),
    status: make('div', 'status', 'status'),
    message: make('div', 'message', 'message'),
    tooltip: make('div', 'tooltip', 'tooltip'),
    legend: make('div', 'legend', 'legend'),
    variance: make('div', 'variance', 'variance'),
    axis_x: make('div', 'axis-x-label', 'axis-label x'),
    axis_y: make('div', 'axis-y-label', 'axis-label y'),
    title: make('div', 'pane-title', 'pane-title'),
  };
  dom.status.setAttribute('role', 'status');
  dom.status.setAttribute('aria-live', 'polite');
  dom.message.hidden = dom.tooltip.hidden = dom.axis_x.hidden = dom.axis_y.hidden = dom.title.hidden = true;
  root.classList.add('pane');
  root.replaceChildren(...Object.values(dom));
  return dom;
}

export function create_pane(k: 0 | 1, root: HTMLElement, host: PaneHost) {
  const dom = pane_dom(root, k === 0 ? '' : '-2');
  const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
  const token = host.token;

  let state: ViewState | null = null;   // what the pane shows (pane_state of the app's)
  let resolved: Resolved = { space: null, problem: null };
  let data_key = '';                    // the points query the plot shows (or is loading)
  let colour_key = '';
  let points_id = 0, colour_id = 0, filter_id = 0, lasso_id = 0;
  let current: PointsMessage | null = null; // the last final frame
  let current_index: KDBush | null = null;
  let category: Float32Array | null = null;
  let palette: readonly string[] = TRACK_PALETTE; // what `category` indexes
  let legend: ColourMessage['legend'] | null = null;
  let explained_ratio: number[] | null = null;
  let restore_camera = true;            // apply state.camera once, after the next layout
  let hovered_track: number | null = null; // a track hovered in either pane
  let filter_key = '';
  let filter_result: FilterMessage | null = null;
  let filter_problem: string | null = null;
  let axes_key = '';
  let busy = false;
  let draws = 0;
  let enabled = true;
  // Bench hooks (bench/web-bench.mjs): when the request went out, when its final frame reached
  // this thread, when that frame's first draw finished.
  const timing = { requested_ms: 0, data_ms: 0, painted_ms: 0 };

  let pane_api!: PaneApi; // made at the end; handed to the host's callbacks (which come later)
  const scatter = create_scatter(dom.canvas, {
    // The worker finds the points inside (its kd-tree over the same coordinates), among those shown.
    lasso: (polygon) => {
      if (!current) return;
      worker.postMessage({ type: 'lasso', id: ++lasso_id, polygon, visible: filter_result?.visible ?? null } satisfies ToWorker, [polygon.buffer]);
    },
    pointover: (i) => { if (current?.track) host.pointover(pane_api, i); },
    pointout: () => host.pointout(pane_api),
    select: (i) => host.select(pane_api, i),
    view(camera) {
      place_cluster_labels();
      host.view(pane_api, camera);
    },
  });
  const cluster_labels = create_cluster_labels(dom.clusters);
  const place_cluster_labels = () => cluster_labels.place((x, y) => scatter.to_screen(x, y));
  // A resized pane (compare mode on/off, the side column) keeps showing everything if it did.
  new ResizeObserver(() => {
    if (current && host.fitted(pane_api)) scatter.reset();
    place_cluster_labels();
  }).observe(root);
  root.addEventListener('pointerdown', () => host.activate(pane_api), { capture: true });

  function post(message: ToWorker) {
    worker.postMessage(message);
  }

  function set_status(text: string, is_busy = false) {
    dom.status.textContent = text;
    root.dataset.busy = is_busy ? '1' : '';
    if (busy !== is_busy) { busy = is_busy; host.busy(); }
  }

  function show_message(text: string | null, command?: string) {
    render_message(dom.message, text, command ? [command] : []);
  }

  function clear() {
    post({ type: 'cancel' });
    scatter.clear();
    cluster_labels.show(null);
    current = current_index = null;
    data_key = colour_key = filter_key = axes_key = '';
    filter_result = null;
    render_legend(dom.legend, null);
    render_axes(dom.axis_x, dom.axis_y, null);
    dom.variance.textContent = '';
  }

  // --- state -> requests ---------------------------------------------------------------

  function update(s: ViewState, before: ViewState | null) {
    if (!enabled) return;
    state = s;
    const summary = host.summary();
    resolved = resolve_space(summary, s);
    const { space, problem, command } = resolved;
    show_message(problem, command);
    cluster_labels.set_visible(s.clusterLabels);
    if (!space) {
      clear();
      set_status(problem ? 'Nothing to show' : '');
      host.loaded(pane_api);
      return;
    }
    const query = points_query(s, space);
    const key = JSON.stringify(query);
    const ckey = key + '|' + s.colour + (s.colour === 'goal' ? `|${s.goal}|${s.goalSpace}` : '');
    if (key !== data_key) {
      data_key = key;
      colour_key = ckey;
      current = null;
      category = null;
      cluster_labels.show(null);
      filter_key = '';
      filter_result = null;
      scatter.filter(null);
      if (before) restore_camera = false;
      points_id++;
      set_status(`Loading ${space.name} (${s.method})…`, true);
      timing.requested_ms = performance.now();
      timing.data_ms = timing.painted_ms = 0;
      post({ type: 'points', id: points_id, token, query, equal_aspect: s.method !== 'original' });
    } else if (ckey !== colour_key) {
      colour_key = ckey;
      request_colours();
    } else if (before && before.view !== s.view && current) {
      draw_current(false);
    }
    request_filter();
    request_axes();
    show_variance();
  }

  function request_colours() {
    if (!current || !state || !resolved.space) return;
    const colour = colour_query(host.summary(), state, resolved.space);
    colour_id++;
    if (!colour) {
      category = track_categories(current);
      palette = TRACK_PALETTE;
      legend = { kind: 'track', tracks: current.group_tracks!.length };
      render_legend(dom.legend, legend);
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

  // Tracks N, seed and the filter are shared by the panes; each pane filters its own points.
  function request_filter() {
    if (!current?.track || !state) return;
    const s = state;
    const summary = host.summary();
    const parsed = parse_thresholds(s.filter.tags, named_spaces(summary, s, resolved.space)
      .map((sp) => ({ name: sp.name, dims: sp.dim_names, is_moods: sp.kind === 'moods' })));
    const key = JSON.stringify([data_key, s.filter, s.sparsity]);
    if (key === filter_key) return;
    filter_key = key;
    filter_problem = parsed.problem; // (a failed request's message stays until the filter changes)
    filter_id++;
    const active = metadata_filter_active(s.filter) || parsed.thresholds.length > 0 || s.sparsity > 1;
    if (!active) {
      filter_result = null;
      scatter.filter(null);
      host.filtered(pane_api);
      return;
    }
    const allowed = metadata_filter_active(s.filter) ? tracks_passing(host.tracks().values(), s.filter) : null;
    post({ type: 'filter', id: filter_id, token, filter: { tracks: s.tracks, seed: s.seed, allowed, thresholds: parsed.thresholds, sparsity: s.sparsity } });
  }

  // PCA axis labels: the server correlates the shown components with the tag space's dims over
  // the same points (the request runs alongside the points request).
  function request_axes() {
    const s = state!;
    const pca = s.method === 'pca' || s.method === 'std-pca';
    const query = resolved.space && pca ? points_query(s, resolved.space) : null;
    const key = query ? JSON.stringify(query) : '';
    if (key === axes_key) return;
    axes_key = key;
    render_axes(dom.axis_x, dom.axis_y, null);
    if (!query) return;
    get_axes(query, token).then((axes) => {
      if (axes_key === key) render_axes(dom.axis_x, dom.axis_y, axes);
    }, (e: Error) => {
      if (axes_key === key) dom.axis_x.title = `No axis labels: ${e.message}`; // e.g. an imported space without tags
    });
  }

  function show_variance() {
    const r = explained_ratio;
    const s = state;
    if (!r || !s || !current || (s.method !== 'pca' && s.method !== 'std-pca')) { dom.variance.textContent = ''; return; }
    const pct = (i: number) => (r[i] !== undefined ? `${(r[i] * 100).toFixed(1)}%` : '?');
    dom.variance.textContent = `explained variance: X = PC${s.pcX + 1} ${pct(s.pcX)}, Y = PC${s.pcY + 1} ${pct(s.pcY)}`;
  }

  // --- worker -> drawing -----------------------------------------------------------------

  function scatter_points(p: PointsMessage): ScatterPoints {
    return { xy: p.xy, category, size: p.size, group: p.group, segment: p.segment, lines: p.lines, spatial_index: p.spatial_index };
  }

  function draw_current(transition: boolean) {
    if (!current || !state) return;
    const t0 = performance.now();
    void scatter.draw(scatter_points(current), { mode: state.view, palette }, transition).then(() => {
      draws++;
      if (!timing.painted_ms && timing.data_ms) timing.painted_ms = performance.now();
      show_highlight();
      place_cluster_labels();
      set_status(status_line(performance.now() - t0));
      host.busy();
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
    if (msg.id !== points_id || !state) return; // a superseded request
    if (msg.header.kind === 'progress') {
      set_status(`${msg.header.method}: iteration ${msg.header.iteration} of ${msg.header.of}…`, true);
      void scatter.draw({ xy: msg.xy, category: null, size: null, group: null, segment: null, lines: null, spatial_index: msg.spatial_index },
        { mode: 'segments', palette: PROGRESS_PALETTE }, true);
      return;
    }
    current = msg;
    timing.data_ms = performance.now();
    current_index = KDBush.from(msg.spatial_index);
    cluster_labels.show(msg.header.clusters ? place_clusters(msg.header.clusters, msg.bounds) : null);
    explained_ratio = msg.header.explained_variance_ratio ?? null;
    show_variance();
    if (msg.header.n === 0) show_message('No points: the space holds no vectors for these tracks.');
    const colour = resolved.space ? colour_query(host.summary(), state, resolved.space) : null;
    if (colour) {
      category = track_categories(msg); // first paint at once; the value colours follow
      palette = TRACK_PALETTE;
      draw_current(false);
    }
    request_colours();
    if (restore_camera && state.camera) scatter.set_camera(state.camera);
    else scatter.reset(); // the fitted view
    restore_camera = false;
    request_filter();
    host.loaded(pane_api);
  }

  worker.onmessage = (event: MessageEvent<FromWorker>) => {
    const msg = event.data;
    if (msg.type === 'points') on_points(msg);
    else if (msg.type === 'colours') {
      if (msg.id !== colour_id || !current || msg.category.length !== current.header.n) return;
      category = msg.category;
      palette = VALUE_PALETTE;
      legend = msg.legend;
      render_legend(dom.legend, legend);
      draw_current(false);
    } else if (msg.type === 'error') {
      if (msg.request === 'points' && msg.id === points_id) {
        scatter.clear();
        cluster_labels.show(null);
        current = null;
        set_status('');
        show_message(`Cannot show this view: ${msg.message}`);
        host.loaded(pane_api);
      } else if (msg.request === 'colour' && msg.id === colour_id) {
        set_status(`Colouring failed: ${msg.message}`);
      } else if (msg.request === 'filter' && msg.id === filter_id) {
        filter_problem = msg.message;
        host.filtered(pane_api);
      }
    } else if (msg.type === 'lasso') {
      if (msg.id !== lasso_id || msg.data !== current?.id) return;
      const inside = Array.from(msg.inside);
      // The selection the app is about to emphasise: its points here are these (no merge).
      if (msg.runs) points_memo = { keys: msg.runs, data: current, out: inside };
      host.lasso(pane_api, msg.runs);
    } else if (msg.type === 'filter') {
      if (msg.id !== filter_id) return;
      filter_result = msg;
      scatter.filter(msg.visible);
      host.filtered(pane_api);
    }
  };

  // --- points of tracks ------------------------------------------------------------------

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

  function track_points(track: number): number[] {
    const g = group_of(track);
    if (g === null || !current?.by_group) return [];
    return Array.from(current.by_group.subarray(current.group_offsets![g], current.group_offsets![g + 1]));
  }

  // The point of (track, segment) here, or -1. Segment -1 (an average) on a segments plot
  // means the track's first segment; a segment on an averages plot means the track's average.
  function point_index(track: number, segment: number): number {
    const g = group_of(track);
    if (g === null || !current?.by_group) return -1;
    const run = current.by_group.subarray(current.group_offsets![g], current.group_offsets![g + 1]);
    if (segment < 0 || current.segment![run[0]] < 0) return run.length ? run[0] : -1;
    for (const i of run) if (current.segment![i] === segment) return i;
    return -1;
  }

  // The same keys on the same points give the same indices (a 100k selection is re-emphasised
  // after every redraw): the last answer is kept.
  let points_memo: { keys: unknown; data: PointsMessage | null; out: number[] | null } = { keys: null, data: null, out: null };
  function emphasis_points(e: Emphasis): number[] | null {
    if (!e || !current?.by_group) return null;
    if (e.kind === 'selection' && points_memo.keys === e.runs && points_memo.data === current) return points_memo.out;
    const out = emphasis_points_of(e);
    if (e.kind === 'selection') points_memo = { keys: e.runs, data: current, out };
    return out;
  }

  function emphasis_points_of(e: NonNullable<Emphasis>): number[] | null {
    if (!current?.by_group) return null;
    if (e.kind === 'tracks') {
      const out: number[] = [];
      const ids = current.group_tracks!;
      for (let g = 0; g < ids.length; g++) {
        if (e.has(ids[g])) for (let j = current.group_offsets![g]; j < current.group_offsets![g + 1]; j++) out.push(current.by_group[j]);
      }
      return out;
    }
    if (e.kind === 'selection') return selection_points(e.runs);
    const out = new Set<number>();
    for (const [t, s] of e.keys) {
      const i = point_index(t, s);
      if (i >= 0) out.add(i);
    }
    return out.size ? [...out] : null;
  }

  // A selection's points here: per track, its ascending segments merged with the track's points
  // (by_group holds them in segment order), O(points) for a 100k selection.
  function selection_points(runs: number[][]): number[] | null {
    const out: number[] = [];
    const segment = current!.segment!, by_group = current!.by_group!, offsets = current!.group_offsets!;
    for (const run of runs) {
      const g = group_of(run[0]);
      if (g === null) continue;
      const from = offsets[g], to = offsets[g + 1];
      if (to === from) continue;
      const segs = run_segments(run);
      if (segment[by_group[from]] < 0 || segs[0] < 0) { // an average here, or the track's average selected
        if (segment[by_group[from]] < 0) out.push(by_group[from]);
        else for (let j = from; j < to; j++) out.push(by_group[j]);
        continue;
      }
      let j = from;
      for (const s of segs) {
        while (j < to && segment[by_group[j]] < s) j++;
        if (j < to && segment[by_group[j]] === s) out.push(by_group[j++]);
      }
    }
    return out.length ? out : null;
  }

  // The hovered track (from either pane) until the app emphasises something new.
  function show_highlight() {
    if (!current) return;
    scatter.highlight(hovered_track !== null ? track_points(hovered_track) : emphasis_points(host.emphasis()));
  }

  // What the app emphasises now (a click, neighbours, a selection) wins over a hover.
  function emphasise() {
    hovered_track = null;
    show_highlight();
  }

  // Points near a point (for audio prefetch): within `radius` (normalised units at zoom 1).
  function nearby(index: number, radius: number, max: number): number[] {
    if (!current || !current_index) return [];
    const x = current.xy[2 * index], y = current.xy[2 * index + 1];
    const r = radius * Math.min(1, scatter.camera()[2]);
    return current_index.within(x, y, r).filter((j) => j !== index).slice(0, max);
  }

  // The points in view (for audio warming), nearest the view's centre first; null when more
  // than `max` are.
  function visible(max: number): number[] | null {
    if (!current || !current_index) return null;
    const [tx, ty, d] = scatter.camera(); // the view is 2d high and 2d x aspect wide
    const w = d * dom.canvas.clientWidth / Math.max(1, dom.canvas.clientHeight);
    // A view over most of a big layout (the square [-1, 1]² holds the points) is not even
    // queried: listing a million points at every idle after a pan costs tens of ms.
    const n = current.xy.length / 2;
    const shown = (Math.min(1, tx + w) - Math.max(-1, tx - w)) * (Math.min(1, ty + d) - Math.max(-1, ty - d)) / 4;
    if (n > max && n * shown > 8 * max) return null;
    const found = current_index.range(tx - w, ty - d, tx + w, ty + d);
    if (found.length > max) return null;
    const xy = current.xy, far = (i: number) => (xy[2 * i] - tx) ** 2 + (xy[2 * i + 1] - ty) ** 2;
    return found.sort((a, b) => far(a) - far(b));
  }

  // A path through tracks (a walk) over the plot: each track's average or first segment.
  function show_path(track_ids: number[]) {
    const vertices: Array<[number, number]> = [];
    if (current) {
      for (const id of track_ids) {
        const i = point_index(id, -1);
        if (i >= 0) vertices.push([current.xy[2 * i], current.xy[2 * i + 1]]);
      }
    }
    scatter.set_overlay(vertices.length >= 2 ? [{ vertices, colour: [1, 0.55, 0.1, 0.95] }] : []);
  }

  pane_api = {
    k,
    root,
    dom,
    update,
    state: () => state,
    space: () => resolved.space,
    current: () => current,
    busy: () => busy,
    draws: () => draws,
    timing: () => ({ ...timing }),
    category: () => category,
    legend: () => legend,
    explained_ratio: () => explained_ratio,
    filter_result: () => filter_result,
    filter_problem: () => filter_problem,
    axes_key: () => axes_key,
    group_of,
    track_points,
    point_index,
    emphasise,
    nearby,
    visible,
    show_path,
    // A track hovered in this or the other pane (null: none).
    hover_track(track: number | null) {
      hovered_track = track;
      show_highlight();
    },
    // Camera: applied now (after a layout: kept), and again after the next layout.
    camera: () => scatter.camera(),
    set_camera(c: [number, number, number]) {
      scatter.set_camera(c);
    },
    restore_camera_next() { restore_camera = true; },
    reset_camera() { scatter.reset(); },
    home: () => scatter.home(),
    screen_position: (i: number) => scatter.screen_position(i),
    to_screen: (x: number, y: number) => scatter.to_screen(x, y),
    highlighted: () => scatter.highlighted(),
    filtered: () => scatter.filtered(),
    clusters: () => (current?.header.clusters ? structuredClone(current.header.clusters) : null),
    set_drag(mode: DragMode) { scatter.set_drag(mode); },
    set_active(active: boolean) { root.classList.toggle('active', active); },
    set_title(text: string | null) {
      dom.title.hidden = text === null;
      dom.title.textContent = text ?? '';
    },
    // The second pane while compare mode is off: nothing requested, nothing shown.
    set_enabled(on: boolean) {
      if (on === enabled) return;
      enabled = on;
      root.hidden = !on;
      if (!on) {
        clear();
        state = null;
        hovered_track = null;
        restore_camera = true;
        set_status('');
      }
    },
    enabled: () => enabled,
  };
  return pane_api;
}

export interface PaneApi {
  k: 0 | 1;
  root: HTMLElement;
  dom: ReturnType<typeof pane_dom>;
  update(s: ViewState, before: ViewState | null): void;
  state(): ViewState | null;
  space(): Resolved['space'];
  current(): PointsMessage | null;
  busy(): boolean;
  draws(): number;
  timing(): { requested_ms: number; data_ms: number; painted_ms: number };
  category(): Float32Array | null;
  legend(): ColourMessage['legend'] | null;
  explained_ratio(): number[] | null;
  filter_result(): FilterMessage | null;
  filter_problem(): string | null;
  axes_key(): string;
  group_of(track: number): number | null;
  track_points(track: number): number[];
  point_index(track: number, segment: number): number;
  emphasise(): void;
  nearby(index: number, radius: number, max: number): number[];
  visible(max: number): number[] | null;
  show_path(track_ids: number[]): void;
  hover_track(track: number | null): void;
  camera(): [number, number, number];
  set_camera(c: [number, number, number]): void;
  restore_camera_next(): void;
  reset_camera(): void;
  home(): [number, number, number];
  screen_position(i: number): [number, number] | undefined;
  to_screen(x: number, y: number): [number, number];
  highlighted(): number[];
  filtered(): number[] | null;
  clusters(): Cluster[] | null;
  set_drag(mode: DragMode): void;
  set_active(active: boolean): void;
  set_title(text: string | null): void;
  set_enabled(on: boolean): void;
  enabled(): boolean;
}
