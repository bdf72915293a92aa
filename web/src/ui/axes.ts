// ui/axes.ts — PCA axis labels along the plot's edges: the tags most negatively and most
// positively correlated with each shown component (Pearson's r over the shown points, from
// /api/axes) and the component's explained variance. Reads along the axis: the most negative
// tag at the low end, the most positive at the high end.
import type { AxisExplanation, AxisTag, Axes } from '../api';

const MINUS = '\u2212';

export function format_r(r: number): string {
  return `${r < 0 ? MINUS : '+'}${Math.abs(r).toFixed(2)}`;
}

function tag_span(t: AxisTag, side: 'negative' | 'positive', rank: number): HTMLElement {
  const span = document.createElement('span');
  span.className = `tag ${side}`;
  span.dataset.rank = String(rank);
  const name = document.createElement('b');
  name.className = 'name';
  name.textContent = t.name;
  const r = document.createElement('span');
  r.className = 'r';
  r.textContent = format_r(t.r);
  span.append(name, ' ', r);
  return span;
}

function joined(spans: HTMLElement[]): Array<Node | string> {
  return spans.flatMap((s, i) => (i ? [' · ', s] : [s]));
}

function render_axis(root: HTMLElement, axis: AxisExplanation | null, method: string) {
  root.replaceChildren();
  root.hidden = !axis;
  if (!axis) return;
  const negative = axis.negative.map((t, i) => tag_span(t, 'negative', i));           // most negative first (low end)
  const positive = axis.positive.map((t, i) => tag_span(t, 'positive', i)).reverse(); // most positive last (high end)
  const centre = document.createElement('span');
  centre.className = 'component';
  centre.textContent = `${method === 'std-pca' ? 'STD-PC' : 'PC'}${axis.component + 1} ${(axis.explained_variance_ratio * 100).toFixed(1)}%`;
  root.append('\u2190 ', ...joined(negative), ' | ', centre, ' | ', ...joined(positive), ' \u2192');
}

// null hides both labels (another method, or no explanation available).
export function render_axes(x_root: HTMLElement, y_root: HTMLElement, axes: Axes | null) {
  render_axis(x_root, axes?.axes.x ?? null, axes?.method ?? '');
  render_axis(y_root, axes?.axes.y ?? null, axes?.method ?? '');
  const title = axes ? `Pearson's r with ${axes.tags_space} over ${axes.correlated_points.toLocaleString()} shown points` : '';
  x_root.title = y_root.title = title;
}
