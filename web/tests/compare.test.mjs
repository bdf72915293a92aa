// tests/compare.test.mjs — compare mode in headless chromium against the real `tagscape serve`
// on a real collection analysed with two taggers: two panes over the same tracks, the second
// set to another space and projection (both canvases show points: pixel statistics); a hover
// in one pane highlights the same track's points in the other; a click's neighbours and a
// lasso in one pane stand out in both; linked pan/zoom moves both cameras, independent does
// not; the URL restores both panes; a version-2 URL is one pane. No console errors.
import assert from 'node:assert/strict';
import path from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import {
  RESULTS_DIR, change, open_page, plot_pixels, skip_reason, start_explorer, stop_explorer,
} from './fixture.mjs';

const skip = skip_reason();
if (skip) console.log(`# compare e2e skipped: ${skip}`);

const MIN_LIT = 40; // pixels: a handful of dots; an empty plot has 0
const CANVAS = ['#canvas', '#canvas-2'];

const sorted = (a) => [...a].sort((x, y) => x - y);

// The segments of a selection run's items (state.ts: a segment, -1, or v <= -2 = "through -v-2").
function expand(items) {
  const out = [];
  for (const v of items) {
    if (v >= -1) out.push(v);
    else for (let s = out.at(-1) + 1; s <= -v - 2; s++) out.push(s);
  }
  return out;
}
const close = (a, b, eps = 1e-6) => a.every((v, i) => Math.abs(v - b[i]) < eps);

