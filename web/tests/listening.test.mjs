// tests/listening.test.mjs — the listening test page (listening.html) in headless chromium
// against the real `tagscape serve` on a real collection analysed with two taggers (four
// spaces): a trial loads without revealing its spaces, the reference's audio is fetched and
// played, a pick is stored (checked through the API: /api/listening/results and the CSV), the
// spaces are revealed, the results table shows the server's counts, next trial = seed + 1,
// the URL hash restores spaces/seed/listener on reload, the token is passed on, an empty
// collection explains how to add spaces, and no console errors.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  BINARY, RESULTS_DIR, build_app, launch_browser, make_collection, open_page, remove, skip_reason, start_server, temp_dir,
} from './fixture.mjs';

const skip = skip_reason();
if (skip) console.log(`# listening e2e skipped: ${skip}`);

const MODELS = ['msd-musicnn-1', 'mtt-musicnn-1'];

// GET from the server in node (not through the page), so the page's view is checked against it.
async function api(base, route, token = null) {
  const r = await fetch(`${base}${route}`, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  const text = await r.text();
  assert.ok(r.ok, `GET ${route}: ${r.status} ${text}`);
  return (r.headers.get('Content-Type') ?? '').includes('json') ? JSON.parse(text) : text;
}

const loaded_trial = (page) => page.waitForFunction(() => window.__listening?.trial() && document.querySelector('#candidates'),
  null, { timeout: 30000 }).then(() => page.evaluate(() => window.__listening.trial()));

describe('listening test page', { skip: skip ?? false }, () => {
  let dir, app, server, browser, page, problems, listening_spaces;
  const shot = (name) => path.join(RESULTS_DIR, `listening-${name}.png`);
  const state = () => page.evaluate(() => window.__listening.state());
  const checked_spaces = (p = page) => p.$$eval('#spaces input[type=checkbox]', (boxes) => boxes.filter((b) => b.checked).map((b) => b.value));
  let first_trial, chosen_index;

  before(async () => {
    mkdirSync(RESULTS_DIR, { recursive: true });
    dir = temp_dir('tagscape-listening-');
    const collection = make_collection(dir, MODELS.join(','));
    app = build_app(path.join(dir, 'app'));
    server = await start_server(collection.db, app);
    const summary = await api(server.url, '/api/summary');
    listening_spaces = summary.spaces.filter((s) => s.kind === 'taggrams' || s.kind === 'embeddings').map((s) => s.name);
    assert.equal(listening_spaces.length, 4, `two taggers give four spaces: ${listening_spaces}`);
    browser = await launch_browser();
    ({ page, problems } = await open_page(browser, `${server.url}/listening.html`));
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    if (dir) remove(dir);
  });

  test('a trial: reference and 2-4 candidates labelled A.., spaces not revealed, picks wait for the reference', async () => {
    first_trial = await loaded_trial(page);
    const n = first_trial.candidates.length;
    assert.ok(n >= 2 && n <= 4, `${n} candidates`);
    assert.equal(await page.$$eval('#candidates .candidate', (c) => c.length), n);
    assert.deepEqual(await page.$$eval('#candidates .candidate .label', (l) => l.map((x) => x.textContent)), ['A', 'B', 'C', 'D'].slice(0, n));
    // Every space of the collection is offered; the checked ones are the server's default set,
    // which is what the candidates came from.
    assert.deepEqual(await page.$$eval('#spaces input', (b) => b.map((x) => x.value)), listening_spaces);
    const used = [...new Set(first_trial.candidates.flatMap((c) => c.spaces))].sort();
    assert.ok(used.length >= 2);
    assert.deepEqual([...first_trial.spaces].sort(), used);
    assert.deepEqual((await checked_spaces()).sort(), used);
    // Nothing on the trial says which space a candidate came from.
    const text = await page.textContent('#trial');
    for (const m of MODELS) assert.ok(!text.includes(m), `the trial reveals ${m} before the answer: ${text}`);
    assert.equal(await page.$$eval('#candidates .reveal', (r) => r.length), 0);
    assert.ok(await page.$$eval('#candidates .pick', (b) => b.every((x) => x.disabled)), 'picks disabled before the reference was played');
    const s = await state();
    assert.equal(s.seed, first_trial.seed);
    assert.match(page.url(), new RegExp(`#v=1&seed=${s.seed}$`));
    await page.screenshot({ path: shot('01-trial') });
  });

  test('play the reference: its segment audio is fetched and played; picks become enabled', async () => {
    const ref = first_trial.reference;
    await page.click('#play-reference');
    await page.waitForFunction(() => window.__listening.plays().length > 0, null, { timeout: 15000 });
    const last = await page.evaluate(() => window.__listening.plays().at(-1));
    assert.deepEqual([last.track, last.segment], [ref.track, ref.segment]);
    assert.equal(await page.evaluate(() => window.__listening.audio_state()), 'running');
    // The WAV came from the server (fetched when the trial loaded, so the play starts at once).
    const fetched = await page.evaluate(() => performance.getEntriesByType('resource').map((e) => e.name));
    assert.ok(fetched.some((u) => u.endsWith(`/api/audio/${ref.track}/${ref.segment}`)), `audio requests: ${fetched.filter((u) => u.includes('/api/audio'))}`);
    assert.ok(await page.$$eval('#candidates .pick', (b) => b.every((x) => !x.disabled)), 'picks enabled after the reference played');
    await page.click('#candidates .candidate:nth-child(1) .play');
    await page.waitForFunction((c) => {
      const p = window.__listening.plays().at(-1);
      return p.track === c.track && p.segment === c.segment;
    }, first_trial.candidates[0], { timeout: 15000 });
  });

  test('pick a candidate: the answer is stored, spaces revealed, results show the counts', async () => {
    await page.fill('#listener', 'ann');
    chosen_index = 1;
    const chosen = first_trial.candidates[chosen_index];
    const stored = page.waitForResponse((r) => r.url().endsWith('/api/listening/answers') && r.request().method() === 'POST');
    await page.click(`#candidates .candidate:nth-child(${chosen_index + 1}) .pick`);
    const response = await stored;
    assert.equal(response.status(), 201);
    const body = JSON.parse(response.request().postData());
    assert.deepEqual(body.reference, { track: first_trial.reference.track, segment: first_trial.reference.segment });
    assert.equal(body.chosen, chosen_index);
    assert.equal(body.listener, 'ann');
    assert.deepEqual(body.candidates.map((c) => c.spaces), first_trial.candidates.map((c) => c.spaces));

    // Revealed: each candidate's spaces, the chosen one marked; picking again is not possible.
    await page.waitForSelector('#candidates .candidate.chosen .reveal');
    const reveals = await page.$$eval('#candidates .reveal .spaces', (r) => r.map((x) => x.textContent));
    assert.deepEqual(reveals, first_trial.candidates.map((c) => c.spaces.join(', ')));
    assert.equal(await page.getAttribute('#candidates .candidate.chosen', 'data-index'), String(chosen_index));
    assert.ok(await page.$$eval('#candidates .pick', (b) => b.every((x) => x.disabled)));

    // Stored on the server: one answer; every space of the trial took part once, and exactly
    // the chosen candidate's spaces were chosen.
    const results = await api(server.url, '/api/listening/results');
    assert.equal(results.answers, 1);
    const by_space = Object.fromEntries(results.spaces.map((s) => [s.space, s]));
    for (const c of first_trial.candidates) {
      for (const space of c.spaces) {
        assert.equal(by_space[space]?.trials, 1, `${space} took part in the trial`);
        assert.equal(by_space[space].chosen, c === chosen ? 1 : 0, `${space} chosen count`);
      }
    }
    const csv = (await api(server.url, '/api/listening/answers.csv')).trim().split('\n');
    assert.equal(csv.length, 2, `a header and one answer: ${csv}`);
    assert.match(csv[1], /ann/);

    // The page's results table shows the same counts.
    await page.waitForFunction(() => /^1 answer stored/.test(document.querySelector('.results-summary')?.textContent ?? ''));
    const rows = await page.$$eval('#results-table tbody tr', (r) => r.map((row) => ({
      space: row.dataset.space, trials: Number(row.querySelector('.trials').textContent),
      chosen: Number(row.querySelector('.chosen').textContent), bar: !!row.querySelector('.ci-bar .ci'),
    })));
    for (const space of chosen.spaces) {
      const row = rows.find((r) => r.space === space);
      assert.deepEqual(row, { space, trials: 1, chosen: 1, bar: true });
    }
    for (const s of results.spaces) {
      const row = rows.find((r) => r.space === s.space);
      assert.ok(row, `row for ${s.space}`);
      assert.deepEqual([row.trials, row.chosen], [s.trials, s.chosen]);
    }
    assert.equal(await page.getAttribute('#download-csv', 'href'), '/api/listening/answers.csv');
    await page.screenshot({ path: shot('02-answered') });
  });

  test('next trial: seed + 1 (+ the seeds skipped because every space chose the same segment), a fresh unanswered trial', async () => {
    await page.click('#next-trial');
    await page.waitForFunction((seed) => window.__listening.trial()?.seed > seed, first_trial.seed, { timeout: 30000 });
    const skipped = await page.evaluate(() => window.__listening.skipped());
    const s = await state();
    assert.equal(s.seed, first_trial.seed + 1 + skipped.length);
    assert.deepEqual(skipped, skipped.map((_, i) => first_trial.seed + 1 + i));
    for (const seed of skipped) {
      const t = await api(server.url, `/api/listening/trial?seed=${seed}`);
      assert.equal(t.candidates.length, 1, `seed ${seed} was skipped though it offers a choice`);
    }
    assert.equal(s.listener, 'ann');
    assert.match(page.url(), new RegExp(`#v=1&seed=${s.seed}&listener=ann$`));
    assert.equal(await page.$$eval('#candidates .reveal', (r) => r.length), 0);
    assert.ok(await page.$$eval('#candidates .pick', (b) => b.every((x) => x.disabled)));
  });

  test('chosen spaces go into the URL; reload restores spaces, seed, listener and the same trial', async () => {
    // Compare three spaces, a set other than the default: all but the second.
    const keep = listening_spaces.filter((_, i) => i !== 1);
    const before = await checked_spaces();
    assert.notDeepEqual(before, keep);
    const reloaded = page.waitForRequest((r) => r.url().includes('/api/listening/trial?') &&
      new URL(r.url()).searchParams.get('spaces') === keep.join(','));
    for (const name of keep) if (!before.includes(name)) await page.check(`#spaces input[value="${name}"]`);
    for (const name of before) if (!keep.includes(name)) await page.uncheck(`#spaces input[value="${name}"]`);
    await reloaded;
    await page.waitForFunction(() => window.__listening.trial() !== null, null, { timeout: 30000 });
    const trial = await page.evaluate(() => window.__listening.trial());
    for (const c of trial.candidates) for (const sp of c.spaces) assert.ok(keep.includes(sp), `${sp} was not asked for`);
    const saved = await state();
    assert.deepEqual(saved.spaces, keep);
    assert.match(decodeURIComponent(page.url()), new RegExp(`spaces=${keep.join(',')}&seed=${saved.seed}&listener=ann`));

    const fresh = await open_page(browser, page.url());
    const restored_trial = await loaded_trial(fresh.page);
    assert.deepEqual(await fresh.page.evaluate(() => window.__listening.state()), saved);
    assert.deepEqual(await checked_spaces(fresh.page), keep);
    assert.equal(await fresh.page.inputValue('#listener'), 'ann');
    assert.deepEqual(restored_trial, trial, 'same spaces and seed give the same trial');
    await fresh.page.waitForSelector('#results-table');
    assert.deepEqual(fresh.problems, []);
    await fresh.page.close();
  });

  test('at most four spaces can be checked; fewer than two: says so and asks for no trial', async () => {
    for (const name of listening_spaces) await page.check(`#spaces input[value="${name}"]`);
    assert.equal((await checked_spaces()).length, 4); // this collection has exactly four
    await page.waitForFunction(() => window.__listening.trial()?.candidates.length >= 2, null, { timeout: 30000 });
    const checked = await checked_spaces();
    for (const name of checked.slice(1)) await page.uncheck(`#spaces input[value="${name}"]`);
    await page.waitForSelector('#listening-message:not([hidden])');
    assert.match(await page.textContent('#listening-message'), /at least two spaces/);
    assert.equal(await page.evaluate(() => window.__listening.trial()), null);
    assert.deepEqual((await state()).spaces, [checked[0]]);
    await page.check(`#spaces input[value="${checked[1]}"]`);
    await page.waitForFunction(() => window.__listening.trial() !== null, null, { timeout: 30000 });
    assert.ok(await page.isHidden('#listening-message'));
    assert.deepEqual((await page.evaluate(() => window.__listening.trial())).spaces, checked.slice(0, 2));
  });

  test('a reference on which every space chose the same segment is skipped: no choice of one', async (t) => {
    let single = null;
    for (let seed = 0; seed < 400 && single === null; seed++) {
      if ((await api(server.url, `/api/listening/trial?seed=${seed}`)).candidates.length === 1) single = seed;
    }
    if (single === null) return t.skip('every one of 400 references offers a choice here: nothing to skip');
    let expected = single + 1;
    while ((await api(server.url, `/api/listening/trial?seed=${expected}`)).candidates.length === 1) expected++;
    const { page: p, problems: pp } = await open_page(browser, `${server.url}/listening.html#v=1&seed=${single}`);
    const trial = await loaded_trial(p);
    assert.equal(trial.seed, expected);
    assert.ok(trial.candidates.length >= 2);
    assert.deepEqual(await p.evaluate(() => window.__listening.skipped()), Array.from({ length: expected - single }, (_, i) => single + i));
    assert.match(await p.textContent('#trial .hint'), /Skipped .*all spaces chose the same segment/);
    assert.match(p.url(), new RegExp(`#v=1&seed=${expected}$`));
    assert.deepEqual(pp, []);
    await p.close();
  });

  test('with --token the page passes the token to the API, the audio and the CSV link', async () => {
    const guarded = await start_server(path.join(dir, 'collection.tagscape'), app, ['--token', 'sesame']);
    try {
      const { page: p, problems: pp } = await open_page(browser, `${guarded.url}/listening.html?token=sesame`);
      const t = await loaded_trial(p);
      await p.click('#play-reference');
      await p.waitForFunction(() => window.__listening.plays().length > 0, null, { timeout: 15000 });
      const last = await p.evaluate(() => window.__listening.plays().at(-1));
      assert.deepEqual([last.track, last.segment], [t.reference.track, t.reference.segment]);
      await p.waitForSelector('#results-table');
      assert.equal(await p.getAttribute('#download-csv', 'href'), '/api/listening/answers.csv?token=sesame');
      assert.equal(await p.getAttribute('#explorer-link', 'href'), '/?token=sesame');
      assert.deepEqual(pp, []);
      await p.close();
      // And back: the explorer's link keeps the token, so the listening page still gets in.
      const { page: e, problems: ep } = await open_page(browser, `${guarded.url}/?token=sesame`);
      await e.waitForFunction(() => window.__tagscape?.draws() > 0, null, { timeout: 30000 });
      assert.equal(await e.getAttribute('#listening-link', 'href'), '/listening.html?token=sesame');
      await e.click('#listening-link');
      await e.waitForURL(/\/listening\.html\?token=sesame(#|$)/);
      await loaded_trial(e);
      assert.deepEqual(ep, []);
      await e.close();
    } finally {
      await guarded.stop();
    }
  });

  test('the explorer links to the listening page', async () => {
    const { page: explorer, problems: explorer_problems } = await open_page(browser, `${server.url}/`);
    await explorer.click('#listening-link');
    await explorer.waitForURL(/\/listening\.html/);
    await loaded_trial(explorer);
    assert.deepEqual(explorer_problems, []);
    await explorer.close();
  });

  test('no console errors, page errors or failed requests in the whole session', () => {
    assert.deepEqual(problems, []);
  });
});

describe('listening test page on an empty collection', { skip: skip ?? false }, () => {
  let dir, browser;
  before(async () => {
    mkdirSync(RESULTS_DIR, { recursive: true });
    dir = temp_dir('tagscape-listening-empty-');
    browser = await launch_browser();
  });
  after(async () => {
    await browser?.close();
    if (dir) remove(dir);
  });

  test('no analysed spaces: the server\'s 409 is shown with the command that adds them', async () => {
    mkdirSync(path.join(dir, 'nothing'));
    const db = path.join(dir, 'empty.tagscape');
    execFileSync(BINARY, ['analyze', '--db', db, path.join(dir, 'nothing')], { stdio: 'ignore' });
    const app = build_app(path.join(dir, 'app'));
    const server = await start_server(db, app);
    try {
      const { page, problems } = await open_page(browser, `${server.url}/listening.html`);
      await page.waitForSelector('#listening-message:not([hidden])', { timeout: 15000 });
      const message = await page.textContent('#listening-message');
      await page.screenshot({ path: path.join(RESULTS_DIR, 'listening-03-empty.png') });
      assert.match(message, /No trial: .+/);
      assert.match(message, /tagscape analyze --models \S+ MUSIC_DIR/);
      assert.equal(await page.$$eval('#candidates', (c) => c.length), 0);
      assert.match(await page.textContent('#spaces'), /No analysed spaces yet/);
      assert.match(await page.textContent('#results'), /No answers stored yet/);
      // The 409 is an answer, not a failure of the page; the console stays clean apart from
      // chromium's own line for a non-2xx fetch.
      assert.deepEqual(problems.filter((p) => !/status of 409/.test(p)), []);
    } finally {
      await server.stop();
    }
  });
});
