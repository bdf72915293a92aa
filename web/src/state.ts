// state.ts — the whole view state: one plain, serialisable object. The URL hash holds it
// (JSON -> deflate-raw -> base64url, with a `version` field), so reloading or sharing the
// URL restores the same view. ref: embedding-atlas viewer/src/utils/query_payload.ts

// 2: curation (filters, highlight, sparsity, neighbours, goal). 3: compare mode (a second
// pane, linked cameras, the active pane), cluster labels, the lasso selection, the walk. Older URLs
// still load: the fields they lack take their defaults (a version-2 URL is one pane).
export const STATE_VERSION = 3;

export type Layer = 'taggrams' | 'embeddings' | 'moods';
export type Method = 'original' | 'pca' | 'std-pca' | 'tsne' | 'umap';
export type ViewMode = 'segments' | 'trajectories' | 'averages';
export type AudioMode = 'hover' | 'click' | 'off';
export type Metric = 'cosine' | 'euclidean';
export type DragMode = 'pan' | 'lasso' | 'box';

// Which tracks stay on the plot (all fields combine with AND; '' = no condition).
export interface TrackFilter {
  text: string;             // substring of title or file name, case-insensitive
  artist: string;           // exact artist ('' = any)
  album: string;            // exact album
  genre: string;            // exact genre
  year: string;             // "2009" or "2009-2011" (inclusive)
  tags: string;             // "rock > 0.3, happy > 0.6": track means of tag/mood dims
}

// Emphasised without hiding the rest.
export interface Highlight {
  artist: string;           // '' = none
  album: string;
  track: number | null;     // one track (chosen by search)
}

// What one pane shows. The first pane's fields sit at the top level of ViewState (as in
// version 2); the second pane's in ViewState.second. Everything else is shared by both panes.
export const PANE_FIELDS = ['model', 'layer', 'method', 'origX', 'origY', 'log', 'pcX', 'pcY', 'perplexity',
  'learningRate', 'iterations', 'nNeighbors', 'minDist', 'view', 'colour', 'camera'] as const;
export type PaneField = typeof PANE_FIELDS[number];
export type PaneView = Pick<ViewState, PaneField>;

export interface ViewState {
  version: number;          // STATE_VERSION of the writer
  model: string;            // tagger id ("msd-musicnn-1") or an imported space's name
  layer: Layer;             // ignored for imported spaces
  tracks: number | 'all';   // how many tracks (the server caps at the space's count)
  seed: number;             // which tracks (server-side shuffle)
  method: Method;
  origX: string;            // original axes: dim name or index, as typed
  origY: string;
  log: boolean;             // log scale for original axes
  pcX: number;              // PCA component for X (0-based)
  pcY: number;
  perplexity: number;       // t-SNE
  learningRate: number | null; // t-SNE; null = server's "auto"
  iterations: number;       // t-SNE
  nNeighbors: number;       // UMAP
  minDist: number;          // UMAP
  view: ViewMode;
  colour: string;           // "track" | "tag:<dim name>" (current space) | "mood:<name>"
  audio: AudioMode;
  selected: number | null;  // selected track id
  camera: [number, number, number] | null; // target x, y (normalised coords), distance; null = fit
  advanced: boolean;        // the "advanced" fold is open
  drag: DragMode;           // what a plain drag on the plot does (shift+drag always lassos)
  filter: TrackFilter;
  highlight: Highlight;
  sparsity: number;         // show every k-th segment (1 = all); averages are not thinned
  knnK: number;             // neighbours listed
  knnMetric: Metric;
  knnOf: [number, number] | null; // [track, segment] whose neighbours are shown (segment -1 = average)
  knnPane: 0 | 1;           // the pane clicked: its space gives the neighbours and the walk
  goal: string;             // "+happy +electronic -vocals" or "happy:2 vocals:-1"
  goalSpace: string;        // space of the goal's dims: '' = the tag space, or a space name
  walkSteps: number;        // goal-guided walk length
  walkFrom: number | null;  // the track the shown walk starts from (null = no walk shown)
  taggram: 'tags' | 'moods'; // what the selected track's timeline shows
  clusterLabels: boolean;   // t-SNE/UMAP: name the layout's clusters over the plot
  // The points inside the last lasso/box: [track, segment, ...] per track, ranges compressed
  // (curate.ts selection_runs); null = no selection. Points, not indices: both panes show it.
  selection: number[][] | null;
  compare: boolean;         // two panes side by side over the same tracks
  second: PaneView;         // the second pane's view
  linked: boolean;          // pan/zoom in one pane moves the other alike
  active: 0 | 1;            // the pane the controls edit
}

