// listening/api.ts — client of the listening-test endpoints (server/API.md "Listening test"):
// a trial (a reference segment and the nearest neighbour of it in each asked space, merged
// when spaces agree), storing an answer, the per-space results and the answers CSV.
import { ApiError, auth_headers, get_json, with_token } from '../api';

export interface SegmentRef {
  track: number;                // track id
  segment: number;              // segment index within the track
  start_s: number;              // segment start in the track, seconds
  end_s: number;
}

export interface Candidate extends SegmentRef {
  spaces: string[];             // the spaces whose nearest neighbour of the reference this is (>= 1)
}

export interface Trial {
  seed: number;                 // the seed that drew this reference
  spaces?: string[];            // the compared spaces (the server's default set when none were asked for)
  reference: SegmentRef;
  candidates: Candidate[];      // 2..4, in presentation order (labelled A, B, ...)
}

export interface Answer {
  reference: { track: number; segment: number };
  candidates: { track: number; segment: number; spaces: string[] }[];
  chosen: number;               // index into candidates
  listener: string;             // free text, may be empty
}

export interface SpaceResult {
  space: string;
  trials: number;               // answered trials in which the space had a candidate
  chosen: number;               // of those, how often its candidate was picked
  rate: number;                 // chosen / trials (0 when trials == 0)
  ci95: [number, number];       // 95% interval of the rate, within [0, 1]
}

export interface Results {
  answers: number;              // stored answers in total
  spaces: SpaceResult[];
}

// At most this many spaces per trial (API.md: `spaces` takes 2..4 names).
export const MAX_TRIAL_SPACES = 4;

// spaces: null = the server's default set.
export function trial_url(spaces: string[] | null, seed: number): string {
  const p = new URLSearchParams();
  if (spaces) p.set('spaces', spaces.join(','));
  p.set('seed', String(seed));
  return `/api/listening/trial?${p}`;
}

export const get_trial = (spaces: string[] | null, seed: number, token: string | null) =>
  get_json<Trial>(trial_url(spaces, seed), token);

export const get_results = (token: string | null) => get_json<Results>('/api/listening/results', token);

// For the download link (an <a> cannot send the Authorization header).
export const answers_csv_url = (token: string | null) => with_token('/api/listening/answers.csv', token);

// Resolves with the stored answer's id.
export async function post_answer(answer: Answer, token: string | null): Promise<number> {
  const response = await fetch('/api/listening/answers', {
    method: 'POST',
    headers: { ...auth_headers(token), 'Content-Type': 'application/json' },
    body: JSON.stringify(answer),
  });
  let body: unknown = null;
  try { body = await response.json(); } catch { /* not JSON: the status line says enough */ }
  const b = body as { id?: number; error?: string } | null;
  if (!response.ok) throw new ApiError(b?.error ?? `${response.status} ${response.statusText}`, response.status);
  if (typeof b?.id !== 'number') throw new ApiError('answers: the server did not return the stored id', response.status);
  return b.id;
}

// What to send for a trial and the index the listener picked.
export function answer_of(trial: Trial, chosen: number, listener: string): Answer {
  return {
    reference: { track: trial.reference.track, segment: trial.reference.segment },
    candidates: trial.candidates.map((c) => ({ track: c.track, segment: c.segment, spaces: c.spaces })),
    chosen,
    listener,
  };
}
