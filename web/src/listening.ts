// listening.ts — the listening test page (listening.html): the listener hears a reference
// segment and 2-4 candidates (the reference's nearest neighbour in different spaces, labelled
// A, B, ... without saying which space), picks the one most like the reference, then sees
// which spaces each candidate came from; the answer is stored on the server and the per-space
// results below refresh. Spaces, seed and listener live in the URL hash (listening/hash.ts).
import { ApiError, get_summary, get_tracks, token_from_url, type SpaceInfo, type Summary, type Track } from './api';
import { create_audio_player } from './audio';
import { MAX_TRIAL_SPACES, answer_of, answers_csv_url, get_results, get_trial, post_answer, type Results, type Trial } from './listening/api';
import { format_hash, next_seed, parse_hash, random_seed, type ListeningState } from './listening/hash';
import { render_results } from './listening/results';
import { format_time } from './ui/tooltip';
import { render_message } from './ui/message';
import './style.css';
import './listening/listening.css';

const LABELS = 'ABCDEFGH';
const LISTENING_KINDS = ['taggrams', 'embeddings'];
// A trial whose spaces all chose the same segment offers no choice (API.md: 1..4 candidates);
// such references are skipped (seed + 1), at most this many in a row.
const MAX_SKIPS = 50;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const token = token_from_url(location.search);
const player = create_audio_player(token);

let summary: Summary | null = null;
let tracks = new Map<number, Track>();
let state: ListeningState = { spaces: null, seed: 0, listener: '' };
let default_spaces: string[] = [];    // the server's default set, learnt from the first trial
let trial: Trial | null = null;
let trial_generation = 0;             // a newer load wins over an older one still in flight
let reference_played = false;
const played = new Set<string>();    // buttons of this trial played at least once ('ref', 'c0', ..)
let answer: { chosen: number; id: number } | null = null;
let answering = false;
let skipped: number[] = [];           // seeds skipped before this trial (one candidate only)
let results: Results | null = null;

// --- messages and URL ----------------------------------------------------------------------

function show_message(text: string | null, commands: string[] = []) {
  render_message($('listening-message'), text, commands);
}

function save_hash() {
  const hash = format_hash(state);
  if (hash !== location.hash) history.replaceState(null, '', `${location.pathname}${location.search}${hash}`);
}

// --- spaces ------------------------------------------------------------------------------

function listening_spaces(): SpaceInfo[] {
  // A space without analysed tracks is a 409 for the trial (API.md), so it is not offered.
  return summary ? summary.spaces.filter((s) => LISTENING_KINDS.includes(s.kind) && s.tracks > 0) : [];
}

// Keeps only names this collection has, in the summary's order; none left = the default.
function fix_spaces(names: string[] | null): string[] | null {
  if (!names) return null;
  const known = listening_spaces().map((s) => s.name).filter((n) => names.includes(n));
  return known.length ? known : null;
}

function render_spaces() {
  const root = $('spaces');
  root.replaceChildren();
  const spaces = listening_spaces();
  if (!spaces.length) {
    const p = document.createElement('p');
    p.className = 'hint';
    p.textContent = 'No analysed spaces yet.';
    root.append(p);
    return;
  }
  const checked = state.spaces ?? default_spaces;
  for (const s of spaces) {
    const label = document.createElement('label');
    label.className = 'space-choice';
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.value = s.name;
    box.checked = checked.includes(s.name);
    box.addEventListener('change', on_spaces_changed);
    box.dataset.title = `${s.name}: ${s.dims} dimensions`;
    const name = document.createElement('span');
    name.textContent = `${s.model} · ${s.kind}`;
    label.append(box, name);
    root.append(label);
  }
  limit_spaces();
}

// The server compares at most MAX_TRIAL_SPACES spaces: once that many are checked, the others wait.
function limit_spaces() {
  const boxes = [...$('spaces').querySelectorAll<HTMLInputElement>('input[type=checkbox]')];
  const full = boxes.filter((b) => b.checked).length >= MAX_TRIAL_SPACES;
  for (const b of boxes) {
    b.disabled = full && !b.checked;
    b.parentElement!.title = b.disabled ? `At most ${MAX_TRIAL_SPACES} spaces per trial: uncheck one first` : b.dataset.title ?? '';
  }
}

function on_spaces_changed() {
  const chosen = [...$('spaces').querySelectorAll<HTMLInputElement>('input[type=checkbox]')]
    .filter((b) => b.checked).map((b) => b.value);
  state.spaces = chosen;
  limit_spaces();
  save_hash();
  if (chosen.length < 2) {
    trial_generation++; // drop a trial still loading for the old choice
    trial = null;
    show_message('Choose at least two spaces to compare.');
    render_trial();
    return;
  }
  void load_trial();
}

// --- trials ------------------------------------------------------------------------------

// Commands that would add spaces: the taggers not analysed yet.
function analyze_commands(): string[] {
  return summary ? summary.models.filter((m) => !m.analysed).map((m) => m.command) : [];
}

