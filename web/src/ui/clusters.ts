// ui/clusters.ts — t-SNE/UMAP cluster labels: each island of the layout named by its top tags,
// as HTML text over the WebGL canvas. The labels sit at data positions; place() moves them to
// where the current camera shows those positions (called on every pan/zoom frame).
import type { Cluster } from '../api';

const TAGS_SHOWN = 2;

export interface PlacedCluster extends Cluster {
  at: [number, number];         // centre in the points' normalised coordinates
}

export function create_cluster_labels(root: HTMLElement) {
  let clusters: PlacedCluster[] = [];
  let labels: HTMLElement[] = [];

  function show(list: PlacedCluster[] | null) {
    clusters = list ?? [];
    labels = clusters.map((c, i) => {
      const label = document.createElement('div');
      label.className = 'cluster-label';
      label.dataset.index = String(i);
      label.textContent = c.tags.slice(0, TAGS_SHOWN).map((t) => t.name).join(' · ');
      label.title = `${c.count} points: ` + c.tags.map((t) => `${t.name} ${t.z >= 0 ? '+' : ''}${t.z.toFixed(1)}σ`).join(', ');
      return label;
    });
    root.replaceChildren(...labels);
  }

  // to_screen: normalised -> CSS px in the plot.
  function place(to_screen: (x: number, y: number) => [number, number]) {
    clusters.forEach((c, i) => {
      const [x, y] = to_screen(c.at[0], c.at[1]);
      labels[i].style.transform = `translate(${x.toFixed(1)}px, ${y.toFixed(1)}px) translate(-50%, -50%)`;
    });
  }

  return {
    show,
    place,
    set_visible(visible: boolean) { root.hidden = !visible; },
    count: () => clusters.length,
  };
}

// A cluster centre in layout units -> the points' normalised coordinates (the worker's bounds).
export function place_clusters(list: Cluster[], bounds: [number, number, number, number]): PlacedCluster[] {
  const [x0, x1, y0, y1] = bounds;
  return list.map((c) => ({ ...c, at: [-1 + (2 * (c.x - x0)) / (x1 - x0), -1 + (2 * (c.y - y0)) / (y1 - y0)] }));
}