// The state as pane k sees it: the shared fields with that pane's view.
export function pane_state(s: ViewState, k: 0 | 1): ViewState {
  return k === 0 ? s : { ...s, ...s.second };
}

export function pane_view(s: ViewState): PaneView {
  const out = {} as Record<string, unknown>;
  for (const f of PANE_FIELDS) out[f] = s[f];
  return structuredClone(out) as PaneView;
}

// A change made while pane k is edited: its pane fields go to that pane, the rest is shared.
export function patch_state(s: ViewState, patch: Partial<ViewState>, k: 0 | 1): ViewState {
  if (k === 0) return { ...s, ...patch };
  const shared: Partial<ViewState> = {}, second: Partial<PaneView> = {};
  for (const [key, v] of Object.entries(patch)) {
    if ((PANE_FIELDS as readonly string[]).includes(key)) (second as Record<string, unknown>)[key] = v;
    else (shared as Record<string, unknown>)[key] = v;
  }
  return { ...s, ...shared, second: { ...s.second, ...second } };
}

export function default_filter(): TrackFilter {
  return { text: '', artist: '', album: '', genre: '', year: '', tags: '' };
}

export function default_state(): ViewState {
  const s = first_pane_defaults();
  s.second = pane_view(s);
  return s;
}

function first_pane_defaults(): ViewState {
  return {
    version: STATE_VERSION, model: 'msd-musicnn-1', layer: 'taggrams', tracks: 100, seed: 0,
    method: 'pca', origX: '0', origY: '1', log: false, pcX: 0, pcY: 1,
    perplexity: 30, learningRate: null, iterations: 1000, nNeighbors: 15, minDist: 0.1,
    view: 'segments', colour: 'track', audio: 'hover', selected: null, camera: null, advanced: false,
    drag: 'pan', filter: default_filter(), highlight: { artist: '', album: '', track: null }, sparsity: 1,
    knnK: 10, knnMetric: 'cosine', knnOf: null, knnPane: 0, goal: '', goalSpace: '', walkSteps: 10, walkFrom: null, taggram: 'tags',
    clusterLabels: true, selection: null, compare: false, second: null as unknown as PaneView, linked: true, active: 0,
  };
}

const LAYERS: readonly Layer[] = ['taggrams', 'embeddings', 'moods'];
const METHODS: readonly Method[] = ['original', 'pca', 'std-pca', 'tsne', 'umap'];
const VIEWS: readonly ViewMode[] = ['segments', 'trajectories', 'averages'];
const AUDIO: readonly AudioMode[] = ['hover', 'click', 'off'];
const METRICS: readonly Metric[] = ['cosine', 'euclidean'];
const DRAGS: readonly DragMode[] = ['pan', 'lasso', 'box'];

