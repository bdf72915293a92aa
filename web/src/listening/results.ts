// listening/results.ts — the results table: per space, how many answered trials it took part
// in, how often its candidate was picked, the rate and its 95% interval drawn as a bar with a
// whisker on a 0..1 scale.
import type { Results } from './api';

const pct = (v: number) => `${(v * 100).toFixed(0)}%`;

function cell(tag: 'td' | 'th' | 'span', text: string, cls?: string): HTMLElement {
  const c = document.createElement(tag);
  c.textContent = text;
  if (cls) c.className = cls;
  return c;
}

// The rate as a filled bar and ci95 as a line with end caps; all positions in % of the width.
function interval_bar(rate: number, lo: number, hi: number): HTMLElement {
  const clamp = (v: number) => Math.min(1, Math.max(0, v));
  const bar = document.createElement('div');
  bar.className = 'ci-bar';
  bar.title = `rate ${pct(rate)}, 95% interval ${pct(lo)}–${pct(hi)}`;
  const fill = document.createElement('div');
  fill.className = 'rate';
  fill.style.width = `${clamp(rate) * 100}%`;
  const ci = document.createElement('div');
  ci.className = 'ci';
  ci.style.left = `${clamp(lo) * 100}%`;
  ci.style.width = `${(clamp(hi) - clamp(lo)) * 100}%`;
  bar.append(fill, ci);
  return bar;
}

export function render_results(root: HTMLElement, results: Results | null, error: string | null) {
  root.replaceChildren();
  const summary = document.createElement('p');
  summary.className = 'results-summary';
  if (error) {
    summary.textContent = `Cannot load the results: ${error}`;
    root.append(summary);
    return;
  }
  if (!results) return;
  summary.textContent = results.answers === 0 ? 'No answers stored yet.'
    : results.answers === 1 ? '1 answer stored.' : `${results.answers} answers stored.`;
  root.append(summary);
  if (!results.spaces.length) return;
  const table = document.createElement('table');
  table.id = 'results-table';
  const head = document.createElement('tr');
  for (const h of ['space', 'trials', 'chosen', 'rate', '95% interval']) head.append(cell('th', h));
  const thead = document.createElement('thead');
  thead.append(head);
  const body = document.createElement('tbody');
  for (const s of results.spaces) {
    const row = document.createElement('tr');
    row.dataset.space = s.space;
    const [lo, hi] = s.ci95;
    const ci_cell = document.createElement('td');
    ci_cell.className = 'ci-cell';
    const ci_text = cell('span', s.trials ? `${pct(lo)}–${pct(hi)}` : '–', 'ci-text');
    if (s.trials) ci_cell.append(interval_bar(s.rate, lo, hi));
    ci_cell.append(ci_text);
    // A line break after the model's "/" rather than inside its name.
    const space_cell = cell('td', '', 'space');
    const slash = s.space.indexOf('/') + 1;
    space_cell.append(s.space.slice(0, slash), document.createElement('wbr'), s.space.slice(slash));
    row.append(
      space_cell, cell('td', String(s.trials), 'trials num'), cell('td', String(s.chosen), 'chosen num'),
      cell('td', s.trials ? pct(s.rate) : '–', 'rate num'), ci_cell,
    );
    body.append(row);
  }
  table.append(thead, body);
  root.append(table);
}
