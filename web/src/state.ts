// state.ts — the whole view state: one plain, serialisable object. The URL hash holds it
// (JSON -> deflate-raw -> base64url, with a `version` field), so reloading or sharing the
// URL restores the same view. ref: embedding-atlas viewer/src/utils/query_payload.ts

export const STATE_VERSION = 1;

export type Layer = 'taggrams' | 'embeddings' | 'moods';
export type Method = 'original' | 'pca' | 'std-pca' | 'tsne' | 'umap';
export type ViewMode = 'segments' | 'trajectories' | 'averages';
export type AudioMode = 'hover' | 'click' | 'off';

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
}

export function default_state(): ViewState {
  return {
    version: STATE_VERSION, model: 'msd-musicnn-1', layer: 'taggrams', tracks: 100, seed: 0,
    method: 'pca', origX: '0', origY: '1', log: false, pcX: 0, pcY: 1,
    perplexity: 30, learningRate: null, iterations: 1000, nNeighbors: 15, minDist: 0.1,
    view: 'segments', colour: 'track', audio: 'hover', selected: null, camera: null, advanced: false,
  };
}

const LAYERS: readonly Layer[] = ['taggrams', 'embeddings', 'moods'];
const METHODS: readonly Method[] = ['original', 'pca', 'std-pca', 'tsne', 'umap'];
const VIEWS: readonly ViewMode[] = ['segments', 'trajectories', 'averages'];
const AUDIO: readonly AudioMode[] = ['hover', 'click', 'off'];

// Takes whatever a URL held and keeps only fields of the right type; anything else falls
// back to the default, so an old or hand-edited URL never breaks the app.
export function sanitise_state(raw: unknown): ViewState {
  const s = default_state();
  if (typeof raw !== 'object' || raw === null) return s;
  const r = raw as Record<string, unknown>;
  const str = (k: string) => (typeof r[k] === 'string' ? (r[k] as string) : undefined);
  const num = (k: string) => (typeof r[k] === 'number' && Number.isFinite(r[k]) ? (r[k] as number) : undefined);
  const one = <T extends string>(k: string, allowed: readonly T[]) =>
    allowed.includes(r[k] as T) ? (r[k] as T) : undefined;
  s.model = str('model') ?? s.model;
  s.layer = one('layer', LAYERS) ?? s.layer;
  s.tracks = r.tracks === 'all' ? 'all' : Math.max(1, Math.round(num('tracks') ?? s.tracks as number));
  s.seed = Math.round(num('seed') ?? s.seed);
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
  s.audio = one('audio', AUDIO) ?? s.audio;
  s.selected = num('selected') ?? null;
  const cam = r.camera;
  s.camera = Array.isArray(cam) && cam.length === 3 && cam.every((v) => typeof v === 'number' && Number.isFinite(v))
    ? [cam[0], cam[1], cam[2]] : null;
  s.advanced = r.advanced === true;
  return s;
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
