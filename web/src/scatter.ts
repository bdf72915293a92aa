// scatter.ts — the renderer: owns regl-scatterplot and its WebGL context, nothing else.
// In: typed arrays (normalised xy, palette index per point, size, track grouping) and a style.
// Out: events (pointover, pointout, select, view). What a point *means* is the app's business.
// ref: regl-scatterplot src/renderer.js (renderer apart from UI), STYLE.md "The web app".
import createScatterplot from 'regl-scatterplot';
import type { Regl } from 'regl';
import { BACKGROUND, TRAJECTORY_GRADIENT } from './colour';
import type { Trajectories } from './protocol';
import type { DragMode, ViewMode } from './state';

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
  // A finished lasso / box: its closed polygon [x0, y0, x1, y1, ...] in the points' normalised
  // coordinates (which points lie inside is the pane's worker's business).
  lasso(polygon: Float32Array): void;
}

// Lines drawn over the points (a goal-guided walk): vertices in the points' coordinates.
export interface Overlay {
  vertices: Array<[number, number]>;
  colour: [number, number, number, number]; // RGBA in [0, 1]
}

const SIZE_BINS = 32;            // distinct dot sizes for averages
// Highlights this large (a lasso's) reach regl-scatterplot in a task of their own: its select()
// takes 20-40 ms of CPU for 80k points (plus the garbage of 80k small arrays), which came on
// top of the task that lists the selection (72-191 ms at 100k points, load 7-9).
const DEFERRED_HIGHLIGHT = 10_000;
const AVERAGE_MIN_PX = 4, AVERAGE_MAX_PX = 48; // diameter of the least / most spread track

// Fewer points get bigger dots; a million stay small enough not to merge into a blanket.
function dot_size_px(n: number): number {
  return n < 1_000 ? 7 : n < 10_000 ? 5 : n < 200_000 ? 3 : 2;
}

// A pointerrawupdate listener that hands `handler` the first raw update of each animation
// frame, mouse only, no button down (a hover): raw updates come at the mouse's rate, several a
// frame, and a hover's work once a frame is what the frame-aligned mousemove gave.
export function first_raw_update_per_frame(handler: (e: PointerEvent) => void): (e: Event) => void {
  let handled_this_frame = false;
  return (e) => {
    const p = e as PointerEvent;
    if (p.buttons !== 0 || p.pointerType !== 'mouse' || handled_this_frame) return;
    handled_this_frame = true;
    requestAnimationFrame(() => { handled_this_frame = false; });
    handler(p);
  };
}