async function load_trial() {
  const generation = ++trial_generation;
  trial = null;
  answer = null;
  reference_played = false;
  played.clear();
  player.stop();
  show_message(null);
  render_trial();
  skipped = [];
  try {
    let t = await get_trial(state.spaces, state.seed, token);
    while (t.candidates.length < 2 && skipped.length < MAX_SKIPS) {
      if (generation !== trial_generation) return;
      skipped.push(state.seed);
      state.seed = next_seed(state.seed);
      t = await get_trial(state.spaces, state.seed, token);
    }
    if (generation !== trial_generation) return;
    save_hash();
    if (t.candidates.length < 2) {
      show_message(`For ${skipped.length + 1} references in a row every compared space chose the same segment, ` +
        'so there is nothing to choose between. Compare other spaces.');
      render_trial();
      return;
    }
    trial = t;
    if (!state.spaces) {
      const used = new Set(t.spaces ?? t.candidates.flatMap((c) => c.spaces));
      default_spaces = listening_spaces().map((s) => s.name).filter((n) => used.has(n));
      render_spaces();
    }
    render_trial();
    // Warm the audio cache so every button plays at once.
    player.prefetch([[t.reference.track, t.reference.segment], ...t.candidates.map((c): [number, number] => [c.track, c.segment])]);
  } catch (e) {
    if (generation !== trial_generation) return;
    const message = (e as Error).message;
    if (e instanceof ApiError && e.status === 409) {
      // The server names the command that fixes it in backticks; shown as a copyable line.
      const named = [...message.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
      const commands = named.length ? named : analyze_commands().slice(0, 2);
      show_message(`No trial: ${message.replace(/`/g, '')}${named.length || !commands.length ? '' : '. Analyse more models, e.g.:'}`, commands);
    } else if (e instanceof ApiError && e.status === 401) {
      show_message(`The server needs its token: open this page with the ?token=… the server printed. (${message})`);
    } else {
      show_message(`Cannot load a trial: ${message}`);
    }
    render_trial(); // after the message: no "Loading" under it
  }
}

function button(text: string, cls: string, on_click: () => void): HTMLButtonElement {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = cls;
  b.textContent = text;
  b.addEventListener('click', on_click);
  return b;
}

async function play(target: HTMLButtonElement, track: number, segment: number, is_reference: boolean) {
  const generation = trial_generation;
  player.unlock();
  try {
    await player.play_segment(track, segment);
  } catch (e) {
    show_message(`Cannot play this segment: ${(e as Error).message}`);
    return;
  }
  if (generation !== trial_generation) return;
  played.add(target.dataset.key ?? '');
  target.classList.add('played');
  if (is_reference && !reference_played) {
    reference_played = true;
    render_trial();
  }
}

function segment_text(track: number, start_s: number, end_s: number): string {
  const t = tracks.get(track);
  const name = t ? `${t.artist ? `${t.artist} — ` : ''}${t.title || t.file}` : `track ${track}`;
  return `${name}, ${format_time(start_s)}–${format_time(end_s)}`;
}

function render_trial() {
  const root = $('trial');
  root.replaceChildren();
  if (!trial) {
    if (trial_generation > 0 && $('listening-message').hidden) {
      const p = document.createElement('p');
      p.className = 'dim';
      p.textContent = 'Loading a trial…';
      root.append(p);
    }
    return;
  }
  const t = trial;
  const mark = (b: HTMLButtonElement, key: string) => {
    b.dataset.key = key;
    if (played.has(key)) b.classList.add('played');
    return b;
  };

  const head = document.createElement('h2');
  head.textContent = `Trial · seed ${t.seed}`;
  const hint = document.createElement('p');
  hint.className = 'hint';
  hint.textContent = answer
    ? 'Answer stored. The spaces each candidate came from are shown below.'
    : 'Play the reference, then each candidate, and pick the candidate that sounds most like the reference.';
  if (skipped.length && !answer) {
    hint.textContent += ` (Skipped ${skipped.length === 1 ? `seed ${skipped[0]}` : `${skipped.length} seeds`}: ` +
      'all spaces chose the same segment there.)';
  }

  const ref = document.createElement('div');
  ref.className = 'reference card';
  const ref_label = document.createElement('span');
  ref_label.className = 'label';
  ref_label.textContent = 'Reference';
  const ref_play = mark(button('▶ Play reference', 'play', () => void play(ref_play, t.reference.track, t.reference.segment, true)), 'ref');
  ref_play.id = 'play-reference';
  ref.append(ref_label, ref_play);
  if (answer) {
    const where = document.createElement('div');
    where.className = 'reveal';
    where.textContent = segment_text(t.reference.track, t.reference.start_s, t.reference.end_s);
    ref.append(where);
  }

  const list = document.createElement('ol');
  list.id = 'candidates';
  t.candidates.forEach((c, i) => {
    const letter = LABELS[i];
    const li = document.createElement('li');
    li.className = 'candidate card';
    li.dataset.index = String(i);
    if (answer?.chosen === i) li.classList.add('chosen');
    const label = document.createElement('span');
    label.className = 'label';
    label.textContent = letter;
    const play_b = mark(button(`▶ Play ${letter}`, 'play', () => void play(play_b, c.track, c.segment, false)), `c${i}`);
    const pick_b = button(answer?.chosen === i ? `✓ Picked ${letter}` : `Pick ${letter}`, 'pick', () => void pick(i));
    pick_b.disabled = !reference_played || answer !== null || answering;
    pick_b.title = reference_played ? `${letter} sounds most like the reference` : 'Play the reference first';
    li.append(label, play_b, pick_b);
    if (answer) {
      const reveal = document.createElement('div');
      reveal.className = 'reveal';
      const spaces = document.createElement('div');
      spaces.className = 'spaces';
      spaces.textContent = c.spaces.join(', ');
      const where = document.createElement('div');
      where.className = 'dim';
      where.textContent = segment_text(c.track, c.start_s, c.end_s);
      reveal.append(spaces, where);
      li.append(reveal);
    }
    list.append(li);
  });

  const actions = document.createElement('div');
  actions.className = 'actions';
  const stop = button('■ Stop', 'stop', () => player.stop());
  stop.id = 'stop-audio';
  actions.append(stop);
  if (answer) {
    const next = button('Next trial →', 'next', () => { state.seed = next_seed(state.seed); save_hash(); void load_trial(); });
    next.id = 'next-trial';
    actions.append(next);
  }
  root.append(head, hint, ref, list, actions);
  if (answer) (root.querySelector('#next-trial') as HTMLButtonElement | null)?.focus();
}

async function pick(index: number) {
  if (!trial || answer || answering || !reference_played) return;
  const t = trial;
  const generation = trial_generation;
  answering = true;
  render_trial();
  try {
    const id = await post_answer(answer_of(t, index, state.listener), token);
    if (generation !== trial_generation) return;
    answer = { chosen: index, id };
    show_message(null);
  } catch (e) {
    if (generation === trial_generation) show_message(`The answer was not stored: ${(e as Error).message}`);
  } finally {
    answering = false;
    if (generation === trial_generation) render_trial();
  }
  if (answer) await refresh_results();
}

// --- results -----------------------------------------------------------------------------

async function refresh_results() {
  try {
    results = await get_results(token);
    render_results($('results'), results, null);
  } catch (e) {
    render_results($('results'), null, (e as Error).message);
  }
}

// --- start -------------------------------------------------------------------------------

function restore_from_hash(fallback: ListeningState) {
  state = parse_hash(location.hash, fallback);
  if (summary) state.spaces = fix_spaces(state.spaces); // before the summary, names cannot be checked yet
  ($('listener') as HTMLInputElement).value = state.listener;
}

$('listener').addEventListener('input', () => {
  state.listener = ($('listener') as HTMLInputElement).value.trim();
  save_hash();
});

window.addEventListener('hashchange', () => {
  if (location.hash === format_hash(state)) return;
  restore_from_hash(state);
  render_spaces();
  save_hash();
  void load_trial();
});

document.addEventListener('keydown', (e) => {
  if (e.target instanceof HTMLInputElement || e.ctrlKey || e.metaKey || e.altKey) return;
  // R plays the reference, A-D the candidates, Enter (after answering) the next trial.
  const key = e.key.toUpperCase();
  if (key === 'R') document.getElementById('play-reference')?.click();
  const i = LABELS.indexOf(key);
  if (trial && i >= 0 && i < trial.candidates.length) ($('candidates').children[i].querySelector('.play') as HTMLButtonElement).click();
});

// Test hooks (web/tests/listening.test.mjs): read-only views of the page.
declare global {
  interface Window { __listening: Record<string, unknown> }
}
window.__listening = {
  state: () => structuredClone(state),
  trial: () => (trial ? structuredClone(trial) : null),
  answer: () => (answer ? { ...answer } : null),
  skipped: () => [...skipped],
  results: () => (results ? structuredClone(results) : null),
  plays: () => player.history(),
  audio_state: () => player.state(),
};

async function start() {
  const explorer = $('explorer-link') as HTMLAnchorElement;
  explorer.href = `/${location.search}`;
  ($('download-csv') as HTMLAnchorElement).href = answers_csv_url(token);
  restore_from_hash({ spaces: null, seed: random_seed(), listener: '' });
  save_hash(); // a listener who came without a seed keeps the drawn one on reload
  try {
    summary = await get_summary(token);
    tracks = new Map((await get_tracks(token)).map((t) => [t.id, t]));
  } catch (e) {
    const status = e instanceof ApiError ? e.status : 0;
    show_message(status === 401
      ? 'The server needs its token: open this page with the ?token=… the server printed.'
      : `Cannot reach the tagscape server: ${(e as Error).message}`);
    return;
  }
  const c = summary.collection;
  $('collection').textContent = `${c.name} · ${c.tracks} tracks · ${c.segments} segments`;
  state.spaces = fix_spaces(state.spaces);
  save_hash();
  render_spaces();
  void refresh_results();
  if (state.spaces && state.spaces.length < 2) {
    show_message('Choose at least two spaces to compare.');
    return;
  }
  await load_trial();
}

void start();
