// ui/curate.ts — the curation controls under the view controls: drag mode (pan / lasso /
// box), filter (metadata, tag/mood thresholds, sparsity), highlight, neighbours (k, metric),
// goal (text, space, colour by it, walk). Built once; sync() shows a state; a user change
// calls on_change with the fields it changes. Never fetches or draws.
import type { Track } from '../api';
import { default_filter, type TrackFilter, type ViewState } from '../state';
import { el, options, row } from './controls';

export interface CurateContext {
  tracks: Track[];
  goal_spaces: Array<[string, string]>;   // [space name, label] the goal may use ('' = tags)
  filter_count: string;                   // "3 of 5 tracks · 120 points"
  filter_problem: string | null;          // why the filter text cannot be used
  goal_problem: string | null;
  can_walk: boolean;                      // a track is selected and a goal given
}

export interface CurateActions {
  change(patch: Partial<ViewState>): void;
  walk(): void;
}

const distinct = (tracks: Track[], key: 'artist' | 'album' | 'genre') =>
  [...new Set(tracks.map((t) => t[key]).filter((v) => v !== ''))].sort((a, b) => a.localeCompare(b));

export function create_curate_controls(root: HTMLElement, actions: CurateActions) {
  const drag = el('select', { id: 'drag-mode', title: 'What a drag on the plot does (shift+drag always lassos)' });
  options(drag, [['pan', 'pan & zoom'], ['lasso', 'lasso select'], ['box', 'box select']]);

  const text = el('input', { id: 'filter-text', placeholder: 'title or file', autocomplete: 'off' });
  const artist = el('select', { id: 'filter-artist' });
  const album = el('select', { id: 'filter-album' });
  const genre = el('select', { id: 'filter-genre' });
  const year = el('input', { id: 'filter-year', placeholder: '2009 or 2009-2011', autocomplete: 'off' });
  const tags = el('input', { id: 'filter-tags', placeholder: 'rock > 0.3, mood:happy > 0.6', autocomplete: 'off' });
  const sparsity = el('input', { id: 'sparsity', type: 'number', min: '1', step: '1', title: 'Show every k-th segment' });
  const clear = el('button', { id: 'filter-clear', type: 'button', textContent: 'Clear filter' });
  const count = el('div', { id: 'filter-count', className: 'note' });
  const problem = el('div', { id: 'filter-problem', className: 'problem' });

  const hl_artist = el('select', { id: 'highlight-artist' });
  const hl_album = el('select', { id: 'highlight-album' });
  const hl_track = el('input', { id: 'highlight-track', ...{ list: 'track-titles' } as Record<string, unknown>, placeholder: 'search a title', autocomplete: 'off' });
  const titles = el('datalist', { id: 'track-titles' });

  const knn_k = el('input', { id: 'knn-k', type: 'number', min: '1', max: '200', step: '1' });
  const knn_metric = el('select', { id: 'knn-metric' });
  options(knn_metric, [['cosine', 'cosine'], ['euclidean', 'euclidean']]);

  const goal = el('input', { id: 'goal', placeholder: '+happy +electronic -vocals', autocomplete: 'off' });
  const goal_space = el('select', { id: 'goal-space' });
  const goal_colour = el('input', { id: 'goal-colour', type: 'checkbox' });
  const steps = el('input', { id: 'walk-steps', type: 'number', min: '1', max: '100', step: '1' });
  const walk = el('button', { id: 'walk', type: 'button', textContent: 'Walk from selected track' });
  const goal_problem = el('div', { id: 'goal-problem', className: 'problem' });

  root.append(
    el('fieldset', { id: 'filter' }, el('legend', {}, 'Select & filter'), row('Drag', drag),
      row('Search', text), row('Artist', artist), row('Album', album), row('Genre', genre), row('Year', year),
      row('Tags/moods', tags), row('Every k-th', sparsity), clear, count, problem),
    el('fieldset', { id: 'highlight' }, el('legend', {}, 'Highlight'), row('Artist', hl_artist), row('Album', hl_album),
      row('Track', hl_track), titles),
    el('fieldset', { id: 'neighbours-controls' }, el('legend', {}, 'Neighbours (click a point)'), row('k', knn_k), row('Metric', knn_metric)),
    el('fieldset', { id: 'goal-controls' }, el('legend', {}, 'Goal'), row('Goal', goal), row('Goal space', goal_space),
      row('Colour by goal', goal_colour), row('Steps', steps), walk, goal_problem),
  );

  let state: ViewState | null = null;
  let context: CurateContext | null = null;
  const filter = (patch: Partial<TrackFilter>) => actions.change({ filter: { ...(state?.filter ?? default_filter()), ...patch } });
  drag.addEventListener('change', () => actions.change({ drag: drag.value as ViewState['drag'] }));
  text.addEventListener('input', () => filter({ text: text.value }));
  artist.addEventListener('change', () => filter({ artist: artist.value }));
  album.addEventListener('change', () => filter({ album: album.value }));
  genre.addEventListener('change', () => filter({ genre: genre.value }));
  year.addEventListener('change', () => filter({ year: year.value.trim() }));
  tags.addEventListener('change', () => filter({ tags: tags.value.trim() }));
  sparsity.addEventListener('change', () => actions.change({ sparsity: Math.max(1, Math.round(Number(sparsity.value)) || 1) }));
  clear.addEventListener('click', () => actions.change({ filter: default_filter(), sparsity: 1 }));
  const highlight = (patch: Partial<ViewState['highlight']>) =>
    actions.change({ highlight: { ...(state?.highlight ?? { artist: '', album: '', track: null }), ...patch } });
  hl_artist.addEventListener('change', () => highlight({ artist: hl_artist.value }));
  hl_album.addEventListener('change', () => highlight({ album: hl_album.value }));
  hl_track.addEventListener('change', () => {
    const q = hl_track.value.trim().toLowerCase();
    if (!q) { highlight({ track: null }); return; }
    const all = context?.tracks ?? [];
    const t = all.find((x) => (x.title || x.file).toLowerCase() === q) ??
      all.find((x) => x.title.toLowerCase().includes(q) || x.file.toLowerCase().includes(q));
    highlight({ track: t ? t.id : null });
  });
  knn_k.addEventListener('change', () => actions.change({ knnK: Math.min(200, Math.max(1, Math.round(Number(knn_k.value)) || 10)) }));
  knn_metric.addEventListener('change', () => actions.change({ knnMetric: knn_metric.value as ViewState['knnMetric'] }));
  goal.addEventListener('change', () => actions.change({ goal: goal.value.trim() }));
  goal_space.addEventListener('change', () => actions.change({ goalSpace: goal_space.value }));
  goal_colour.addEventListener('change', () => actions.change({ colour: goal_colour.checked ? 'goal' : 'track' }));
  steps.addEventListener('change', () => actions.change({ walkSteps: Math.min(100, Math.max(1, Math.round(Number(steps.value)) || 10)) }));
  walk.addEventListener('click', () => actions.walk());

  // The choices built from the track list (artists, albums, genres, titles) change only with
  // it, but sync() runs on every state change: they are rebuilt when the list changes (the
  // same Track objects in the same order: a cheap identity check), not per keystroke.
  let listed: Track[] | null = null; // null: not built yet
  const same_tracks = (tracks: Track[]) => !!listed && tracks.length === listed.length && tracks.every((t, k) => t === listed![k]);
  function list_tracks(tracks: Track[]) {
    listed = tracks.slice();
    const any = (label: string): [string, string] => ['', label];
    const choices = (key: 'artist' | 'album' | 'genre') => distinct(tracks, key).map((v) => [v, v] as [string, string]);
    const artists = choices('artist'), albums = choices('album');
    options(artist, [any('any'), ...artists]);
    options(album, [any('any'), ...albums]);
    options(genre, [any('any'), ...choices('genre')]);
    options(hl_artist, [any('none'), ...artists]);
    options(hl_album, [any('none'), ...albums]);
    titles.replaceChildren(...tracks.map((t) => el('option', { value: t.title || t.file })));
  }

  function sync(s: ViewState, c: CurateContext) {
    state = s;
    context = c;
    drag.value = s.drag;
    if (document.activeElement !== text) text.value = s.filter.text;
    if (!same_tracks(c.tracks)) list_tracks(c.tracks);
    artist.value = s.filter.artist;
    album.value = s.filter.album;
    genre.value = s.filter.genre;
    if (document.activeElement !== year) year.value = s.filter.year;
    if (document.activeElement !== tags) tags.value = s.filter.tags;
    // (a field being typed in keeps its text: a filter or layout arriving meanwhile re-syncs)
    if (document.activeElement !== sparsity) sparsity.value = String(s.sparsity);
    count.textContent = c.filter_count;
    problem.textContent = c.filter_problem ?? '';
    hl_artist.value = s.highlight.artist;
    hl_album.value = s.highlight.album;
    if (document.activeElement !== hl_track) {
      const t = c.tracks.find((x) => x.id === s.highlight.track);
      hl_track.value = t ? t.title || t.file : '';
    }
    if (document.activeElement !== knn_k) knn_k.value = String(s.knnK);
    knn_metric.value = s.knnMetric;
    if (document.activeElement !== goal) goal.value = s.goal;
    options(goal_space, c.goal_spaces);
    goal_space.value = s.goalSpace;
    goal_colour.checked = s.colour === 'goal';
    goal_colour.disabled = !s.goal;
    if (document.activeElement !== steps) steps.value = String(s.walkSteps);
    walk.disabled = !c.can_walk;
    goal_problem.textContent = c.goal_problem ?? '';
  }

  return { sync };
}