describe('compare mode', { skip: skip ?? false }, () => {
  let dir, app, server, browser, page, problems;
  const shot = (name) => path.join(RESULTS_DIR, `compare-${name}.png`);
  const state = (p = page) => p.evaluate(() => window.__tagscape.state());
  const pane = (k, fn, arg, p = page) => p.evaluate(([kk, f, a]) => window.__tagscape.pane(kk)[f](...(a ?? [])), [k, fn, arg]);
  const ready = (k, p = page) => p.waitForFunction((kk) => window.__tagscape.pane(kk).points() > 0 && !window.__tagscape.pane(kk).busy(),
    k, { timeout: 60000 });

  // (track, segment) keys of point indices in pane k.
  async function keys_of(k, indices) {
    const out = [];
    for (const i of indices) {
      const p = await pane(k, 'point', [i]);
      out.push(`${p.track}/${p.segment}`);
    }
    return out.sort();
  }

  // A point of pane k well inside its canvas (the `nth` such; among `shown` if given).
  async function inner_point(k, nth = 0, shown = null) {
    const box = await page.locator(CANVAS[k]).boundingBox();
    const n = await pane(k, 'points');
    const inside = [];
    for (let i = 0; i < n; i++) {
      const p = await pane(k, 'point', [i]);
      if (shown && !shown.has(i)) continue;
      if (p.at[0] > 20 && p.at[0] < box.width - 20 && p.at[1] > 20 && p.at[1] < box.height - 20) inside.push({ i, ...p });
    }
    assert.ok(inside.length > 0, `pane ${k + 1}: no point inside its canvas`);
    return { box, point: inside[Math.min(nth, inside.length - 1)] };
  }

  // Pane k emphasises exactly these (track/segment) keys (waits up to 5 s for it).
  async function expect_highlighted(k, keys, what) {
    const deadline = Date.now() + 5000;
    let got = [];
    while (Date.now() < deadline) {
      got = await keys_of(k, await pane(k, 'highlighted'));
      if (JSON.stringify(got) === JSON.stringify(keys)) return;
      await page.waitForTimeout(100);
    }
    assert.deepEqual(got, keys, `pane ${k + 1} should emphasise ${what}`);
  }

  async function drag(k, [dx, dy]) {
    const box = await page.locator(CANVAS[k]).boundingBox();
    const x = box.x + box.width / 2, y = box.y + box.height / 2;
    await page.mouse.move(x - 30, y - 30);
    await page.mouse.down();
    await page.mouse.move(x - 30 + dx, y - 30 + dy, { steps: 10 });
    await page.mouse.up();
  }

  // A box drag (drag mode 'box') around the left half of pane k's points.
  async function box_select(k) {
    const box = await page.locator(CANVAS[k]).boundingBox();
    const n = await pane(k, 'points');
    const at = [];
    for (let i = 0; i < n; i++) at.push((await pane(k, 'point', [i])).at);
    const xs = at.map((p) => p[0]).sort((a, b) => a - b), ys = at.map((p) => p[1]).sort((a, b) => a - b);
    const clamp = (v, max) => Math.max(2, Math.min(v, max - 2));
    const [x0, y0, x1, y1] = [clamp(xs[0] - 15, box.width), clamp(ys[0] - 15, box.height), clamp(xs[Math.floor(n / 2)], box.width), clamp(ys.at(-1) + 15, box.height)];
    await page.mouse.move(box.x + x0, box.y + y0);
    await page.mouse.down();
    await page.mouse.move(box.x + x0 + 1, box.y + y0 + 1); // the box starts at the first move
    await page.mouse.move(box.x + x1, box.y + y1, { steps: 8 });
    await page.waitForTimeout(60); // the lasso samples the pointer every few ms: rest on the corner
    await page.mouse.move(box.x + x1 + 0.5, box.y + y1 + 0.5);
    await page.waitForTimeout(60);
    await page.mouse.up();
  }

  const stack = {};
  before(async () => {
    ({ dir, app, server, browser, page, problems } = await start_explorer(stack, 'tagscape-compare-', 'msd-musicnn-1,mtt-musicnn-1,moods'));
  });

  after(() => stop_explorer(stack));

  test('two panes: the second set to another space and projection, both drawn', async () => {
    assert.ok(await page.isHidden('#plot-2'));
    await change(page, () => page.check('#compare'));
    await ready(1);
    assert.ok(await page.isVisible('#plot-2'));
    let s = await state();
    assert.equal(s.compare, true);
    assert.equal(s.active, 0);
    // Edit the second pane: choose it, then the usual controls.
    await page.selectOption('#active-pane', '1');
    await page.waitForFunction(() => window.__tagscape.state().active === 1);
    assert.ok(await page.$eval('#plot-2', (e) => e.classList.contains('active')));
    await change(page, () => page.selectOption('#dataset', 'mtt'));
    await page.selectOption('#method', 'umap');
    await page.waitForFunction(() => window.__tagscape.pane(1).state()?.method === 'umap');
    await ready(1);
    s = await state();
    assert.equal(s.second.model, 'mtt-musicnn-1');
    assert.equal(s.second.method, 'umap');
    assert.equal(s.model, 'msd-musicnn-1', 'the first pane keeps its space');
    assert.equal(s.method, 'pca', 'and its projection');
    assert.equal(await pane(0, 'space'), 'msd-musicnn-1/taggrams');
    assert.equal(await pane(1, 'space'), 'mtt-musicnn-1/taggrams');
    // The same tracks in both (tracks N and seed are shared).
    assert.equal(await pane(0, 'points'), await pane(1, 'points'));
    assert.match(await page.textContent('#pane-title-2'), /2 · mtt-musicnn-1\/taggrams · UMAP · editing/);
    // Narrow (portrait) panes step back so the whole layout fits: every point inside each canvas.
    for (const k of [0, 1]) {
      const box = await page.locator(CANVAS[k]).boundingBox();
      assert.ok(box.width < box.height, `pane ${k + 1} is portrait (${box.width}x${box.height})`);
      const n = await pane(k, 'points');
      for (let i = 0; i < n; i++) {
        const { at } = await pane(k, 'point', [i]);
        assert.ok(at[0] >= 0 && at[0] <= box.width && at[1] >= 0 && at[1] <= box.height, `pane ${k + 1}: point ${i} at ${at} is outside ${box.width}x${box.height}`);
      }
    }
    assert.match(await page.textContent('#status-2'), /umap · trustworthiness 0\.\d{3}/);
    // The controls show the edited pane; choosing the first pane shows its values again.
    assert.equal(await page.inputValue('#method'), 'umap');
    await page.click('#canvas', { position: { x: 5, y: 5 } }); // clicking a pane makes it the edited one
    await page.waitForFunction(() => window.__tagscape.state().active === 0);
    assert.equal(await page.inputValue('#method'), 'pca');
    assert.equal(await page.inputValue('#dataset'), 'msd');
    for (const k of [0, 1]) {
      const px = await plot_pixels(page, shot(`01-pane-${k + 1}`), CANVAS[k]);
      assert.ok(px.lit >= MIN_LIT, `pane ${k + 1}: only ${px.lit} pixels differ from the background`);
      assert.ok(px.colours >= 3, `pane ${k + 1}: colour by track shows several colours, saw ${px.colours}`);
    }
    await page.screenshot({ path: shot('01-page') });
  });

  test('hover in one pane highlights the same track in the other', async () => {
    for (const [from, to] of [[0, 1], [1, 0]]) {
      const { box, point } = await inner_point(from, 2);
      await page.mouse.move(box.x + point.at[0] + 25, box.y + point.at[1] + 25);
      await page.mouse.move(box.x + point.at[0], box.y + point.at[1], { steps: 5 });
      await page.waitForFunction((k) => window.__tagscape.hovered()?.pane === k, from, { timeout: 10000 });
      const hovered = await page.evaluate(() => window.__tagscape.hovered());
      const want = sorted(await pane(to, 'track_points', [hovered.track]));
      assert.ok(want.length > 0, `track ${hovered.track} has points in pane ${to + 1}`);
      await page.waitForFunction(([k, w]) => JSON.stringify([...window.__tagscape.pane(k).highlighted()].sort((a, b) => a - b)) === JSON.stringify(w),
        [to, want], { timeout: 5000 });
      // And in the hovered pane itself, as before compare mode.
      assert.deepEqual(sorted(await pane(from, 'highlighted')), sorted(await pane(from, 'track_points', [hovered.track])));
      await page.mouse.move(box.x + 3, box.y + 3);
      await page.waitForFunction(() => window.__tagscape.hovered() === null);
    }
  });

  test('a click: its neighbours stand out in both panes; a lasso in one selects the same points in both', async () => {
    await page.selectOption('#audio', 'off');
    const { box, point } = await inner_point(0, 4);
    await page.mouse.move(box.x + point.at[0] + 20, box.y + point.at[1] + 20);
    await page.mouse.move(box.x + point.at[0], box.y + point.at[1], { steps: 4 });
    await page.mouse.click(box.x + point.at[0], box.y + point.at[1]);
    await page.waitForSelector('#neighbours:not([hidden]) #neighbours-list li', { timeout: 15000 });
    const s = await state();
    const listed = await page.$$eval('#neighbours-list li', (l) => l.map((li) => [Number(li.dataset.track), Number(li.dataset.segment)]));
    const keys = [s.knnOf, ...listed].map(([t, seg]) => `${t}/${seg}`).sort();
    for (const k of [0, 1]) await expect_highlighted(k, [...new Set(keys)].sort(), 'the neighbours');
    // They are neighbours in the clicked pane's space, whichever pane is edited next.
    const knn = await fetch(`${server.url}/api/knn?space=${encodeURIComponent('msd-musicnn-1/taggrams')}&track=${s.knnOf[0]}&segment=${s.knnOf[1]}&k=${s.knnK}&metric=${s.knnMetric}`);
    assert.deepEqual(listed, (await knn.json()).neighbours.map((n) => [n.track, n.segment]));
    await page.selectOption('#active-pane', '1');
    await page.waitForFunction(() => window.__tagscape.state().active === 1);
    await page.waitForTimeout(300);
    assert.deepEqual(await page.$$eval('#neighbours-list li', (l) => l.map((li) => [Number(li.dataset.track), Number(li.dataset.segment)])), listed);
    // Box selection in the second pane, around the left half of its points.
    await page.selectOption('#drag-mode', 'box');
    await box_select(1);
    await page.selectOption('#drag-mode', 'pan');
    await page.waitForFunction(() => window.__tagscape.state().selection !== null, null, { timeout: 5000 });
    const selection = (await state()).selection;
    const selected_keys = selection.flatMap(([t, ...items]) => expand(items).map((seg) => `${t}/${seg}`)).sort();
    assert.ok(selected_keys.length >= 1);
    assert.equal((await state()).active, 1, 'the lassoed pane is the edited one');
    for (const k of [0, 1]) await expect_highlighted(k, selected_keys, 'the lasso\'s points');
    assert.equal(await page.$$eval('#selection-tracks li', (l) => l.length), selection.length);
    await plot_pixels(page, shot('02-lasso-pane-1'), CANVAS[0]);
    await plot_pixels(page, shot('02-lasso-pane-2'), CANVAS[1]);
  });

  test('linked pan/zoom moves both cameras; independent moves one', async () => {
    assert.equal((await state()).linked, true);
    const before = [await pane(0, 'camera'), await pane(1, 'camera')];
    await drag(0, [120, 60]);
    await page.waitForFunction((b) => Math.abs(window.__tagscape.pane(0).camera()[0] - b[0]) > 0.05, before[0], { timeout: 5000 });
    await page.waitForFunction(() => {
      const [a, b] = [window.__tagscape.pane(0).camera(), window.__tagscape.pane(1).camera()];
      return a.every((v, i) => Math.abs(v - b[i]) < 1e-6);
    }, null, { timeout: 5000 });
    assert.ok(!close(await pane(1, 'camera'), before[1]), 'the second pane followed');
    // Zooming the second pane leads the first.
    const box = await page.locator('#canvas-2').boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    const zoom_before = (await pane(0, 'camera'))[2];
    await page.mouse.wheel(0, -200);
    await page.waitForFunction((z) => Math.abs(window.__tagscape.pane(0).camera()[2] - z) > 0.01, zoom_before, { timeout: 5000 });
    await page.waitForFunction(() => {
      const [a, b] = [window.__tagscape.pane(0).camera(), window.__tagscape.pane(1).camera()];
      return a.every((v, i) => Math.abs(v - b[i]) < 1e-6);
    }, null, { timeout: 5000 });

    await page.uncheck('#linked');
    await page.waitForFunction(() => window.__tagscape.state().linked === false);
    const still = await pane(1, 'camera');
    const first = await pane(0, 'camera');
    await drag(0, [-100, 80]);
    await page.waitForFunction((b) => Math.abs(window.__tagscape.pane(0).camera()[0] - b[0]) > 0.05, first, { timeout: 5000 });
    await page.waitForTimeout(300);
    assert.ok(close(await pane(1, 'camera'), still), 'independent: the second pane did not move');
    const s = await state();
    assert.ok(close(s.camera, await pane(0, 'camera')) && close(s.second.camera, still), 'both cameras in the state');
  });

  test('the URL restores both panes (spaces, projections, cameras, the edited pane, link)', async () => {
    await page.waitForTimeout(400); // the hash is written 150 ms after the last change
    const saved = await state();
    const fresh = await open_page(browser, page.url());
    await ready(0, fresh.page);
    await ready(1, fresh.page);
    const restored = await state(fresh.page);
    assert.deepEqual(restored, saved);
    assert.ok(await fresh.page.isVisible('#plot-2'));
    assert.equal(await fresh.page.isChecked('#compare'), true);
    assert.equal(await fresh.page.isChecked('#linked'), false);
    assert.equal(await fresh.page.inputValue('#active-pane'), String(saved.active));
    assert.equal(await pane(1, 'space', [], fresh.page), 'mtt-musicnn-1/taggrams');
    assert.ok(close(await pane(0, 'camera', [], fresh.page), saved.camera, 1e-5));
    assert.ok(close(await pane(1, 'camera', [], fresh.page), saved.second.camera, 1e-5));
    for (const k of [0, 1]) {
      const px = await plot_pixels(fresh.page, shot(`03-restored-pane-${k + 1}`), CANVAS[k]);
      assert.ok(px.lit >= MIN_LIT, `restored pane ${k + 1}: ${px.lit} lit pixels`);
    }
    assert.deepEqual(fresh.problems, []);
    await fresh.page.close();
  });

  test('a version-2 URL loads as one pane', async () => {
    const v2 = { version: 2, model: 'msd-musicnn-1', layer: 'embeddings', method: 'std-pca', tracks: 100, seed: 0, view: 'segments', knnK: 7 };
    const hash = deflateRawSync(Buffer.from(JSON.stringify(v2))).toString('base64url');
    const fresh = await open_page(browser, `${server.url}/#s=${hash}`);
    await ready(0, fresh.page);
    const s = await state(fresh.page);
    assert.equal(s.compare, false);
    assert.equal(s.layer, 'embeddings');
    assert.equal(s.method, 'std-pca');
    assert.equal(s.knnK, 7);
    assert.ok(await fresh.page.isHidden('#plot-2'));
    await fresh.page.waitForFunction(() => window.__tagscape.state().version === 3);
    assert.deepEqual(fresh.problems, []);
    await fresh.page.close();
  });

  // Everything the page shows for each feature, to compare before and after a reload.
  const evidence = (p) => p.evaluate(() => {
    const t = window.__tagscape;
    const text = (sel) => document.querySelector(sel)?.textContent ?? null;
    const value = (sel) => { const e = document.querySelector(sel); return e.type === 'checkbox' ? e.checked : e.value; };
    const items = (sel, attrs) => [...document.querySelectorAll(sel)].map((li) => attrs.map((a) => li.dataset[a]).join('/'));
    const controls = ['#compare', '#linked', '#active-pane', '#cluster-labels', '#drag-mode', '#audio', '#filter-year', '#filter-tags',
      '#sparsity', '#highlight-album', '#knn-k', '#knn-metric', '#goal', '#goal-colour', '#walk-steps', '#taggram-kind', '#method', '#dataset', '#colour'];
    return {
      controls: Object.fromEntries(controls.map((c) => [c, value(c)])),
      advanced_open: document.getElementById('advanced').open,
      filtered: t.pane(0).filtered(), filter_count: text('#filter-count'),
      filtered_2: t.pane(1).filtered(),
      selection: t.pane(0).selection(), selection_2: t.pane(1).selection(),
      highlighted: [...t.pane(0).highlighted()].sort((a, b) => a - b), highlighted_2: [...t.pane(1).highlighted()].sort((a, b) => a - b),
      selection_rows: [...document.querySelectorAll('#selection-tracks li')].map((li) => li.textContent),
      neighbours: items('#neighbours-list li', ['track', 'segment']),
      walk: items('#walk-path li', ['track']), walk_overlay: t.pane(0).walk_overlay(),
      panel_title: text('#panel h2'), taggram_rows: t.taggram().rows,
      categories: t.pane(0).categories(), legend: text('#legend'), legend_2: text('#legend-2'),
      clusters_2: t.pane(1).clusters()?.length ?? 0, cluster_labels_2_hidden: document.getElementById('cluster-labels-layer-2').hidden,
      cameras: [t.pane(0).camera(), t.pane(1).camera()],
    };
  });

  test('every feature round-trips through the URL', async () => {
    // Pane 2 (UMAP) without cluster labels.
    await page.selectOption('#active-pane', '1');
    await page.waitForFunction(() => window.__tagscape.state().active === 1);
    await page.uncheck('#cluster-labels');
    await page.selectOption('#active-pane', '0');
    await page.waitForFunction(() => window.__tagscape.state().active === 0);
    // Pane 1 coloured by a goal.
    await page.fill('#goal', '+rock -pop');
    await page.press('#goal', 'Enter');
    await change(page, () => page.check('#goal-colour'));
    // Filter: metadata, a tag threshold, sparsity; a highlight.
    await page.fill('#filter-year', '2009-2011');
    await page.press('#filter-year', 'Enter');
    await page.fill('#filter-tags', 'rock >= 0');
    await page.press('#filter-tags', 'Enter');
    await page.fill('#sparsity', '2');
    await page.press('#sparsity', 'Enter');
    await page.waitForFunction(() => window.__tagscape.pane(0).filter_result() !== null && window.__tagscape.pane(1).filter_result() !== null, null, { timeout: 15000 });
    await page.selectOption('#highlight-album', 'Remixes');
    // Neighbours (k, metric) of a clicked point: the selected track, its taggram (moods), a walk.
    await page.fill('#knn-k', '4');
    await page.press('#knn-k', 'Enter');
    await page.selectOption('#knn-metric', 'euclidean');
    await page.selectOption('#audio', 'off');
    const shown = new Set(await page.evaluate(() => window.__tagscape.pane(0).filtered()));
    assert.ok(shown.size > 0, 'the filter leaves points');
    const { box, point } = await inner_point(0, 1, shown);
    await page.mouse.move(box.x + point.at[0] + 20, box.y + point.at[1] + 20);
    await page.mouse.move(box.x + point.at[0], box.y + point.at[1], { steps: 4 });
    await page.mouse.click(box.x + point.at[0], box.y + point.at[1]);
    await page.waitForSelector('#neighbours-list li', { timeout: 15000 });
    await page.waitForSelector('#taggram-kind');
    await page.selectOption('#taggram-kind', 'moods');
    await page.waitForFunction(() => window.__tagscape.taggram().rows.includes('happy'), null, { timeout: 15000 });
    await page.fill('#walk-steps', '3');
    await page.press('#walk-steps', 'Enter');
    await page.click('#walk');
    await page.waitForSelector('#walk-path li', { timeout: 15000 });
    // A box selection in pane 1, then a pan, then lasso as the drag mode; the advanced fold open.
    await page.selectOption('#drag-mode', 'box');
    await box_select(0);
    await page.waitForSelector('#selection-tracks li', { timeout: 5000 });
    await page.selectOption('#drag-mode', 'pan');
    await drag(0, [60, -40]);
    await page.selectOption('#drag-mode', 'lasso');
    await page.click('#advanced summary');
    await page.waitForFunction(() => window.__tagscape.state().advanced === true);
    await page.selectOption('#audio', 'click');
    await page.waitForTimeout(500); // the hash is written 150 ms after the last change

    const saved = await state();
    for (const [k, v] of Object.entries({ compare: true, linked: false, clusterLabels: false, colour: 'goal', goal: '+rock -pop', sparsity: 2,
      knnK: 4, knnMetric: 'euclidean', taggram: 'moods', walkSteps: 3, drag: 'lasso', audio: 'click', advanced: true })) {
      assert.deepEqual(saved[k], v, `state.${k} was set`);
    }
    assert.deepEqual(saved.filter.year, '2009-2011');
    assert.equal(saved.highlight.album, 'Remixes');
    assert.ok(saved.selected !== null && saved.knnOf !== null && saved.walkFrom === saved.selected && saved.selection && saved.camera);
    const before = await evidence(page);
    assert.ok(before.filtered && before.selection?.length && before.neighbours.length === 4 && before.walk.length >= 1 && before.taggram_rows.length,
      JSON.stringify(before));
    assert.ok(before.cluster_labels_2_hidden && before.clusters_2 > 0);
    assert.equal(before.controls['#colour'], 'goal', 'the colour control names the goal colouring');
    assert.deepEqual(before.highlighted, before.selection, 'the selection is what stands out');
    await page.screenshot({ path: shot('04-everything') });

    const fresh = await open_page(browser, page.url());
    const p = fresh.page;
    await ready(0, p);
    await ready(1, p);
    await p.waitForSelector('#walk-path li', { timeout: 15000 });
    await p.waitForSelector('#neighbours-list li', { timeout: 15000 });
    await p.waitForSelector('#selection-tracks li', { timeout: 15000 });
    await p.waitForFunction(() => window.__tagscape.taggram().rows.includes('happy') && window.__tagscape.pane(0).filtered() !== null &&
      window.__tagscape.pane(0).legend()?.kind === 'value' && !window.__tagscape.pane(0).busy(), null, { timeout: 20000 });
    await p.waitForTimeout(300);
    assert.deepEqual(await state(p), saved);
    const after = await evidence(p);
    for (const key of Object.keys(before)) {
      if (key === 'cameras') continue;
      assert.deepEqual(after[key], before[key], `${key} after the reload`);
    }
    before.cameras.forEach((c, k) => assert.ok(close(after.cameras[k], c, 1e-5), `pane ${k + 1} camera ${after.cameras[k]} vs ${c}`));
    await p.screenshot({ path: shot('05-everything-restored') });
    assert.deepEqual(fresh.problems, []);
    await p.close();
  });

  test('turning compare off leaves one pane', async () => {
    await page.uncheck('#compare');
    await page.waitForFunction(() => window.__tagscape.state().compare === false);
    assert.ok(await page.isHidden('#plot-2'));
    const s = await state();
    assert.equal(s.compare, false);
    assert.equal(s.active, 0);
    assert.ok((await plot_pixels(page, null)).lit >= MIN_LIT);
  });

  test('no console errors, page errors or failed requests in the whole session', () => {
    assert.deepEqual(problems, []);
  });
});