// Takes whatever a URL held and keeps only fields of the right type; anything else falls
// back to the default, so an old or hand-edited URL never breaks the app.
export function sanitise_state(raw: unknown): ViewState {
  const s = default_state();
  if (typeof raw !== 'object' || raw === null) return s;
  const r = raw as Record<string, unknown>;
  read_pane(r, s);
  s.second = pane_view(s); // a one-pane URL: the second pane starts as a copy of the first
  if (typeof r.second === 'object' && r.second !== null) read_pane(r.second as Record<string, unknown>, s.second);
  const str = (k: string) => (typeof r[k] === 'string' ? (r[k] as string) : undefined);
  const num = (k: string) => (typeof r[k] === 'number' && Number.isFinite(r[k]) ? (r[k] as number) : undefined);
  const one = <T extends string>(k: string, allowed: readonly T[]) =>
    allowed.includes(r[k] as T) ? (r[k] as T) : undefined;
  s.tracks = r.tracks === 'all' ? 'all' : Math.max(1, Math.round(num('tracks') ?? s.tracks as number));
  s.seed = Math.round(num('seed') ?? s.seed);
  s.audio = one('audio', AUDIO) ?? s.audio;
  s.selected = num('selected') ?? null;
  s.advanced = r.advanced === true;
  s.drag = one('drag', DRAGS) ?? s.drag;
  const f = typeof r.filter === 'object' && r.filter !== null ? r.filter as Record<string, unknown> : {};
  for (const k of Object.keys(s.filter) as Array<keyof TrackFilter>) if (typeof f[k] === 'string') s.filter[k] = f[k] as string;
  const h = typeof r.highlight === 'object' && r.highlight !== null ? r.highlight as Record<string, unknown> : {};
  if (typeof h.artist === 'string') s.highlight.artist = h.artist;
  if (typeof h.album === 'string') s.highlight.album = h.album;
  if (typeof h.track === 'number' && Number.isInteger(h.track)) s.highlight.track = h.track;
  s.sparsity = Math.min(1000, Math.max(1, Math.round(num('sparsity') ?? 1)));
  s.knnK = Math.min(200, Math.max(1, Math.round(num('knnK') ?? s.knnK)));
  s.knnMetric = one('knnMetric', METRICS) ?? s.knnMetric;
  const of = r.knnOf;
  s.knnOf = Array.isArray(of) && of.length === 2 && of.every((v) => Number.isInteger(v)) ? [of[0], of[1]] : null;
  s.goal = str('goal') ?? '';
  s.goalSpace = str('goalSpace') ?? '';
  s.walkSteps = Math.min(100, Math.max(1, Math.round(num('walkSteps') ?? s.walkSteps)));
  s.walkFrom = Number.isInteger(r.walkFrom) ? r.walkFrom as number : null;
  s.taggram = r.taggram === 'moods' ? 'moods' : 'tags';
  s.clusterLabels = r.clusterLabels !== false;
  const sel = r.selection;
  s.selection = Array.isArray(sel) && sel.length > 0 && sel.every((run) => Array.isArray(run) && run.length >= 2 && run.every((v) => Number.isInteger(v)))
    ? (sel as number[][]).map((run) => [...run]) : null;
  s.compare = r.compare === true;
  s.linked = r.linked !== false;
  s.active = s.compare && r.active === 1 ? 1 : 0;
  s.knnPane = s.compare && r.knnPane === 1 ? 1 : 0;
  return s;
}

// The pane fields of a URL's object (top level: the first pane; `second`: the second).
function read_pane(r: Record<string, unknown>, s: PaneView) {
  const str = (k: string) => (typeof r[k] === 'string' ? (r[k] as string) : undefined);
  const num = (k: string) => (typeof r[k] === 'number' && Number.isFinite(r[k]) ? (r[k] as number) : undefined);
  const one = <T extends string>(k: string, allowed: readonly T[]) =>
    allowed.includes(r[k] as T) ? (r[k] as T) : undefined;
  s.model = str('model') ?? s.model;
  s.layer = one('layer', LAYERS) ?? s.layer;
  s.method = one('method', METHODS) ?? s.method;
  s.origX = str('origX') ?? s.origX;
  s.origY = str('origY') ?? s.origY;
  s.log = r.log === true;
  s.pcX = Math.max(0, Math.round(num('pcX') ?? s.pcX));
  s.pcY = Math.max(0, Math.round(num('pcY') ?? s.pcY));
  s.perplexity = num('perplexity') ?? s.perplexity;
  s.learningRate = num('learningRate') ?? null;
  s.iterations = Math.round(num('iterations') ?? s.iterations);
  s.nNeighbors = Math.round(num('nNeighbors') ?? s.nNeighbors);
  s.minDist = num('minDist') ?? s.minDist;
  s.view = one('view', VIEWS) ?? s.view;
  s.colour = str('colour') ?? s.colour;
  const cam = r.camera;
  s.camera = Array.isArray(cam) && cam.length === 3 && cam.every((v) => typeof v === 'number' && Number.isFinite(v))
    ? [cam[0], cam[1], cam[2]] : null;
}

function to_base64url(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function from_base64url(text: string): Uint8Array {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

async function transform(bytes: Uint8Array, stream: CompressionStream | DecompressionStream): Promise<Uint8Array> {
  const body = new Blob([bytes as BlobPart]).stream().pipeThrough(stream);
  return new Uint8Array(await new Response(body).arrayBuffer());
}

// "#s=<base64url(deflate-raw(JSON))>"
export async function encode_state(state: ViewState): Promise<string> {
  const json = new TextEncoder().encode(JSON.stringify({ ...state, version: STATE_VERSION }));
  return 's=' + to_base64url(await transform(json, new CompressionStream('deflate-raw')));
}

// null when the hash holds no state (or a corrupt one: the app then starts from defaults).
export async function decode_state(hash: string): Promise<ViewState | null> {
  const m = /^#?s=([A-Za-z0-9_-]+)$/.exec(hash);
  if (!m) return null;
  try {
    const json = await transform(from_base64url(m[1]), new DecompressionStream('deflate-raw'));
    return sanitise_state(JSON.parse(new TextDecoder().decode(json)));
  } catch {
    return null;
  }
}
