// tests/explain.test.mjs — explaining the layout, in headless chromium against the real
// `tagscape serve` on a real analysed collection: PCA axis labels name the tags whose Pearson
// r with the shown component is largest/smallest — checked against r computed here, in the
// test, from the points' coordinates (/api/points, binary) and the tag space's per-segment
// vectors (/api/tracks/ID/vectors); t-SNE/UMAP cluster labels show the final frame's cluster
// tags at the clusters' positions and follow pan/zoom; trustworthiness in the status line.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  RESULTS_DIR, change, plot_pixels, skip_reason, start_explorer, stop_explorer,
} from './fixture.mjs';

const skip = skip_reason();
if (skip) console.log(`# explain e2e skipped: ${skip}`);

// Cuts an /api/points body into frames (server/API.md: u32 header length, JSON header, arrays).
export function parse_frames(bytes) {
  const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const view = new DataView(buf);
  const frames = [];
  let at = 0;
  while (at < buf.byteLength) {
    const header_bytes = view.getUint32(at, true);
    const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, at + 4, header_bytes)));
    let offset = at + 4 + header_bytes;
    const arrays = {};
    for (const a of header.arrays) {
      const copy = buf.slice(offset, offset + a.count * 4);
      arrays[a.name] = a.type === 'i32' ? new Int32Array(copy) : new Float32Array(copy);
      offset += Math.ceil((a.count * 4) / 4) * 4;
    }
    frames.push({ header, arrays });
    at = offset;
  }
  return frames;
}

function pearson(a, b) {
  const n = a.length;
  let ma = 0, mb = 0;
  for (let i = 0; i < n; i++) { ma += a[i]; mb += b[i]; }
  ma /= n; mb /= n;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i] - ma, db = b[i] - mb;
    sab += da * db; saa += da * da; sbb += db * db;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : null;
}

const number_of = (text) => Number(text.replace('\u2212', '-'));

