// api.ts — client of the tagscape HTTP API (server/API.md, version 1): JSON endpoints, the
// binary frame stream of /api/points, and the token the server may require. Used from the
// main thread (JSON) and from the worker (points stream); nothing here touches the DOM.

export interface SpaceInfo {
  name: string;                 // "msd-musicnn-1/taggrams"
  kind: 'taggrams' | 'embeddings' | 'moods' | 'imported' | string;
  model: string;
  node: string;
  dims: number;
  dim_names: string[];          // [] when the space has no names (embeddings)
  tracks: number;
}

export interface ModelInfo {
  id: string;                   // "msd-musicnn-1"
  architecture: 'musicnn' | 'vgg' | string;
  dataset: 'msd' | 'mtt' | string;
  spaces: { taggrams?: string; embeddings?: string };
  analysed: boolean;
  command: string;              // the `tagscape analyze` command that adds it
}

export interface Summary {
  version: number;
  collection: { name: string; tracks: number; failed: number; segments: number; duration_s: number };
  spaces: SpaceInfo[];
  models: ModelInfo[];
  moods: { space: string; analysed: boolean; command: string };
}

export interface Track {
  id: number;
  title: string;
  artist: string;
  album: string;
  genre: string;
  year: number;
  track_number: number;
  duration_s: number;
  segments: number;
  file: string;                 // base name only
}

export interface TrackDetail extends Track {
  segment_times: [number, number][]; // [start_s, end_s] per segment
}

export interface TrackVectors {
  dims: number;
  segments: number;
  values: number[][];           // [segment][dim]
}

// Parameters of one /api/points request (names as in API.md).
export interface PointsQuery {
  space: string;
  tracks: number | 'all';
  seed: number;
  granularity: 'segments' | 'averages';
  method: 'original' | 'pca' | 'std-pca' | 'tsne' | 'umap';
  x?: string;                   // original: dim index or name; pca: component index
  y?: string;
  log?: boolean;
  perplexity?: number;
  learning_rate?: number | null;
  iterations?: number;
  n_neighbors?: number;
  min_dist?: number;
}

export interface FrameHeader {
  kind: 'progress' | 'final' | 'scores';
  n: number;
  iteration: number;
  of: number;
  method: string;
  explained_variance?: number[];
  explained_variance_ratio?: number[];
  trustworthiness?: number | null; // null when it cannot be computed (too few points)
  clusters?: Cluster[];            // t-SNE/UMAP final frames: the layout's islands, largest first
  arrays: { name: string; type: 'f32' | 'i32'; count: number }[];
}

// An island of a t-SNE/UMAP layout and the tags most over-represented in it.
export interface Cluster {
  x: number;                    // centre, layout units (the frame's xy)
  y: number;
  count: number;                // points inside
  tags: { name: string; mean: number; z: number }[]; // z: standard deviations above the shown points' mean
}

export interface Frame {
  header: FrameHeader;
  arrays: Record<string, Float32Array | Int32Array>; // views into the frame's own buffer
}

export class ApiError extends Error {
  constructor(message: string, readonly status: number) {
    super(message);
  }
}

// The server prints `http://HOST:PORT/?token=T` when it needs a token (API.md "Token").
export function token_from_url(search: string): string | null {
  return new URLSearchParams(search).get('token');
}

