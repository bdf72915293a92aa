// protocol.ts — messages between the main thread and worker.ts. Big arrays travel as
// transferables (their buffers move, no copy); the main thread only draws and reacts.
import type { FrameHeader, PointsQuery } from './api';

export type ToWorker =
  // Streams /api/points; a newer request (or 'cancel') aborts the older one.
  | { type: 'points'; id: number; token: string | null; query: PointsQuery; equal_aspect: boolean }
  // Colours the current points: by track, or by one dim of a space (fetched as the
  // `original` projection of that dim, aligned by (track, segment)).
  | { type: 'colour'; id: number; token: string | null; colour: ColourRequest }
  // Which points stay visible: allowed tracks x tag/mood thresholds x sparsity.
  | { type: 'filter'; id: number; token: string | null; filter: FilterRequest }
  // Which points of the last final frame lie inside a lasso / box polygon (the points' normalised
  // coords), among `visible` (the filter's ascending indices; null = all points).
  | { type: 'lasso'; id: number; polygon: Float32Array; visible: Int32Array | null }
  | { type: 'cancel' };

// A condition on a track's mean of one dim ("rock > 0.3").
export interface Threshold {
  space: string;              // space holding the dim
  dim: string;                // dim name
  op: '>' | '>=' | '<' | '<=';
  value: number;
}

export interface FilterRequest {
  tracks: number | 'all';     // as in the points query (the means come for the same tracks)
  seed: number;
  allowed: Int32Array | null; // track ids passing the metadata filter; null = every track
  thresholds: Threshold[];
  sparsity: number;           // keep segments with index % sparsity == 0 (averages are kept)
}

export type ColourRequest =
  | { by: 'track' }
  | { by: 'value'; query: PointsQuery; label: string }
  // A binary frame with `score`, `track`, `segment` arrays (/api/scores).
  | { by: 'score'; url: string; label: string };

export interface PointsMessage {
  type: 'points';
  id: number;                 // request id the frame belongs to
  header: FrameHeader;
  xy: Float32Array;           // [2n] interleaved, normalised to [-1, 1] (regl-scatterplot NDC)
  track: Int32Array | null;   // [n] track id per point (final frames only)
  segment: Int32Array | null; // [n] segment index, -1 for averages (final only)
  size: Float32Array | null;  // [n] std / max std in [0, 1] (averages, final only)
  group: Int32Array | null;   // [n] track's ordinal in `group_tracks` (line id for trajectories)
  group_tracks: Int32Array | null;  // distinct track ids, ascending
  group_offsets: Int32Array | null; // [groups + 1] start of each track's run in `by_group`
  by_group: Int32Array | null;      // point indices grouped by track, segments in time order
  lines: Trajectories | null; // segments granularity, final only
  spatial_index: ArrayBuffer; // KDBush v4 over xy, for regl-scatterplot's draw({spatialIndex})
  bounds: [number, number, number, number]; // data-space x0, x1, y0, y1 that map to the square
}

// Each track's path through its segments in time order (consecutive repeats dropped), as
// line segments: vertex pairs for gl.LINES, the polyline's steps then two arrowhead strokes.
export interface Trajectories {
  segments: Float32Array;     // [3 per vertex] x, y (the points' normalised coords), stop: index into TRAJECTORY_GRADIENT
}

export interface ColourMessage {
  type: 'colours';
  id: number;
  category: Float32Array;     // [n] palette index per point (integers)
  legend: { kind: 'track'; tracks: number } | { kind: 'value'; label: string; min: number; max: number };
}

export interface FilterMessage {
  type: 'filter';
  id: number;
  visible: Int32Array | null; // ascending point indices shown; null = all
  tracks: number;             // tracks with at least one visible point
  points: number;             // visible points
}

export interface LassoMessage {
  type: 'lasso';
  id: number;
  data: number;               // the points message id the indices belong to
  inside: Int32Array;         // ascending point indices inside the polygon
  runs: number[][] | null;    // the same as a selection (curate.ts selection_runs); null = none inside
}

export interface ErrorMessage {
  type: 'error';
  id: number;
  request: 'points' | 'colour' | 'filter';
  message: string;
  status: number;             // HTTP status, 0 for stream/parse errors
}

export type FromWorker = PointsMessage | ColourMessage | FilterMessage | LassoMessage | ErrorMessage;