// Resolves in a later task: the main thread may paint and handle input in between.
function next_task(): Promise<void> {
  const scheduler = (globalThis as { scheduler?: { yield?: () => Promise<void> } }).scheduler;
  if (scheduler?.yield) return scheduler.yield();
  return new Promise((resolve) => setTimeout(resolve, 0));
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
    actionKeyMap: {},            // no modifier actions: the lasso is ours (create_lasso below)
    lassoInitiator: false,
    deselectOnEscape: true,
    deselectOnDblClick: true,
    annotationLineWidth: 1.5,
  } as never);

  let count = 0;
  let drawing = false;
  let pending: { points: ScatterPoints; style: ScatterStyle; transition: boolean; generation: number; done: Array<() => void> } | null = null;
  let generation = 0;                     // bumped by clear(): a draw started before is dropped
  let highlighted: number[] | null = null;
  // The highlight array regl-scatterplot's selection was last set from (null: something else
  // since): re-emphasising the same highlight then costs nothing (comparing 80k points did).
  let selected_from: number[] | null = null;
  let highlight_timer = 0;                // a large highlight waiting for its own task
  let filtered: number[] | null = null;   // the only points shown (null = all)
  let overlay: Overlay[] = [];
  const trajectories = create_trajectory_layer(plot, canvas);
  let drag_mode: DragMode = 'pan';

  plot.subscribe('pointOver', (i: number) => events.pointover(i));
  plot.subscribe('pointOut', (i: number) => events.pointout(i));
  // Hover without waiting for a frame: Chrome delivers mousemove at the next animation frame,
  // which trails the input while software WebGL finishes the last one (100-600 ms on 2 busy
  // cores: hover -> sound p95), whereas pointerrawupdate runs as soon as the main thread is
  // free. regl-scatterplot hit-tests on window mousemove only, so a raw update with no button
  // down is handed to it as one; the aligned mousemove that follows finds the same point and
  // publishes nothing new. Only the first raw update of a frame is handed on: raw updates
  // come at the mouse's rate, several a frame, and hit-testing + highlighting each one made
  // 60-290 ms tasks while hovering 100k points (web-bench); one a frame is what mousemove gave.
  canvas.addEventListener('pointerrawupdate', first_raw_update_per_frame((p) => {
    window.dispatchEvent(new MouseEvent('mousemove', { clientX: p.clientX, clientY: p.clientY }));
  }));
  plot.subscribe('select', ({ points }: { points: number[] }) => {
    selected_from = null;
    clicks++; // answered: no highlight restore
    events.select(points.length ? points[0] : null);
  });
  plot.subscribe('deselect', () => { selected_from = null; events.select(null); });
  // Shift+drag lassos; a plain drag pans, or lassos / boxes per the drag mode.
  const lasso = create_lasso(canvas, {
    starts: (e) => count > 0 && (drag_mode !== 'pan' || e.shiftKey),
    box: () => drag_mode === 'box',
    end: (polygon) => {
      const out = new Float32Array(polygon.length);
      for (let i = 0; i < polygon.length; i += 2) [out[i], out[i + 1]] = from_screen(polygon[i], polygon[i + 1]);
      events.lasso(out);
    },
  });
  // regl-scatterplot publishes 'select' only when the selection changes, and our highlight
  // *is* its selection: a click on the one highlighted point (an average) would go unheard.
  // So the selection is emptied quietly just before its click handler runs (capture phase on
  // the parent); when the click picked nothing, the highlight comes back.
  let clicks = 0;
  canvas.parentElement!.addEventListener('click', (e) => {
    if (e.target !== canvas || count === 0) return;
    if (lasso.ended_drag()) { e.stopPropagation(); return; } // the end of a lasso, not a click on a point
    const click = ++clicks;
    plot.deselect({ preventEvent: true });
    selected_from = null;
    setTimeout(() => { if (click === clicks) restore_highlight(); }, 120);
  }, { capture: true });
  plot.subscribe('view', () => events.view(camera()));

  // The camera that shows the whole normalised square [-1, 1]²: regl-scatterplot fits its
  // height, so a portrait canvas (a compare pane) steps back until the width fits too.
  function home(): [number, number, number] {
    const aspect = canvas.clientWidth / canvas.clientHeight;
    return [0, 0, aspect > 0 && aspect < 1 ? 1 / aspect : 1];
  }

  // The points' normalised coordinates at CSS px (relative to the canvas): to_screen inverted.
  function from_screen(sx: number, sy: number): [number, number] {
    const view = (plot.get('camera') as { view: Float32Array | number[] }).view;
    const aspect = plot.get('aspectRatio') as number;
    const w = canvas.clientWidth, h = canvas.clientHeight;
    const cx = ((2 * sx) / w - 1) * (w / h) - view[12];
    const cy = 1 - (2 * sy) / h - view[13];
    const det = view[0] * view[5] - view[4] * view[1];
    const vx = (cx * view[5] - view[4] * cy) / det;
    const y = (view[0] * cy - view[1] * cx) / det;
    return [vx / aspect, y];
  }

  function camera(): [number, number, number] {
    const target = plot.get('cameraTarget') as number[];
    return [target[0], target[1], plot.get('cameraDistance') as number];
  }

  // regl-scatterplot takes rows ([x, y, value A, value B] per point; its {x, y, z, w} column
  // form is turned into fresh rows inside the library). A recolour or a new layout of the same
  // number of points rewrites the last rows in place instead of allocating 100k arrays again
  // (the library keeps the array only to read positions, which it is given anew here). The rows
  // of the last two point counts are kept: switching the view segments -> averages -> segments
  // then finds the 100k rows still there, where allocating them again (and collecting the old
  // ones) was ~30 of the 85 profile samples of that switch's 129-180 ms task.
  const rows_by_count = new Map<number, number[][]>();
  function rows(points: ScatterPoints): number[][] {
    const n = points.xy.length / 2;
    const { xy, category, size } = points;
    let out = rows_by_count.get(n);
    if (!out) {
      out = Array.from({ length: n }, () => [0, 0, 0, 0]);
      if (rows_by_count.size >= 2) rows_by_count.delete(rows_by_count.keys().next().value!); // the older count
    }
    rows_by_count.delete(n);
    rows_by_count.set(n, out); // (a Map iterates in insertion order: the latest count last)
    for (let i = 0; i < n; i++) {
      const r = out[i];
      r[0] = xy[2 * i];
      r[1] = xy[2 * i + 1];
      r[2] = category ? category[i] : 0;
      r[3] = size ? size[i] : 0;
    }
    return out;
  }

  // The walk overlay as line annotations (a few thick vertices: regl-line's cost is small).
  // Trajectories are not annotations: see create_trajectory_layer.
  // Clearing when nothing is drawn is skipped: regl-line's clear recompiles its draw command.
  let annotated = false;
  function draw_lines(): Promise<void> {
    const annotations = overlay.filter((o) => o.vertices.length >= 2).map((o) => ({ vertices: o.vertices, lineColor: o.colour, lineWidth: 3 }));
    const was = annotated;
    annotated = annotations.length > 0;
    if (!annotated) return was ? plot.clearAnnotations() ?? Promise.resolve() : Promise.resolve();
    return plot.drawAnnotations(annotations as never);
  }

  function restore_highlight() {
    if (count === 0) return;
    if (!highlighted) plot.deselect({ preventEvent: true });
    else if (highlighted === selected_from) plot.redraw();
    else if (same_points(highlighted, plot.get('selectedPoints') as number[])) plot.redraw();
    else plot.select(highlighted, { preventEvent: true });
    selected_from = highlighted;
  }

  // Whether two lists of distinct point indices hold the same points. regl-scatterplot's
  // select() asks the same with two Sets (24 ms for a 60k-point lasso whose points the app
  // then highlights); a mark per point is a few ms.
  function same_points(a: number[], b: number[]): boolean {
    if (a.length !== b.length) return false;
    const mark = new Uint8Array(count);
    for (const i of b) mark[i] = 1;
    return a.every((i) => mark[i] === 1);
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
      // Building the rows and the library's upload (state texture, point index: ~25 profile
      // samples at 100k points) each get a task of their own, apart from the task that
      // delivered the points (the worker's message, the side panel's update): together they
      // were one 129-180 ms task when the view switched back to segments at 100k points.
      await next_task();
      if (job.generation !== generation) return; // cleared meanwhile
      const points = rows(job.points);
      await next_task();
      if (job.generation !== generation) return;
      apply_style(job.style, job.points);
      const n = job.points.xy.length / 2;
      const transition = job.transition && n === count && n > 0;
      trajectories.set(job.style.mode === 'trajectories' ? job.points.lines : null);
      if (!annotated && overlay.some((o) => o.vertices.length >= 2)) await draw_lines(); // set before any points, or cleared
      await plot.draw(points, {
        transition,
        transitionDuration: 250,
        spatialIndex: job.points.spatial_index,
        zDataType: 'categorical',
        wDataType: 'continuous',
        preventFilterReset: true,
      } as never);
      count = n;
      selected_from = null;
      if (filtered) await plot.filter(filtered, { preventEvent: true } as never);
      if (highlighted) plot.select(highlighted, { preventEvent: true });
      selected_from = highlighted;
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
        pending = { points, style, transition, generation, done };
        void pump();
      });
    },
    clear() {
      generation++;
      pending = null;
      count = 0;
      filtered = null;
      selected_from = null;
      trajectories.set(null);
      plot.clear();
      annotated = false; // (cleared with the points)
    },
    // Emphasises these points (one track) or none; does not publish 'select'.
    highlight(indices: number[] | null) {
      highlighted = indices && indices.length ? indices : null;
      clearTimeout(highlight_timer);
      if (highlighted && highlighted.length >= DEFERRED_HIGHLIGHT && highlighted !== selected_from) {
        highlight_timer = window.setTimeout(restore_highlight, 0);
      } else restore_highlight();
    },
    highlighted: (): number[] => (count ? [...(plot.get('selectedPoints') as number[])] : []),
    // Shows only these points (null: all). Kept across redraws of the same point set.
    filter(indices: Int32Array | null) {
      filtered = indices ? Array.from(indices) : null;
      if (count === 0) return;
      selected_from = null; // (filtering drops hidden points from the library's selection)
      if (filtered) void Promise.resolve(plot.filter(filtered, { preventEvent: true } as never)).then(restore_highlight);
      else void Promise.resolve(plot.unfilter({ preventEvent: true } as never)).then(restore_highlight);
    },
    filtered: (): number[] | null => (plot.get('isPointsFiltered') ? [...(plot.get('filteredPoints') as number[])] : null),
    set_overlay(lines_over: Overlay[]) {
      overlay = lines_over;
      if (count) void draw_lines();
    },
    set_drag(mode: DragMode) {
      drag_mode = mode;
    },
    camera,
    // CSS px (relative to the canvas) of a position in the points' normalised coordinates,
    // under the current camera: regl-scatterplot's getScreenPosition for any position.
    to_screen(x: number, y: number): [number, number] {
      const view = (plot.get('camera') as { view: Float32Array | number[] }).view;
      const aspect = plot.get('aspectRatio') as number;
      const w = canvas.clientWidth, h = canvas.clientHeight;
      const vx = x * aspect;
      const cx = (view[0] * vx + view[4] * y + view[12]) / (w / h);
      const cy = view[1] * vx + view[5] * y + view[13];
      return [(w * (cx + 1)) / 2, h * (0.5 - cy / 2)];
    },
    set_camera(c: [number, number, number]) {
      plot.set({ cameraTarget: [c[0], c[1]], cameraDistance: c[2] } as never);
    },
    home,
    // Back to the fitted view (home()).
    reset() {
      plot.reset();
      const fitted = home();
      if (fitted[2] !== 1) plot.set({ cameraDistance: fitted[2] } as never);
    },
    screen_position(index: number): [number, number] | undefined {
      return plot.getScreenPosition(index) as [number, number] | undefined;
    },
    count: () => count,
    destroy() {
      clearTimeout(highlight_timer);
      lasso.destroy();
      trajectories.destroy();
      plot.destroy();
    },
  };
}

