// protocol.ts — messages between the main thread and worker.ts. Big arrays travel as
// transferables (their buffers move, no copy); the main thread only draws and reacts.
import type { FrameHeader, PointsQuery } from './api';

export type ToWorker =
  // Streams /api/points; a newer request (or 'cancel') aborts the older one.
  | { type: 'points'; id: number; token: string | null; query: PointsQuery; equal_aspect: boolean }
  // Colours the current points: by track, or by one dim of a space (fetched as the
  // `original` projection of that dim, aligned by (track, segment)).
  | { type: 'colour'; id: number; token: string | null; colour: ColourRequest }
  | { type: 'cancel' };

export type ColourRequest =
  | { by: 'track' }
  | { by: 'value'; query: PointsQuery; label: string };

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

// Polylines through each track's segments in time order (consecutive repeats dropped).
export interface Trajectories {
  vertices: Float32Array;     // [2v] x, y in the same normalised coords as the points
  offsets: Int32Array;        // [lines + 1] first vertex of each polyline
  colour: Uint8Array;         // [lines] index into TRAJECTORY_GRADIENT
}

export interface ColourMessage {
  type: 'colours';
  id: number;
  category: Float32Array;     // [n] palette index per point (integers)
  legend: { kind: 'track'; tracks: number } | { kind: 'value'; label: string; min: number; max: number };
}

export interface ErrorMessage {
  type: 'error';
  id: number;
  request: 'points' | 'colour';
  message: string;
  status: number;             // HTTP status, 0 for stream/parse errors
}

export type FromWorker = PointsMessage | ColourMessage | ErrorMessage;
