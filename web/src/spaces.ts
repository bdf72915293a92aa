// spaces.ts — what a view state means against a collection: which space it shows, which
// spaces name tags and moods, and the points/colour requests it makes. Pure functions of the
// summary and the state: no DOM, no fetch.
import { scores_url, type ModelInfo, type PointsQuery, type SpaceInfo, type Summary } from './api';
import { parse_goal } from './curate';
import type { ColourRequest } from './protocol';
import type { ViewState } from './state';

export interface Resolved {
  space: SpaceInfo | null;
  problem: string | null;      // why nothing can be shown
  command?: string;            // the command that adds what is missing
}

export function space_named(summary: Summary, name: string | undefined): SpaceInfo | undefined {
  return summary.spaces.find((s) => s.name === name);
}

export function resolve_space(summary: Summary, s: ViewState): Resolved {
  if (summary.collection.tracks === 0) {
    return { space: null, problem: 'The collection is empty: no analysed tracks yet. Add music with', command: 'tagscape analyze MUSIC_DIR' };
  }
  const imported = summary.spaces.find((sp) => sp.name === s.model && sp.kind === 'imported');
  if (imported) return { space: imported, problem: null };
  if (s.layer === 'moods') {
    const moods = space_named(summary, summary.moods.space);
    return moods && summary.moods.analysed ? { space: moods, problem: null }
      : { space: null, problem: 'The moods space is not analysed yet. Add it with', command: summary.moods.command };
  }
  const model = summary.models.find((m) => m.id === s.model);
  if (!model) return { space: null, problem: `Unknown model ${s.model}.` };
  const space = space_named(summary, model.spaces[s.layer]);
  if (!space) {
    return { space: null, problem: `${model.id} (${s.layer}) is not analysed yet. Add it with`, command: model.command };
  }
  return { space, problem: null };
}

// The space whose dims name tags: the shown one if it has names, else its model's taggrams.
export function tag_space(summary: Summary, s: ViewState, space: SpaceInfo | null): SpaceInfo | undefined {
  if (space && space.kind !== 'moods' && space.dim_names.length) return space;
  const model = summary.models.find((m) => m.id === s.model);
  return space_named(summary, model?.spaces.taggrams);
}

// Spaces whose dim names a filter threshold or goal may use: the tag space, then moods.
export function named_spaces(summary: Summary, s: ViewState, space: SpaceInfo | null): SpaceInfo[] {
  const out: SpaceInfo[] = [];
  const tags = tag_space(summary, s, space);
  if (tags) out.push(tags);
  const moods = summary.moods.analysed ? space_named(summary, summary.moods.space) : undefined;
  if (moods) out.push(moods);
  return out;
}

// The goal's space: the chosen one, else the first named space holding every goal dim.
export function goal_space_of(summary: Summary, s: ViewState, space: SpaceInfo | null): string | null {
  if (s.goalSpace) return s.goalSpace;
  const { goal } = parse_goal(s.goal);
  const spaces = named_spaces(summary, s, space);
  const fits = spaces.find((sp) => goal.every(([d]) => sp.dim_names.includes(d)));
  return (fits ?? spaces[0])?.name ?? null;
}

export function colour_dims(summary: Summary, s: ViewState, space: SpaceInfo | null) {
  const moods = summary.moods.analysed ? space_named(summary, summary.moods.space)?.dim_names ?? [] : [];
  return { tags: tag_space(summary, s, space)?.dim_names ?? [], moods };
}

// Makes a state consistent with the collection (a shared URL may name what is not here).
export function fix_state(summary: Summary, s: ViewState) {
  const imported = summary.spaces.some((sp) => sp.name === s.model && sp.kind === 'imported');
  const usable = (m: ModelInfo | undefined) => !!m && (m.analysed || Object.values(m.spaces).some((n) => space_named(summary, n)));
  if (!imported && !usable(summary.models.find((m) => m.id === s.model))) {
    const first = summary.models.find((m) => m.analysed) ?? summary.models.find(usable);
    if (first) s.model = first.id;
  }
  if (s.layer === 'moods' && !summary.moods.analysed) s.layer = 'taggrams';
  const { space } = resolve_space(summary, s);
  if (space) {
    const valid_dim = (v: string) => space.dim_names.includes(v) ||
      space.dim_names.some((n) => n.toLowerCase() === v.toLowerCase()) ||
      (/^\d+$/.test(v) && Number(v) < space.dims);
    if (!valid_dim(s.origX)) s.origX = space.dim_names[0] ?? '0';
    if (!valid_dim(s.origY)) s.origY = space.dim_names[1] ?? '1';
    s.pcX = Math.min(s.pcX, space.dims - 1);
    s.pcY = Math.min(s.pcY, space.dims - 1);
  }
  const dims = colour_dims(summary, s, space);
  const [kind, name] = [s.colour.split(':')[0], s.colour.slice(s.colour.indexOf(':') + 1)];
  const goal_ok = s.colour === 'goal' && parse_goal(s.goal).goal.length > 0;
  if (!(s.colour === 'track' || goal_ok || (kind === 'tag' && dims.tags.includes(name)) || (kind === 'mood' && dims.moods.includes(name)))) {
    s.colour = 'track';
  }
}

export function points_query(s: ViewState, space: SpaceInfo): PointsQuery {
  const q: PointsQuery = {
    space: space.name, tracks: s.tracks, seed: s.seed,
    granularity: s.view === 'averages' ? 'averages' : 'segments', method: s.method,
  };
  if (s.method === 'original') Object.assign(q, { x: s.origX, y: s.origY, log: s.log });
  if (s.method === 'pca' || s.method === 'std-pca') Object.assign(q, { x: String(s.pcX), y: String(s.pcY) });
  if (s.method === 'tsne') Object.assign(q, { perplexity: s.perplexity, learning_rate: s.learningRate, iterations: s.iterations });
  if (s.method === 'umap') Object.assign(q, { n_neighbors: s.nNeighbors, min_dist: s.minDist });
  return q;
}

export function colour_query(summary: Summary, s: ViewState, space: SpaceInfo): ColourRequest | null {
  if (s.colour === 'track') return null;
  const granularity = s.view === 'averages' ? 'averages' : 'segments';
  if (s.colour === 'goal') {
    const { goal } = parse_goal(s.goal);
    const gs = goal_space_of(summary, s, space);
    if (!goal.length || !gs) return null;
    return { by: 'score', label: `goal ${s.goal}`, url: scores_url(space.name, s.tracks, s.seed, granularity, goal, gs) };
  }
  const kind = s.colour.split(':')[0];
  const name = s.colour.slice(kind.length + 1);
  const source = kind === 'mood' ? space_named(summary, summary.moods.space) : tag_space(summary, s, space);
  if (!source) return null;
  return {
    by: 'value',
    label: name,
    query: { space: source.name, tracks: s.tracks, seed: s.seed, granularity, method: 'original', x: name, y: name },
  };
}