// Trajectories: one gl.LINES draw of the worker's vertex pairs, in regl-scatterplot's own
// frame (its renderer's render() is wrapped, so the lines land in the same framebuffer, after
// the points, under the same camera). The earlier drawAnnotations path made regl-line expand
// ~100k vertices into strided JS arrays on the main thread: 1.2-1.4 s a view switch.
// Not regl-scatterplot's point connections: its splines overshoot wildly through repeated
// points (a steady drone's segments all sit on one spot). Lines are 1 px (WebGL's only
// guaranteed width); the dark -> bright gradient and the arrowheads show the direction.
function create_trajectory_layer(plot: ReturnType<typeof createScatterplot>, canvas: HTMLCanvasElement) {
  type Renderer = { regl: Regl; canvas: HTMLCanvasElement; render(draw: () => void, target: HTMLCanvasElement): void };
  const renderer = plot.get('renderer' as never) as unknown as Renderer;
  const regl = renderer.regl;
  const buffer = regl.buffer({ usage: 'static', type: 'float', length: 0 });
  let vertices = 0;
  const mvp = new Float32Array(16);
  const gradient = new Float32Array(TRAJECTORY_GRADIENT.flat()); // mat4: column k = stop k's RGBA

  // projection * view * model as regl-scatterplot builds them (index.js updateProjectionMatrix,
  // updateViewAspectRatio): projection and model are diagonal, so each view entry is scaled.
  function model_view_projection(): Float32Array {
    const view = (plot.get('camera') as { view: Float32Array | number[] }).view;
    const view_aspect = canvas.width / canvas.height;
    const p = [canvas.width / renderer.canvas.width / view_aspect, canvas.height / renderer.canvas.height, 1, 1];
    const m = [plot.get('aspectRatio') as number, 1, 1, 1];
    for (let c = 0; c < 4; c++) for (let r = 0; r < 4; r++) mvp[c * 4 + r] = p[r] * view[c * 4 + r] * m[c];
    return mvp;
  }

  const draw = regl({
    vert: `
      precision highp float;
      attribute vec2 position;
      attribute float stop;
      uniform mat4 mvp;
      uniform mat4 gradient;
      varying vec4 colour;
      void main() {
        colour = gradient[int(stop + 0.5)];
        gl_Position = mvp * vec4(position, 0.0, 1.0);
      }`,
    frag: `
      precision highp float;
      varying vec4 colour;
      void main() { gl_FragColor = colour; }`,
    attributes: {
      position: { buffer, stride: 12, offset: 0 },
      stop: { buffer, stride: 12, offset: 8 },
    },
    uniforms: { mvp: model_view_projection, gradient },
    primitive: 'lines',
    count: () => vertices,
    depth: { enable: false },
    blend: { // as regl-scatterplot's points and annotations
      enable: true,
      func: { srcRGB: 'src alpha', srcAlpha: 'one', dstRGB: 'one minus src alpha', dstAlpha: 'one minus src alpha' },
    },
  });

  const render = renderer.render;
  renderer.render = (draw_plot, target) => render(() => {
    draw_plot();
    if (vertices > 0 && target === canvas) draw();
  }, target);

  return {
    // Shows these trajectories (null: none); drawn from the next frame on.
    set(lines: Trajectories | null) {
      const n = lines ? lines.segments.length / 3 : 0;
      if (n === 0 && vertices === 0) return;
      if (lines && n > 0) buffer({ usage: 'static', type: 'float', data: lines.segments });
      vertices = n;
      plot.redraw();
    },
    destroy() {
      renderer.render = render;
      buffer.destroy();
    },
  };
}

