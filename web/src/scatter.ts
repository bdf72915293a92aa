// scatter.ts — the renderer: owns regl-scatterplot and its WebGL context, nothing else.
// In: typed arrays (normalised xy, palette index per point, size, track grouping) and a style.
// Out: events (pointover, pointout, select, view). What a point *means* is the app's business.
// ref: regl-scatterplot src/renderer.js (renderer apart from UI), STYLE.md "The web app".
import createScatterplot from 'regl-scatterplot';
import { BACKGROUND, TRAJECTORY_GRADIENT } from './colour';
import type { Trajectories } from './protocol';
import type { ViewMode } from './state';

export interface ScatterPoints {
  xy: Float32Array;              // [2n] in [-1, 1]
  category: Float32Array | null; // [n] palette index per point; null = palette[0] for all
  size: Float32Array | null;     // [n] in [0, 1]: diameter for averages (∝ std)
  group: Int32Array | null;      // [n] line id (the track's ordinal) for trajectories
  segment: Int32Array | null;    // [n] order along the line (segment index)
  lines: Trajectories | null;    // polylines for the trajectories view
  spatial_index: ArrayBuffer;    // KDBush over xy (built in the worker)
}

export interface ScatterStyle {
  mode: ViewMode;
  palette: readonly string[];    // colours for category values 0..len-1
}

export interface ScatterEvents {
  pointover(index: number): void;
  pointout(index: number): void;
  select(index: number | null): void;   // a click on a point, or null for a click on nothing
  view(camera: [number, number, number]): void; // target x, y, distance after pan/zoom
}

const SIZE_BINS = 32;            // distinct dot sizes for averages
const AVERAGE_MIN_PX = 4, AVERAGE_MAX_PX = 48; // diameter of the least / most spread track

// Fewer points get bigger dots; a million stay small enough not to merge into a blanket.
function dot_size_px(n: number): number {
  return n < 1_000 ? 7 : n < 10_000 ? 5 : n < 200_000 ? 3 : 2;
}

export type Scatter = ReturnType<typeof create_scatter>;

export function create_scatter(canvas: HTMLCanvasElement, events: ScatterEvents) {
  const plot = createScatterplot({
    canvas,
    width: 'auto',
    height: 'auto',
    backgroundColor: BACKGROUND,
    pointSize: 4,
    pointSizeSelected: 2,
    pointOutlineWidth: 1,
    opacityInactiveScale: 0.35,  // while a track is highlighted the others step back
    pointColorHover: '#ffffff',
    pointColorActive: '#ffffff',
    actionKeyMap: {},            // no lasso/rotate: click selects one track, drag pans
    lassoInitiator: false,
    deselectOnEscape: true,
    deselectOnDblClick: true,
    annotationLineWidth: 1.5,
  } as never);

  let count = 0;
  let drawing = false;
  let pending: { points: ScatterPoints; style: ScatterStyle; transition: boolean; done: Array<() => void> } | null = null;
  let highlighted: number[] | null = null;

  plot.subscribe('pointOver', (i: number) => events.pointover(i));
  plot.subscribe('pointOut', (i: number) => events.pointout(i));
  plot.subscribe('select', ({ points }: { points: number[] }) => events.select(points.length ? points[0] : null));
  plot.subscribe('deselect', () => events.select(null));
  plot.subscribe('view', () => events.view(camera()));

  function camera(): [number, number, number] {
    const target = plot.get('cameraTarget') as number[];
    return [target[0], target[1], plot.get('cameraDistance') as number];
  }

  // regl-scatterplot takes rows; one flat pass builds them (the library would do the same).
  function rows(points: ScatterPoints): number[][] {
    const n = points.xy.length / 2;
    const { xy, category, size } = points;
    const out = new Array<number[]>(n);
    for (let i = 0; i < n; i++) out[i] = [xy[2 * i], xy[2 * i + 1], category ? category[i] : 0, size ? size[i] : 0];
    return out;
  }

  // Trajectories as line annotations (one colour per piece: regl-line draws them in one call).
  // Not regl-scatterplot's point connections: its splines overshoot wildly through repeated
  // points (a steady drone's segments all sit on one spot).
  function draw_lines(lines: Trajectories | null): Promise<void> {
    if (!lines || lines.offsets.length < 2) return plot.clearAnnotations() ?? Promise.resolve();
    const { vertices, offsets, colour } = lines;
    const annotations = new Array(offsets.length - 1);
    for (let l = 0; l < offsets.length - 1; l++) {
      const v: number[][] = [];
      for (let k = offsets[l]; k < offsets[l + 1]; k++) v.push([vertices[2 * k], vertices[2 * k + 1]]);
      annotations[l] = { vertices: v, lineColor: TRAJECTORY_GRADIENT[colour[l]] };
    }
    return plot.drawAnnotations(annotations);
  }

  function apply_style(style: ScatterStyle, points: ScatterPoints) {
    const averages = style.mode === 'averages' && points.size !== null;
    plot.set({
      pointColor: style.palette as string[],
      colorBy: 'valueA',
      sizeBy: averages ? 'valueB' : null,
      pointSize: averages
        ? Array.from({ length: SIZE_BINS }, (_, k) => AVERAGE_MIN_PX + ((AVERAGE_MAX_PX - AVERAGE_MIN_PX) * k) / (SIZE_BINS - 1))
        : dot_size_px(points.xy.length / 2),
      opacity: averages ? 0.55 : 0.9,
      pointScaleMode: averages ? 'linear' : 'asinh',
    } as never);
  }

  async function pump() {
    if (drawing || !pending) return;
    drawing = true;
    const job = pending;
    pending = null;
    try {
      apply_style(job.style, job.points);
      const n = job.points.xy.length / 2;
      const transition = job.transition && n === count && n > 0;
      await draw_lines(job.style.mode === 'trajectories' ? job.points.lines : null);
      await plot.draw(rows(job.points), {
        transition,
        transitionDuration: 250,
        spatialIndex: job.points.spatial_index,
        zDataType: 'categorical',
        wDataType: 'continuous',
        preventFilterReset: true,
      } as never);
      count = n;
      if (highlighted) plot.select(highlighted, { preventEvent: true });
    } finally {
      drawing = false;
      job.done.forEach((f) => f());
      void pump();
    }
  }

  return {
    // Draws a new point set (replacing the old one). Calls while a draw runs are coalesced:
    // only the latest set is drawn next (t-SNE progress frames may come faster than frames).
    draw(points: ScatterPoints, style: ScatterStyle, transition = false): Promise<void> {
      return new Promise((resolve) => {
        const done = pending ? [...pending.done, resolve] : [resolve];
        pending = { points, style, transition, done };
        void pump();
      });
    },
    clear() {
      pending = null;
      count = 0;
      plot.clear();
    },
    // Emphasises these points (one track) or none; does not publish 'select'.
    highlight(indices: number[] | null) {
      highlighted = indices && indices.length ? indices : null;
      if (count === 0) return;
      if (highlighted) plot.select(highlighted, { preventEvent: true });
      else plot.deselect({ preventEvent: true });
    },
    camera,
    set_camera(c: [number, number, number]) {
      plot.set({ cameraTarget: [c[0], c[1]], cameraDistance: c[2] } as never);
    },
    reset() {
      plot.reset();
    },
    screen_position(index: number): [number, number] | undefined {
      return plot.getScreenPosition(index) as [number, number] | undefined;
    },
    count: () => count,
    destroy() {
      plot.destroy();
    },
  };
}
