// colour.ts — the palettes; shared by the worker (which maps values to palette indices) and
// the legend (which draws them). Colours are CSS hex strings, as regl-scatterplot takes them.

// Categorical, for colour by track (Tableau 20 order: strong colours first).
export const TRACK_PALETTE: readonly string[] = [
  '#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7',
  '#9c755f', '#bab0ac', '#a0cbe8', '#ffbe7d', '#ff9d9a', '#86bcb6', '#8cd17d', '#f1ce63',
  '#d4a6c8', '#fabfd2', '#d7b5a6', '#79706e',
];

// Continuous, for colour by a tag/mood value: viridis sampled at VALUE_BINS stops.
export const VALUE_BINS = 64;
const VIRIDIS_STOPS: readonly [number, number, number][] = [
  [68, 1, 84], [72, 40, 120], [62, 74, 137], [49, 104, 142], [38, 130, 142],
  [31, 158, 137], [53, 183, 121], [109, 205, 89], [180, 222, 44], [253, 231, 37],
];

function hex(r: number, g: number, b: number): string {
  return '#' + [r, g, b].map((v) => Math.round(v).toString(16).padStart(2, '0')).join('');
}

export const VALUE_PALETTE: readonly string[] = Array.from({ length: VALUE_BINS }, (_, k) => {
  const t = (k / (VALUE_BINS - 1)) * (VIRIDIS_STOPS.length - 1);
  const i = Math.min(Math.floor(t), VIRIDIS_STOPS.length - 2);
  const f = t - i;
  const [a, b] = [VIRIDIS_STOPS[i], VIRIDIS_STOPS[i + 1]];
  return hex(a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f);
});

// Trajectory lines: each track's line is cut into up to TRAJECTORY_STOPS pieces, dark at its
// first segment and bright at its last (plus an arrowhead), so the direction of time shows.
// RGBA in [0, 1] (regl-scatterplot parses hex only without alpha).
export const TRAJECTORY_STOPS = 4;
export const TRAJECTORY_GRADIENT: readonly number[][] = Array.from({ length: TRAJECTORY_STOPS }, (_, k) => {
  const t = k / (TRAJECTORY_STOPS - 1);
  return [(60 + 195 * t) / 255, (70 + 160 * t) / 255, (120 + 90 * t) / 255, 0.35 + 0.5 * t];
});

export const BACKGROUND = '#14161a';