describe('explaining the layout', { skip: skip ?? false }, () => {
  let dir, app, server, browser, page, problems, summary;
  const shot = (name) => path.join(RESULTS_DIR, `explain-${name}.png`);
  const state = () => page.evaluate(() => window.__tagscape.state());
  const select = (id, value) => change(page, () => page.selectOption(`#${id}`, value));
  const get = async (route, binary = false) => {
    const r = await fetch(`${server.url}${route}`);
    assert.ok(r.ok, `GET ${route}: ${r.status}`);
    return binary ? new Uint8Array(await r.arrayBuffer()) : r.json();
  };

  const stack = {};
  before(async () => {
    ({ dir, app, server, browser, page, problems } = await start_explorer(stack, 'tagscape-explain-', 'msd-musicnn-1,moods'));
    summary = await get('/api/summary');
  });

  after(() => stop_explorer(stack));

  // The labels as shown: per axis, negative and positive tags in rank order with their r text.
  const shown_labels = () => page.evaluate(() => {
    const read = (id) => {
      const root = document.getElementById(id);
      if (root.hidden) return null;
      const side = (s) => [...root.querySelectorAll(`.tag.${s}`)]
        .sort((a, b) => a.dataset.rank - b.dataset.rank)
        .map((t) => ({ name: t.querySelector('.name').textContent, r: t.querySelector('.r').textContent }));
      return { negative: side('negative'), positive: side('positive'), component: root.querySelector('.component').textContent };
    };
    return { x: read('axis-x-label'), y: read('axis-y-label') };
  });

  // r of every tag of `tags_space` with the shown x and y, from the raw points and vectors.
  async function correlations(s, space, tags_space) {
    const q = new URLSearchParams({ space, tracks: String(s.tracks), seed: String(s.seed), granularity: 'segments',
      method: s.method, x: String(s.pcX), y: String(s.pcY) });
    const [frame] = (parse_frames(await get(`/api/points?${q}`, true))).filter((f) => f.header.kind === 'final');
    const { xy, track, segment } = frame.arrays;
    const vectors = new Map();
    for (const id of new Set(track)) vectors.set(id, (await get(`/api/tracks/${id}/vectors?space=${encodeURIComponent(tags_space)}`)).values);
    const names = summary.spaces.find((sp) => sp.name === tags_space).dim_names;
    const n = track.length;
    const xs = Float64Array.from({ length: n }, (_, i) => xy[2 * i]);
    const ys = Float64Array.from({ length: n }, (_, i) => xy[2 * i + 1]);
    const out = { x: new Map(), y: new Map(), n };
    names.forEach((name, d) => {
      const v = Float64Array.from({ length: n }, (_, i) => vectors.get(track[i])[segment[i]][d]);
      const rx = pearson(xs, v), ry = pearson(ys, v);
      if (rx !== null) out.x.set(name, rx);
      if (ry !== null) out.y.set(name, ry);
    });
    return out;
  }

  // Each shown tag's r equals ours to the printed precision, and it is the tag ranked there by ours.
  function check_axis(axis, label, rs) {
    assert.ok(label, `${axis} axis label shown`);
    const ranked = [...rs.entries()].sort((a, b) => b[1] - a[1]);
    const positive = ranked.filter(([, r]) => r > 0);
    const negative = ranked.filter(([, r]) => r < 0).reverse();
    assert.ok(label.positive.length >= 1 && label.negative.length >= 1, `${axis}: tags on both sides: ${JSON.stringify(label)}`);
    for (const [side, expected] of [['positive', positive], ['negative', negative]]) {
      label[side].forEach((t, k) => {
        const ours = rs.get(t.name);
        assert.ok(ours !== undefined, `${axis} ${side} #${k}: ${t.name} is not a tag`);
        assert.equal(t.r, `${ours < 0 ? '\u2212' : '+'}${Math.abs(ours).toFixed(2)}`, `${axis} ${side} #${k} ${t.name}: shown ${t.r}, computed ${ours}`);
        assert.ok(Math.abs(ours - expected[k][1]) < 1e-4,
          `${axis} ${side} #${k}: shown ${t.name} (r ${ours.toFixed(4)}) but ${expected[k][0]} has r ${expected[k][1].toFixed(4)}`);
      });
      assert.equal(label[side].length, Math.min(3, expected.length), `${axis} ${side}: the top 3`);
    }
  }

  test('PCA axis labels: the tags most correlated with each component, as computed independently', async () => {
    await page.waitForFunction(() => !document.getElementById('axis-x-label').hidden, null, { timeout: 20000 });
    const s = await state();
    assert.equal(s.method, 'pca');
    const rs = await correlations(s, 'msd-musicnn-1/taggrams', 'msd-musicnn-1/taggrams');
    const labels = await shown_labels();
    check_axis('x', labels.x, rs.x);
    check_axis('y', labels.y, rs.y);
    assert.match(labels.x.component, /^PC1 \d+\.\d%$/);
    assert.match(labels.y.component, /^PC2 \d+\.\d%$/);
    // The explained variance agrees with the one the points frame reported (#variance).
    const variance = await page.textContent('#variance');
    assert.ok(variance.includes(`X = ${labels.x.component}`) && variance.includes(`Y = ${labels.y.component}`), `${variance} vs ${labels.x.component}, ${labels.y.component}`);
    await plot_pixels(page, shot('01-pca-axes'));
  });

  test('STD-PCA of the embeddings with other components: labels from the model\'s taggrams', async () => {
    await select('layer', 'embeddings');
    await select('method', 'std-pca');
    await select('pc-x', '2');
    await select('pc-y', '0');
    await page.waitForFunction(() => /STD-PC3/.test(document.getElementById('axis-x-label').textContent), null, { timeout: 20000 });
    const s = await state();
    const rs = await correlations(s, 'msd-musicnn-1/embeddings', 'msd-musicnn-1/taggrams');
    const labels = await shown_labels();
    check_axis('x', labels.x, rs.x);
    check_axis('y', labels.y, rs.y);
    assert.match(labels.y.component, /^STD-PC1 /);
    await page.locator('#plot').screenshot({ path: shot('02-std-pca-axes') });
  });

  test('other methods show no axis labels', async () => {
    await select('method', 'original');
    assert.ok(await page.isHidden('#axis-x-label'));
    assert.ok(await page.isHidden('#axis-y-label'));
    await select('layer', 'taggrams');
  });

  // Label centres relative to the canvas, in label order.
  const label_centres = () => page.evaluate(() => {
    const canvas = document.getElementById('canvas').getBoundingClientRect();
    return [...document.querySelectorAll('#cluster-labels-layer .cluster-label')].map((l) => {
      const r = l.getBoundingClientRect();
      return { text: l.textContent, at: [r.left + r.width / 2 - canvas.left, r.top + r.height / 2 - canvas.top] };
    });
  });

  // The final frame of the layout the page shows, fetched again here (the layout cache answers).
  async function final_frame(s) {
    const q = new URLSearchParams({ space: 'msd-musicnn-1/taggrams', tracks: String(s.tracks), seed: String(s.seed), granularity: 'segments', method: s.method });
    if (s.method === 'tsne') { q.set('perplexity', String(s.perplexity)); q.set('iterations', String(s.iterations)); }
    else { q.set('n_neighbors', String(s.nNeighbors)); q.set('min_dist', String(s.minDist)); }
    return parse_frames(await get(`/api/points?${q}`, true)).find((f) => f.header.kind === 'final');
  }

  async function expect_cluster_labels(method) {
    await page.waitForFunction((m) => window.__tagscape.state().method === m && window.__tagscape.clusters() !== null &&
      document.body.dataset.busy !== '1', method, { timeout: 60000 });
    const s = await state();
    const frame = await final_frame(s);
    const clusters = frame.header.clusters;
    assert.ok(clusters.length >= 1, `${method}: the final frame names at least one cluster`);
    assert.deepEqual(await page.evaluate(() => window.__tagscape.clusters()), clusters, 'the page shows the layout the server answers');
    const labels = await label_centres();
    assert.deepEqual(labels.map((l) => l.text), clusters.map((c) => c.tags.slice(0, 2).map((t) => t.name).join(' \u00b7 ')));
    assert.match(await page.textContent('#status'), new RegExp(`${method} · trustworthiness 0\\.\\d{3}`));
    return { frame, labels };
  }

  // Where the camera shows layout position (x, y): an affine map fitted on the points of the
  // frame with the smallest and largest x and y, and their screen positions (regl-scatterplot).
  async function layout_to_screen(frame) {
    const { xy } = frame.arrays;
    const n = xy.length / 2;
    let ix0 = 0, ix1 = 0, iy0 = 0, iy1 = 0;
    for (let i = 0; i < n; i++) {
      if (xy[2 * i] < xy[2 * ix0]) ix0 = i;
      if (xy[2 * i] > xy[2 * ix1]) ix1 = i;
      if (xy[2 * i + 1] < xy[2 * iy0 + 1]) iy0 = i;
      if (xy[2 * i + 1] > xy[2 * iy1 + 1]) iy1 = i;
    }
    const at = (i) => page.evaluate((k) => window.__tagscape.point(k).at, i);
    const [ax0, ax1, ay0, ay1] = [await at(ix0), await at(ix1), await at(iy0), await at(iy1)];
    const sx = (ax1[0] - ax0[0]) / (xy[2 * ix1] - xy[2 * ix0]);
    const sy = (ay1[1] - ay0[1]) / (xy[2 * iy1 + 1] - xy[2 * iy0 + 1]);
    return (x, y) => [ax0[0] + (x - xy[2 * ix0]) * sx, ay0[1] + (y - xy[2 * iy0 + 1]) * sy];
  }

  test('t-SNE: cluster labels name the final frame\'s clusters at their positions and follow the view', async () => {
    await select('method', 'pca');
    assert.match(await page.textContent('#status'), /pca · trustworthiness 0\.\d{3}/);
    await page.click('#advanced summary');
    await page.selectOption('#method', 'tsne');
    await page.fill('#iterations', '300');
    await page.press('#iterations', 'Enter');
    await page.waitForFunction(() => window.__tagscape.state().iterations === 300);
    const { frame, labels } = await expect_cluster_labels('tsne');
    let to_screen = await layout_to_screen(frame);
    frame.header.clusters.forEach((c, k) => {
      const want = to_screen(c.x, c.y);
      assert.ok(Math.hypot(want[0] - labels[k].at[0], want[1] - labels[k].at[1]) < 2,
        `label ${k} (${labels[k].text}) at ${labels[k].at}, its cluster is shown at ${want}`);
    });
    await plot_pixels(page, shot('03-tsne-clusters'));
    await page.locator('#plot').screenshot({ path: shot('03-tsne-clusters-page') });
    // Pan: every label moves with the points.
    const box = await page.locator('#canvas').boundingBox();
    const point_before = await page.evaluate(() => window.__tagscape.point(0).at);
    await page.mouse.move(box.x + 200, box.y + 200);
    await page.mouse.down();
    await page.mouse.move(box.x + 330, box.y + 270, { steps: 8 });
    await page.mouse.up();
    await page.waitForTimeout(200);
    const point_after = await page.evaluate(() => window.__tagscape.point(0).at);
    const moved = [point_after[0] - point_before[0], point_after[1] - point_before[1]];
    assert.ok(Math.hypot(...moved) > 50, `the drag panned the view: point 0 moved ${moved}`);
    const panned = await label_centres();
    panned.forEach((l, k) => {
      const d = [l.at[0] - labels[k].at[0], l.at[1] - labels[k].at[1]];
      assert.ok(Math.hypot(d[0] - moved[0], d[1] - moved[1]) < 2, `label ${k} moved ${d}, the points ${moved}`);
    });
    // Zoom: positions still agree with the points'.
    await page.mouse.wheel(0, -250);
    await page.waitForTimeout(300);
    to_screen = await layout_to_screen(frame);
    const zoomed = await label_centres();
    frame.header.clusters.forEach((c, k) => {
      const want = to_screen(c.x, c.y);
      assert.ok(Math.hypot(want[0] - zoomed[k].at[0], want[1] - zoomed[k].at[1]) < 2, `zoomed: label ${k} at ${zoomed[k].at}, cluster at ${want}`);
    });
    // The toggle hides them, and the state (URL) remembers it.
    await page.uncheck('#cluster-labels');
    await page.waitForFunction(() => window.__tagscape.state().clusterLabels === false);
    assert.ok(await page.isHidden('#cluster-labels-layer'));
    await page.check('#cluster-labels');
    await page.waitForFunction(() => window.__tagscape.state().clusterLabels === true);
    assert.ok(await page.isVisible('#cluster-labels-layer'));
  });

  test('UMAP: cluster labels too; PCA shows none', async () => {
    await page.selectOption('#method', 'umap');
    await expect_cluster_labels('umap');
    await select('method', 'pca');
    assert.equal((await label_centres()).length, 0);
    assert.ok(await page.isHidden('#cluster-labels'));
  });

  test('no console errors, page errors or failed requests in the whole session', () => {
    assert.deepEqual(problems, []);
  });
});
