// tests/explain.test.mjs — explaining the layout, in headless chromium against the real
// `tagscape serve` on a real analysed collection: PCA axis labels name the tags whose Pearson
// r with the shown component is largest/smallest — checked against r computed here, in the
// test, from the points' coordinates (/api/points, binary) and the tag space's per-segment
// vectors (/api/tracks/ID/vectors); t-SNE/UMAP cluster labels show the final frame's cluster
// tags at the clusters' positions and follow pan/zoom; trustworthiness in the status line.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  RESULTS_DIR, build_app, change, launch_browser, make_collection, open_page, plot_pixels,
  remove, skip_reason, start_server, temp_dir,
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

  before(async () => {
    mkdirSync(RESULTS_DIR, { recursive: true });
    dir = temp_dir('tagscape-explain-');
    const collection = make_collection(dir, 'msd-musicnn-1,moods');
    app = build_app(path.join(dir, 'app'));
    server = await start_server(collection.db, app);
    summary = await get('/api/summary');
    browser = await launch_browser();
    ({ page, problems } = await open_page(browser, `${server.url}/`));
    await page.waitForFunction(() => window.__tagscape?.draws() > 0, null, { timeout: 30000 });
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    if (dir) remove(dir);
  });

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

  test('no console errors, page errors or failed requests in the whole session', () => {
    assert.deepEqual(problems, []);
  });
});