export function auth_headers(token: string | null): HeadersInit {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

// For URLs handed to elements that cannot send headers.
export function with_token(url: string, token: string | null): string {
  return token ? `${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}` : url;
}

async function error_of(response: Response): Promise<ApiError> {
  let message = `${response.status} ${response.statusText}`;
  if ((response.headers.get('Content-Type') ?? '').includes('application/json')) {
    try {
      const body = await response.json();
      if (typeof body?.error === 'string') message = body.error;
    } catch { /* keep the status line */ }
  }
  return new ApiError(message, response.status);
}

export async function get_json<T>(path: string, token: string | null, signal?: AbortSignal): Promise<T> {
  const response = await fetch(path, { headers: auth_headers(token), signal });
  if (!response.ok) throw await error_of(response);
  return (await response.json()) as T;
}

export const get_summary = (token: string | null) => get_json<Summary>('/api/summary', token);
export const get_tracks = (token: string | null) => get_json<Track[]>('/api/tracks', token);
export const get_track = (id: number, token: string | null) => get_json<TrackDetail>(`/api/tracks/${id}`, token);
export const get_vectors = (id: number, space: string, token: string | null) =>
  get_json<TrackVectors>(`/api/tracks/${id}/vectors?space=${encodeURIComponent(space)}`, token);

export function points_url(q: PointsQuery): string {
  const p = new URLSearchParams();
  p.set('space', q.space);
  p.set('tracks', String(q.tracks));
  p.set('seed', String(q.seed));
  p.set('granularity', q.granularity);
  p.set('method', q.method);
  if (q.x !== undefined) p.set('x', q.x);
  if (q.y !== undefined) p.set('y', q.y);
  if (q.method === 'original' && q.log) p.set('log', '1');
  if (q.method === 'tsne') {
    if (q.perplexity !== undefined) p.set('perplexity', String(q.perplexity));
    if (q.learning_rate != null) p.set('learning_rate', String(q.learning_rate));
    if (q.iterations !== undefined) p.set('iterations', String(q.iterations));
  }
  if (q.method === 'umap') {
    if (q.n_neighbors !== undefined) p.set('n_neighbors', String(q.n_neighbors));
    if (q.min_dist !== undefined) p.set('min_dist', String(q.min_dist));
  }
  return `/api/points?${p}`;
}

// Cuts a byte stream into frames (API.md "frame := u32 header_bytes, header, payload"). A frame
// may arrive split over chunks and a chunk may hold several frames; each complete frame is
// copied once into its own ArrayBuffer so its arrays are aligned views without further copies.
export function create_frame_reader(on_frame: (frame: Frame) => void) {
  let chunks: Uint8Array[] = [];
  let buffered = 0;          // bytes in chunks
  let frame_bytes = -1;      // size of the frame at the front, once its header is known
  let header: FrameHeader | null = null;
  let header_bytes = 0;

  // Copies the first n buffered bytes into a fresh buffer; consumes them when `consume`.
  function front(n: number, consume: boolean): Uint8Array {
    const out = new Uint8Array(n);
    let filled = 0;
    let i = 0;
    while (filled < n) {
      const c = chunks[i];
      const take = Math.min(c.length, n - filled);
      out.set(c.subarray(0, take), filled);
      filled += take;
      if (consume) {
        if (take === c.length) { chunks.shift(); continue; }
        chunks[i] = c.subarray(take);
      }
      i++;
    }
    if (consume) buffered -= n;
    return out;
  }

  function try_frame(): boolean {
    if (frame_bytes < 0) {
      if (buffered < 4) return false;
      header_bytes = new DataView(front(4, false).buffer).getUint32(0, true);
      if (header_bytes === 0 || header_bytes > 1 << 20) throw new Error(`points stream: bad header length ${header_bytes}`);
      if (buffered < 4 + header_bytes) return false;
      const head = front(4 + header_bytes, false);
      header = JSON.parse(new TextDecoder().decode(head.subarray(4))) as FrameHeader;
      let payload = 0;
      for (const a of header.arrays) payload += Math.ceil((a.count * 4) / 4) * 4;
      frame_bytes = 4 + header_bytes + payload;
    }
    if (buffered < frame_bytes) return false;
    const bytes = front(frame_bytes, true);
    const arrays: Frame['arrays'] = {};
    let offset = 4 + header_bytes;
    for (const a of header!.arrays) {
      arrays[a.name] = a.type === 'i32'
        ? new Int32Array(bytes.buffer, offset, a.count)
        : new Float32Array(bytes.buffer, offset, a.count);
      offset += a.count * 4;
    }
    const done = header!;
    frame_bytes = -1;
    header = null;
    on_frame({ header: done, arrays });
    return true;
  }

  return {
    push(chunk: Uint8Array) {
      if (chunk.length === 0) return;
      chunks.push(chunk);
      buffered += chunk.length;
      while (try_frame()) { /* next frame */ }
    },
    // True when the stream ended exactly at a frame boundary.
    finished(): boolean {
      return buffered === 0 && frame_bytes < 0;
    },
    reset() {
      chunks = [];
      buffered = 0;
      frame_bytes = -1;
      header = null;
    },
  };
}

// Streams /api/points: calls on_frame for every progress/final frame as it completes.
// Rejects with ApiError for JSON errors before the first frame, with AbortError on cancel.
export async function stream_points(
  q: PointsQuery, token: string | null, signal: AbortSignal, on_frame: (frame: Frame) => void,
): Promise<void> {
  const response = await fetch(points_url(q), { headers: auth_headers(token), signal });
  if (!response.ok) throw await error_of(response);
  if (!(response.headers.get('Content-Type') ?? '').includes('application/octet-stream')) {
    throw new ApiError(`points: unexpected Content-Type ${response.headers.get('Content-Type')}`, response.status);
  }
  const reader = create_frame_reader(on_frame);
  const body = response.body!.getReader();
  for (;;) {
    const { value, done } = await body.read();
    if (done) break;
    reader.push(value);
  }
  if (!reader.finished()) throw new ApiError('points: the stream ended inside a frame', 0);
}

// --- curation (issue 6) ----------------------------------------------------------------

export interface Neighbour {
  track: number;
  segment: number;              // -1 for a track average
  distance: number;
}

export const get_knn = (space: string, track: number, segment: number, k: number, metric: string, token: string | null, signal?: AbortSignal) =>
  get_json<{ neighbours: Neighbour[] }>(`/api/knn?${new URLSearchParams({
    space, track: String(track), segment: String(segment), k: String(k), metric })}`, token, signal);

export type PlaylistFormat = 'm3u8' | 'csv';
export type PlaylistPaths = 'absolute' | 'relative';

// /api/playlist answers the file as an attachment; counts (optional) are per track, same order.
export function playlist_url(tracks: number[], format: PlaylistFormat, paths: PlaylistPaths, counts?: number[]): string {
  const p = new URLSearchParams({ tracks: tracks.join(','), format, paths });
  if (counts) p.set('counts', counts.join(','));
  return `/api/playlist?${p}`;
}

// A goal: dim name -> weight ("+happy -vocals happy:2" parsed by parse_goal).
export type Goal = Array<[string, number]>;

export function goal_param(goal: Goal): string {
  return goal.map(([d, w]) => `${d}:${w}`).join(',');
}

export function scores_url(space: string, tracks: number | 'all', seed: number, granularity: 'segments' | 'averages', goal: Goal, goal_space: string): string {
  const p = new URLSearchParams({ space, tracks: String(tracks), seed: String(seed), granularity, goal: goal_param(goal), goal_space });
  return `/api/scores?${p}`;
}

export interface WalkStep {
  track: number;
  score: number;
  distance: number;             // from the previous track
}

export interface Walk {
  start: { track: number; score: number };
  path: WalkStep[];
}

export const get_walk = (space: string, from: number, goal: Goal, goal_space: string, steps: number, k: number, metric: string, token: string | null) =>
  get_json<Walk>(`/api/walk?${new URLSearchParams({
    space, from: String(from), goal: goal_param(goal), goal_space, steps: String(steps), k: String(k), metric })}`, token);

// --- axis explanations (issue 6) --------------------------------------------------------

export interface AxisTag {
  name: string;
  dim: number;
  r: number;                    // Pearson's r between the component and the tag
}

export interface AxisExplanation {
  component: number;            // 0-based
  explained_variance_ratio: number;
  positive: AxisTag[];          // r > 0, largest first
  negative: AxisTag[];          // r < 0, most negative first
}

export interface Axes {
  tags_space: string;
  method: string;
  n: number;
  correlated_points: number;
  axes: { x: AxisExplanation; y: AxisExplanation };
}

// The tags most correlated with the PCA components a points query shows (same selection).
export function axes_url(q: PointsQuery, top = 3): string {
  const p = new URLSearchParams({
    space: q.space, tracks: String(q.tracks), seed: String(q.seed), granularity: q.granularity, method: q.method,
    x: q.x ?? '0', y: q.y ?? '1', top: String(top),
  });
  return `/api/axes?${p}`;
}

export const get_axes = (q: PointsQuery, token: string | null, signal?: AbortSignal) => get_json<Axes>(axes_url(q), token, signal);
