// ui/controls.ts — the control panel: every control of the paper's interface. Built once;
// sync() puts a state (and what the collection offers) into the widgets; a user change
// calls on_change with the fields it changes. The panel never fetches or draws.
import type { ModelInfo, SpaceInfo, Summary } from '../api';
import type { ViewState } from '../state';

export interface ControlsContext {
  summary: Summary;
  space: SpaceInfo | null;            // the space shown (null: missing)
  colour_dims: { tags: string[]; moods: string[] }; // what "colour by" can offer
  explained_variance_ratio: number[] | null; // of the last PCA layout
}

const ARCHITECTURES = [['musicnn', 'MusiCNN'], ['vgg', 'VGG']] as const;
const DATASETS = [['msd', 'MSD'], ['mtt', 'MTT']] as const;
const PCA_COMPONENTS_LISTED = 10;

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> & Record<string, unknown> = {}, ...children: (Node | string)[]) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k.startsWith('data-') || k === 'list' || k === 'for') node.setAttribute(k, String(v));
    else (node as unknown as Record<string, unknown>)[k] = v;
  }
  node.append(...children);
  return node;
}

export function row(label: string, ...children: (Node | string)[]) {
  return el('div', { className: 'row' }, el('span', { className: 'label' }, label), ...children);
}

export function options(select: HTMLSelectElement, items: Array<[string, string, boolean?]>) {
  const wanted = items.map(([v, t, d]) => `${v}\u0000${t}\u0000${d ? 1 : 0}`).join('\u0001');
  if (select.dataset.items === wanted) return;
  select.dataset.items = wanted;
  select.replaceChildren(...items.map(([value, text, disabled]) => el('option', { value, textContent: text, disabled: !!disabled })));
}

export function model_of(summary: Summary, architecture: string, dataset: string): ModelInfo | undefined {
  return summary.models.find((m) => m.architecture === architecture && m.dataset === dataset);
}