// The lasso and the box, drawn as an SVG line over the canvas. regl-scatterplot's own lasso
// tested and selected every point inside on the main thread in its mouseup (~110 ms for 80k
// points); this one only hands over the polygon. regl-scatterplot and its camera still see the
// mousedown and mouseup (their click test and drag state stay right) but none of the moves in
// between, so they neither pan nor hover while a lasso is drawn.
const LASSO_MIN_STEP_PX = 2;    // freeform: pointer moves shorter than this add no vertex
const LASSO_MIN_SIZE_PX = 3;    // a smaller drag is a click
const LASSO_COLOUR = 'rgb(79, 156, 255)';

interface LassoHooks {
  starts(e: MouseEvent): boolean;     // whether this mousedown begins a lasso
  box(): boolean;                     // a box (two corners) rather than a freeform lasso
  end(polygon: number[]): void;       // CSS px relative to the canvas, [x0, y0, x1, y1, ...]
}

function create_lasso(canvas: HTMLCanvasElement, hooks: LassoHooks) {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('class', 'lasso');
  svg.style.cssText = 'position: absolute; inset: 0; width: 100%; height: 100%; pointer-events: none; overflow: visible';
  svg.style.display = 'none';
  const line = document.createElementNS('http://www.w3.org/2000/svg', 'polygon');
  line.setAttribute('style', `fill: ${LASSO_COLOUR}; fill-opacity: 0.06; stroke: ${LASSO_COLOUR}; stroke-width: 2; stroke-linejoin: round`);
  svg.append(line);
  canvas.after(svg);

  let path: number[] | null = null;   // while drawing
  let box = false;
  let origin: [number, number] = [0, 0]; // the canvas's client position at the mousedown
  let ended = false;                  // a lasso ended with the last mouseup: its click is no click

  const at = (e: MouseEvent): [number, number] => [e.clientX - origin[0], e.clientY - origin[1]];
  const polygon = (): number[] => {
    if (!path || !box) return path ?? [];
    const [x0, y0, x1, y1] = path;
    return [x0, y0, x1, y0, x1, y1, x0, y1];
  };

  const down = (e: MouseEvent) => {
    ended = false;
    if (e.button !== 0 || !hooks.starts(e)) return;
    const rect = canvas.getBoundingClientRect();
    origin = [rect.left, rect.top];
    box = hooks.box();
    const p = at(e);
    path = box ? [...p, ...p] : p;
  };
  const move = (e: MouseEvent) => {
    if (!path) return;
    e.stopPropagation(); // (capture phase on window: regl-scatterplot and its camera never see it)
    e.preventDefault();
    if ((e.buttons & 1) === 0) { up(); return; } // released outside the page
    const [x, y] = at(e);
    const n = path.length;
    if (box) { path[2] = x; path[3] = y; }
    else if (Math.hypot(x - path[n - 2], y - path[n - 1]) >= LASSO_MIN_STEP_PX) path.push(x, y);
    else return;
    line.setAttribute('points', polygon().join(' '));
    svg.style.display = '';
  };
  const up = () => {
    if (!path) return;
    const p = polygon();
    path = null;
    svg.style.display = 'none';
    line.removeAttribute('points');
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (let i = 0; i < p.length; i += 2) {
      x0 = Math.min(x0, p[i]); x1 = Math.max(x1, p[i]);
      y0 = Math.min(y0, p[i + 1]); y1 = Math.max(y1, p[i + 1]);
    }
    if (p.length < 6 || Math.max(x1 - x0, y1 - y0) < LASSO_MIN_SIZE_PX) return; // a click: regl-scatterplot picks
    ended = true;
    hooks.end(p);
  };
  canvas.addEventListener('mousedown', down);
  window.addEventListener('mousemove', move, { capture: true });
  window.addEventListener('mouseup', up, { capture: true });

  return {
    // Whether the last drag was a lasso (asked by the click that follows its mouseup).
    ended_drag: () => ended,
    destroy() {
      canvas.removeEventListener('mousedown', down);
      window.removeEventListener('mousemove', move, { capture: true });
      window.removeEventListener('mouseup', up, { capture: true });
      svg.remove();
    },
  };
}