export function create_controls(root: HTMLElement, on_change: (patch: Partial<ViewState>) => void, on_reset_view: () => void) {
  const summary_line = el('div', { id: 'summary', className: 'summary' });
  const tracks = el('input', { id: 'tracks', type: 'number', min: '1', step: '1', title: 'How many tracks' });
  const all = el('input', { id: 'all-tracks', type: 'checkbox' });
  const seed = el('input', { id: 'seed', type: 'number', step: '1', title: 'Which tracks (shuffle seed)' });
  const shuffle = el('button', { id: 'shuffle', type: 'button', textContent: 'Shuffle' });
  const architecture = el('select', { id: 'architecture' });
  const dataset = el('select', { id: 'dataset' });
  const imported = el('select', { id: 'imported' });
  const layer = el('select', { id: 'layer' });
  const missing = el('div', { id: 'missing', className: 'missing' });
  const method = el('select', { id: 'method' });
  options(method, [['original', 'Original'], ['pca', 'PCA'], ['std-pca', 'STD-PCA'], ['tsne', 't-SNE'], ['umap', 'UMAP']]);
  const perplexity = el('input', { id: 'perplexity', type: 'number', min: '2', step: '1' });
  const learning_rate = el('input', { id: 'learning-rate', type: 'number', min: '1', step: '1', placeholder: 'auto' });
  const iterations = el('input', { id: 'iterations', type: 'number', min: '50', step: '50' });
  const n_neighbors = el('input', { id: 'n-neighbors', type: 'number', min: '2', step: '1' });
  const min_dist = el('input', { id: 'min-dist', type: 'number', min: '0', max: '1', step: '0.05' });
  const advanced = el('details', { id: 'advanced' },
    el('summary', {}, 'Advanced'),
    el('div', { className: 'tsne' }, row('Perplexity', perplexity), row('Learning rate', learning_rate), row('Iterations', iterations)),
    el('div', { className: 'umap' }, row('Neighbours', n_neighbors), row('Min. distance', min_dist)));
  const dims = el('datalist', { id: 'dims' });
  const axis_x = el('input', { id: 'axis-x', ...{ list: 'dims' } as Record<string, unknown>, placeholder: 'tag or index', autocomplete: 'off' });
  const axis_y = el('input', { id: 'axis-y', ...{ list: 'dims' } as Record<string, unknown>, placeholder: 'tag or index', autocomplete: 'off' });
  const log = el('input', { id: 'log', type: 'checkbox' });
  const original_axes = el('div', { className: 'original-axes' }, row('X', axis_x), row('Y', axis_y),
    row('Log scale', log), dims);
  const pc_x = el('select', { id: 'pc-x' });
  const pc_y = el('select', { id: 'pc-y' });
  const pca_axes = el('div', { className: 'pca-axes' }, row('X', pc_x), row('Y', pc_y));
  const view = el('select', { id: 'view' });
  options(view, [['segments', 'Segments'], ['trajectories', 'Trajectories'], ['averages', 'Averages']]);
  const colour = el('select', { id: 'colour' });
  const audio = el('select', { id: 'audio' });
  options(audio, [['hover', 'on hover'], ['click', 'on click'], ['off', 'off']]);
  const reset = el('button', { id: 'reset-view', type: 'button', textContent: 'Reset view' });
  const cluster_labels = el('input', { id: 'cluster-labels', type: 'checkbox', title: 'Name the clusters of a t-SNE/UMAP layout by their top tags' });
  const cluster_row = row('Clusters', el('label', {}, cluster_labels, ' labels'));

  root.append(
    el('h1', {}, 'tagscape'), summary_line,
    el('fieldset', {}, el('legend', {}, 'Tracks'), row('N', tracks, el('label', {}, all, ' all')), row('Seed', seed, shuffle)),
    el('fieldset', {}, el('legend', {}, 'Space'), row('Model', architecture), row('Dataset', dataset),
      row('Imported', imported), row('Layer', layer), missing),
    el('fieldset', {}, el('legend', {}, 'Projection'), row('Method', method), advanced),
    el('fieldset', { id: 'axes' }, el('legend', {}, 'Axes'), original_axes, pca_axes),
    el('fieldset', {}, el('legend', {}, 'Display'), row('View', view), row('Colour', colour), row('Audio', audio), cluster_row, reset),
  );

  let state: ViewState | null = null;
  let context: ControlsContext | null = null;

  const int = (input: HTMLInputElement, fallback: number) => {
    const v = Math.round(Number(input.value));
    return Number.isFinite(v) && input.value !== '' ? v : fallback;
  };
  tracks.addEventListener('change', () => on_change({ tracks: Math.max(1, int(tracks, 100)) }));
  all.addEventListener('change', () => on_change({ tracks: all.checked ? 'all' : Math.max(1, int(tracks, 100)) }));
  seed.addEventListener('change', () => on_change({ seed: int(seed, 0) }));
  shuffle.addEventListener('click', () => on_change({ seed: Math.floor(Math.random() * 1_000_000) }));
  const pick_model = () => {
    const m = model_of(context!.summary, architecture.value, dataset.value);
    if (m) on_change({ model: m.id });
  };
  architecture.addEventListener('change', pick_model);
  dataset.addEventListener('change', pick_model);
  imported.addEventListener('change', () => {
    if (imported.value) on_change({ model: imported.value });
    else pick_model();
  });
  layer.addEventListener('change', () => on_change({ layer: layer.value as ViewState['layer'] }));
  method.addEventListener('change', () => on_change({ method: method.value as ViewState['method'] }));
  // The fold opens at once but reports it in a later 'toggle' task: a sync() in between (any
  // other change) must not close it again.
  let toggling = false;
  advanced.querySelector('summary')!.addEventListener('click', () => { toggling = true; });
  advanced.addEventListener('toggle', () => {
    toggling = false;
    if (state && state.advanced !== advanced.open) on_change({ advanced: advanced.open });
  });
  perplexity.addEventListener('change', () => on_change({ perplexity: Math.max(2, Number(perplexity.value) || 30) }));
  learning_rate.addEventListener('change', () => on_change({ learningRate: learning_rate.value === '' ? null : Math.max(1, Number(learning_rate.value)) }));
  iterations.addEventListener('change', () => on_change({ iterations: Math.max(50, int(iterations, 1000)) }));
  n_neighbors.addEventListener('change', () => on_change({ nNeighbors: Math.max(2, int(n_neighbors, 15)) }));
  min_dist.addEventListener('change', () => on_change({ minDist: Math.min(1, Math.max(0, Number(min_dist.value))) }));
  axis_x.addEventListener('change', () => on_change({ origX: axis_x.value.trim() || '0' }));
  axis_y.addEventListener('change', () => on_change({ origY: axis_y.value.trim() || '1' }));
  log.addEventListener('change', () => on_change({ log: log.checked }));
  pc_x.addEventListener('change', () => on_change({ pcX: Number(pc_x.value) }));
  pc_y.addEventListener('change', () => on_change({ pcY: Number(pc_y.value) }));
  view.addEventListener('change', () => on_change({ view: view.value as ViewState['view'] }));
  colour.addEventListener('change', () => on_change({ colour: colour.value }));
  audio.addEventListener('change', () => on_change({ audio: audio.value as ViewState['audio'] }));
  reset.addEventListener('click', on_reset_view);
  cluster_labels.addEventListener('change', () => on_change({ clusterLabels: cluster_labels.checked }));

  function sync(s: ViewState, c: ControlsContext) {
    state = s;
    context = c;
    const { summary } = c;
    const col = summary.collection;
    summary_line.textContent = `${col.name}: ${col.tracks} tracks, ${col.segments} segments, ${(col.duration_s / 60).toFixed(1)} min` +
      (col.failed ? ` (${col.failed} failed)` : '');
    if (document.activeElement !== tracks) tracks.value = String(s.tracks === 'all' ? col.tracks : s.tracks);
    tracks.disabled = s.tracks === 'all';
    all.checked = s.tracks === 'all';
    if (document.activeElement !== seed) seed.value = String(s.seed);

    const current_model = summary.models.find((m) => m.id === s.model);
    const imported_spaces = summary.spaces.filter((sp) => sp.kind === 'imported');
    const arch = current_model?.architecture ?? architecture.value ?? 'musicnn';
    const data = current_model?.dataset ?? dataset.value ?? 'msd';
    const usable = (m: ModelInfo | undefined) => !!m && (m.analysed || Object.values(m.spaces).some((n) => summary.spaces.some((sp) => sp.name === n)));
    const label = (m: ModelInfo | undefined) => (!usable(m) ? ' (not analysed)' : '');
    options(architecture, ARCHITECTURES.map(([v, t]) => {
      const m = model_of(summary, v, data);
      return [v, t + label(m), !usable(m)] as [string, string, boolean];
    }));
    options(dataset, DATASETS.map(([v, t]) => {
      const m = model_of(summary, arch, v);
      return [v, t + label(m), !usable(m)] as [string, string, boolean];
    }));
    architecture.value = arch;
    dataset.value = data;
    options(imported, [['', imported_spaces.length ? '—' : 'none'], ...imported_spaces.map((sp) => [sp.name, sp.name] as [string, string])]);
    imported.disabled = imported_spaces.length === 0;
    imported.value = imported_spaces.some((sp) => sp.name === s.model) ? s.model : '';
    const is_imported = imported.value !== '';
    architecture.disabled = dataset.disabled = layer.disabled = is_imported;
    options(layer, [['taggrams', 'Taggrams'], ['embeddings', 'Embeddings'],
      ['moods', 'Moods' + (summary.moods.analysed ? '' : ' (not analysed)'), !summary.moods.analysed]]);
    layer.value = s.layer;
    const commands = summary.models.filter((m) => !m.analysed).map((m) => `${m.id}: ${m.command}`);
    if (!summary.moods.analysed) commands.push(`moods: ${summary.moods.command}`);
    missing.replaceChildren(...(commands.length
      ? [el('span', {}, 'Not analysed yet (add with):'), ...commands.map((cmd) => el('code', {}, cmd))] : []));

    method.value = s.method;
    if (!toggling) advanced.open = s.advanced;
    advanced.querySelector<HTMLElement>('.tsne')!.hidden = s.method !== 'tsne';
    advanced.querySelector<HTMLElement>('.umap')!.hidden = s.method !== 'umap';
    // (a field being typed in keeps its text: a layout arriving meanwhile re-syncs the panel)
    const put = (input: HTMLInputElement, value: string) => { if (document.activeElement !== input) input.value = value; };
    put(perplexity, String(s.perplexity));
    put(learning_rate, s.learningRate === null ? '' : String(s.learningRate));
    put(iterations, String(s.iterations));
    put(n_neighbors, String(s.nNeighbors));
    put(min_dist, String(s.minDist));

    const space = c.space;
    original_axes.hidden = s.method !== 'original';
    pca_axes.hidden = s.method !== 'pca' && s.method !== 'std-pca';
    document.getElementById('axes')!.hidden = original_axes.hidden && pca_axes.hidden;
    const names = space?.dim_names.length ? space.dim_names : Array.from({ length: space?.dims ?? 0 }, (_, i) => String(i));
    const wanted = names.join('\u0000');
    if (dims.dataset.items !== wanted) {
      dims.dataset.items = wanted;
      dims.replaceChildren(...names.map((n, i) => el('option', { value: n, textContent: space?.dim_names.length ? `#${i}` : '' })));
    }
    if (document.activeElement !== axis_x) axis_x.value = s.origX;
    if (document.activeElement !== axis_y) axis_y.value = s.origY;
    log.checked = s.log;
    const components = Math.min(space?.dims ?? 2, PCA_COMPONENTS_LISTED);
    const ratio = c.explained_variance_ratio;
    const pcs = Array.from({ length: components }, (_, i) =>
      [String(i), `PC${i + 1}` + (ratio && ratio[i] !== undefined ? ` (${(ratio[i] * 100).toFixed(1)}%)` : '')] as [string, string]);
    options(pc_x, pcs);
    options(pc_y, pcs);
    pc_x.value = String(s.pcX);
    pc_y.value = String(s.pcY);

    view.value = s.view;
    options(colour, [['track', 'Track'],
      ...(s.goal ? [['goal', 'Goal score'] as [string, string]] : []),
      ...c.colour_dims.tags.map((t) => [`tag:${t}`, `Tag: ${t}`] as [string, string]),
      ...c.colour_dims.moods.map((m) => [`mood:${m}`, `Mood: ${m}`] as [string, string])]);
    colour.value = s.colour;
    if (colour.value !== s.colour) colour.value = 'track';
    audio.value = s.audio;
    cluster_labels.checked = s.clusterLabels;
    cluster_row.hidden = s.method !== 'tsne' && s.method !== 'umap';
  }

  return { sync };
}
