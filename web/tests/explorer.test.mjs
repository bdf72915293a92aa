// tests/explorer.test.mjs — the explorer in headless chromium against the real `tagscape
// serve` on a real analysed collection: every control, points visible on the canvas (pixel
// statistics), hover -> segment audio fetched and played, click -> side panel, URL -> same
// state after reload, clear messages for an empty store, no console errors.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  RESULTS_DIR, WEB_DIR, build_app, change, launch_browser, make_collection, open_page, plot_pixels,
  remove, skip_reason, start_explorer, start_server, stop_explorer, temp_dir,
} from './fixture.mjs';

const skip = skip_reason();
if (skip) console.log(`# web e2e skipped: ${skip}`);

const MIN_LIT = 40; // pixels: a handful of dots; an empty plot has 0

describe('explorer', { skip: skip ?? false }, () => {
  let dir, app, server, browser, page, problems, collection;
  const shot = (name) => path.join(RESULTS_DIR, `${name}.png`);
  const state = () => page.evaluate(() => window.__tagscape.state());
  const select = (id, value) => change(page, () => page.selectOption(`#${id}`, value));
  const fill = (id, value) => change(page, async () => { await page.fill(`#${id}`, String(value)); await page.press(`#${id}`, 'Enter'); });
  const expect_points = async (name) => {
    const px = await plot_pixels(page, shot(name));
    assert.ok(px.lit >= MIN_LIT, `${name}: only ${px.lit} plot pixels differ from the background`);
    return px;
  };

  const stack = {};
  before(async () => {
    ({ dir, collection, app, server, browser, page, problems } = await start_explorer(stack, 'tagscape-web-'));
  });

  after(() => stop_explorer(stack));

  test('first view: PCA of the default space, points on the canvas, legend and variance', async () => {
    const s = await state();
    assert.equal(s.model, 'msd-musicnn-1');
    assert.equal(s.method, 'pca');
    assert.equal(s.tracks, 100);
    const n = await page.evaluate(() => window.__tagscape.points());
    assert.ok(n > 20, `expected the segments of ${collection.tracks} tracks, got ${n} points`);
    const px = await expect_points('01-pca');
    assert.ok(px.colours >= 3, `colour by track should show several colours, saw ${px.colours}`);
    assert.match(await page.textContent('#legend'), new RegExp(`track \\(${collection.tracks} tracks\\)`));
    assert.match(await page.textContent('#variance'), /PC1 \d+\.\d%.*PC2 \d+\.\d%/);
  });

  test('N tracks, all, seed and shuffle choose which tracks', async () => {
    await fill('tracks', 2);
    const two = await page.evaluate(() => window.__tagscape.points());
    const legend = await page.textContent('#legend');
    assert.match(legend, /\(2 tracks\)/);
    await fill('seed', 7);
    assert.equal((await state()).seed, 7);
    await change(page, () => page.click('#shuffle'));
    const shuffled = await state();
    assert.notEqual(shuffled.seed, 7);
    assert.equal(shuffled.tracks, 2);
    await change(page, () => page.check('#all-tracks'));
    assert.equal((await state()).tracks, 'all');
    assert.ok(await page.isDisabled('#tracks'));
    const all = await page.evaluate(() => window.__tagscape.points());
    assert.ok(all > two, `all tracks (${all} points) should be more than 2 tracks (${two})`);
    await expect_points('02-all-tracks');
  });

  test('model and dataset switch the space; the tag set follows; missing models are disabled with their command', async () => {
    await select('dataset', 'mtt');
    assert.equal((await state()).model, 'mtt-musicnn-1');
    const colours = await page.$$eval('#colour option', (o) => o.map((x) => x.value));
    assert.ok(colours.includes('tag:guitar'), 'MTT tags offered for colour');
    assert.ok(!colours.includes('tag:female vocalists'), 'MSD tags gone');
    await expect_points('03-mtt');
    // VGG was not analysed: disabled, and the command that adds it is shown.
    assert.ok(await page.$eval('#architecture option[value=vgg]', (o) => o.disabled));
    assert.match(await page.textContent('#missing'), /tagscape analyze --models mtt-vgg-1/);
    await select('dataset', 'msd');
    assert.equal((await state()).model, 'msd-musicnn-1');
  });

  test('layers: embeddings and moods', async () => {
    await select('layer', 'embeddings');
    assert.equal((await state()).layer, 'embeddings');
    await expect_points('04-embeddings');
    await select('layer', 'moods');
    await expect_points('05-moods');
    await select('layer', 'taggrams');
  });

  test('original axes by tag name (searchable list) and index, log scale', async () => {
    await select('method', 'original');
    assert.ok(await page.isVisible('#axis-x'));
    const names = await page.$$eval('#dims option', (o) => o.map((x) => x.value));
    assert.ok(names.includes('rock') && names.includes('pop'));
    await fill('axis-x', 'rock');
    await fill('axis-y', 'electronic');
    let s = await state();
    assert.equal(s.origX, 'rock');
    assert.equal(s.origY, 'electronic');
    await expect_points('06-original-rock-electronic');
    await fill('axis-y', '9'); // by index
    assert.equal((await state()).origY, '9');
    await change(page, () => page.check('#log'));
    s = await state();
    assert.equal(s.log, true);
    await expect_points('07-original-log');
  });

  test('PCA components for X and Y with explained variance; STD-PCA', async () => {
    await select('method', 'pca');
    await select('pc-x', '2');
    await select('pc-y', '0');
    assert.match(await page.textContent('#variance'), /X = PC3 \d+\.\d%, Y = PC1 \d+\.\d%/);
    assert.match(await page.$eval('#pc-x option[value="2"]', (o) => o.textContent), /PC3 \(\d+\.\d%\)/);
    await expect_points('08-pca-3-1');
    await select('method', 'std-pca');
    await expect_points('09-std-pca');
    await select('pc-x', '0');
    await select('pc-y', '1');
    await select('method', 'pca');
  });

  test('t-SNE and UMAP with parameters behind the advanced fold', async () => {
    await page.click('#advanced summary');
    await page.waitForFunction(() => window.__tagscape.state().advanced === true);
    for (const [method, field, value, key] of [['tsne', 'perplexity', 3, 'perplexity'], ['umap', 'n-neighbors', 4, 'nNeighbors']]) {
      await page.selectOption('#method', method);
      assert.ok(await page.isVisible(`#${field}`));
      await page.fill(`#${field}`, String(value));
      await page.press(`#${field}`, 'Enter');
      // Either the layout arrives (drawn) or the server says why not: never a silent blank.
      await page.waitForFunction(() => document.body.dataset.busy !== '1' && (window.__tagscape.points() > 0 || !document.getElementById('message').hidden), null, { timeout: 60000 });
      const s = await state();
      assert.equal(s[key], value);
      if (await page.isVisible('#message')) {
        assert.match(await page.textContent('#message'), new RegExp(`Cannot show this view: .*${method}`));
      } else {
        await expect_points(`10-${method}`);
      }
    }
    await select('method', 'pca');
    assert.ok(await page.isHidden('#message'));
  });

  test('views: trajectories and averages (one circle a track)', async () => {
    await select('view', 'trajectories');
    const traj = await expect_points('11-trajectories');
    await select('view', 'averages');
    assert.equal(await page.evaluate(() => window.__tagscape.points()), collection.tracks);
    const avg = await expect_points('12-averages');
    assert.ok(traj.lit > 0 && avg.lit > 0);
    await select('view', 'segments');
  });

  test('colour by a tag value and by a mood, with a legend', async () => {
    await change(page, async () => {
      await page.selectOption('#colour', 'tag:rock');
      await page.waitForFunction(() => document.getElementById('legend').textContent.includes('rock'));
    });
    assert.ok(await page.isVisible('#legend .gradient'));
    const rock = await expect_points('13-colour-rock');
    assert.ok(rock.colours >= 2);
    await change(page, async () => {
      await page.selectOption('#colour', 'mood:happy');
      await page.waitForFunction(() => document.getElementById('legend').textContent.includes('happy'));
    });
    await expect_points('14-colour-happy');
    await select('colour', 'track');
    assert.match(await page.textContent('#legend'), /track/);
  });

  test('hover a dot: its track highlighted, tooltip, segment audio fetched and played', async () => {
    const canvas = await page.locator('#canvas').boundingBox();
    const target = await page.evaluate(() => window.__tagscape.point(0));
    assert.ok(target?.at, 'point 0 has a screen position');
    // The app warms every segment of a view this small at idle: forgotten, the hover must fetch it.
    await page.mouse.move(canvas.x + target.at[0] + 30, canvas.y + target.at[1] + 30);
    await page.evaluate(() => window.__tagscape.forget_audio());
    const audio_request = page.waitForRequest((r) => r.url().endsWith(`/api/audio/${target.track}/${target.segment}`), { timeout: 15000 });
    await page.mouse.move(canvas.x + target.at[0], canvas.y + target.at[1], { steps: 5 });
    await audio_request;
    await page.waitForFunction(() => window.__tagscape.plays().length > 0, null, { timeout: 15000 });
    const plays = await page.evaluate(() => window.__tagscape.plays());
    assert.deepEqual([plays.at(-1).track, plays.at(-1).segment], [target.track, target.segment]);
    assert.equal(await page.evaluate(() => window.__tagscape.audio_state()), 'running');
    await page.waitForFunction(() => document.querySelector('#tooltip .tags')?.textContent.length > 0);
    const tip = await page.textContent('#tooltip');
    assert.match(tip, /segment \d+ · \d:\d\d–\d:\d\d/);
    assert.match(tip, /\w+ 0\.\d\d · \w/); // top tags with values
    await plot_pixels(page, shot('15-hover'));
    await page.screenshot({ path: shot('15-hover-page') }); // the whole app: README screenshot candidate
  });

  test('audio mode off plays nothing; click selects a track: side panel, whole-track audio, segment list', async () => {
    await page.selectOption('#audio', 'off');
    assert.equal((await state()).audio, 'off');
    const canvas = await page.locator('#canvas').boundingBox();
    const target = await page.evaluate(() => window.__tagscape.point(1));
    const plays_before = (await page.evaluate(() => window.__tagscape.plays())).length;
    await page.mouse.move(canvas.x + 5, canvas.y + 5);
    await page.mouse.move(canvas.x + target.at[0], canvas.y + target.at[1], { steps: 4 });
    await page.mouse.click(canvas.x + target.at[0], canvas.y + target.at[1]);
    await page.waitForSelector('#panel:not([hidden]) #segments li');
    assert.equal((await state()).selected, target.track);
    assert.equal((await page.evaluate(() => window.__tagscape.plays())).length, plays_before);
    const panel = await page.textContent('#panel');
    assert.match(panel, /Artist/);
    const segments = await page.$$eval('#segments li', (l) => l.length);
    assert.ok(segments >= 5);
    const whole = page.waitForRequest((r) => new RegExp(`/api/audio/${target.track}$`).test(r.url()), { timeout: 15000 });
    await page.click('#play-track');
    await whole;
    await page.selectOption('#audio', 'click');
    // The segment list plays through the same player (segment 2 may come from the prefetch cache).
    await page.click('#segments li:nth-child(3) button');
    await page.waitForFunction((t) => {
      const last = window.__tagscape.plays().at(-1);
      return last && last.track === t && last.segment === 2;
    }, target.track, { timeout: 15000 });
    await page.evaluate(() => document.getElementById('track-audio').pause());
    await plot_pixels(page, shot('16-selected'));
  });

  test('pan, zoom and reset view', async () => {
    const canvas = await page.locator('#canvas').boundingBox();
    const before_pan = await page.evaluate(() => window.__tagscape.camera());
    await page.mouse.move(canvas.x + 40, canvas.y + 40);
    await page.mouse.down();
    await page.mouse.move(canvas.x + 240, canvas.y + 140, { steps: 8 });
    await page.mouse.up();
    await page.mouse.wheel(0, -300);
    await page.waitForFunction((b) => {
      const c = window.__tagscape.camera();
      return Math.abs(c[0] - b[0]) > 0.05 && Math.abs(c[2] - b[2]) > 0.01;
    }, before_pan, { timeout: 10000 });
    await page.click('#reset-view');
    // Back to the fitted view: distance 1 fits the square's height; a portrait plot (the side
    // panel is open) steps back until its width fits too.
    const box = await page.locator('#canvas').boundingBox();
    const fitted = Math.max(1, box.height / box.width);
    await page.waitForFunction((d) => {
      const c = window.__tagscape.camera();
      return Math.abs(c[0]) < 1e-6 && Math.abs(c[1]) < 1e-6 && Math.abs(c[2] - d) < 1e-6;
    }, fitted);
    assert.equal((await state()).camera, null);
  });

  test('the URL holds the whole state: reload restores it', async () => {
    await select('method', 'original');
    await fill('axis-x', 'pop');
    await select('view', 'trajectories');
    await page.waitForTimeout(400); // the hash is written 150 ms after the last change
    const saved = await state();
    const url = page.url();
    assert.match(url, /#s=[A-Za-z0-9_-]+$/);
    const fresh = await open_page(browser, url);
    await fresh.page.waitForFunction(() => window.__tagscape?.draws() > 0, null, { timeout: 30000 });
    const restored = await fresh.page.evaluate(() => window.__tagscape.state());
    assert.deepEqual(restored, saved);
    assert.equal(await fresh.page.inputValue('#axis-x'), 'pop');
    assert.equal(await fresh.page.inputValue('#view'), 'trajectories');
    await fresh.page.waitForSelector('#panel:not([hidden])');
    const px = await plot_pixels(fresh.page, shot('17-restored'));
    assert.ok(px.lit >= MIN_LIT);
    assert.deepEqual(fresh.problems, []);
    await fresh.page.close();
  });

  test('no console errors, page errors or failed requests in the whole session', () => {
    assert.deepEqual(problems, []);
  });
});

describe('explorer on an empty collection and behind a token', { skip: skip ?? false }, () => {
  let dir, app, browser;
  before(async () => {
    dir = temp_dir('tagscape-web-empty-');
    app = build_app(path.join(dir, 'app'));
    browser = await launch_browser();
  });
  after(async () => {
    await browser?.close();
    if (dir) remove(dir);
  });

  test('an empty store says so and shows how to analyse music', async () => {
    const { execFileSync } = await import('node:child_process');
    const { mkdirSync: mk } = await import('node:fs');
    mk(path.join(dir, 'nothing'));
    const db = path.join(dir, 'empty.tagscape');
    execFileSync(process.env.TAGSCAPE_BINARY ? path.resolve(WEB_DIR, process.env.TAGSCAPE_BINARY) : path.resolve(WEB_DIR, '../build/tagscape'),
      ['analyze', '--db', db, path.join(dir, 'nothing')], { stdio: 'ignore' });
    const server = await start_server(db, app);
    try {
      const { page, problems } = await open_page(browser, `${server.url}/`);
      await page.waitForSelector('#message:not([hidden])');
      assert.match(await page.textContent('#message'), /collection is empty.*tagscape analyze/s);
      assert.deepEqual(problems, []);
    } finally {
      await server.stop();
    }
  });

  test('with --token the app passes the token from its URL to every API request', async () => {
    const collection = make_collection(path.join(dir, 'small'), 'msd-musicnn-1');
    const server = await start_server(collection.db, app, ['--token', 'sesame']);
    try {
      const { page, problems } = await open_page(browser, `${server.url}/?token=sesame`);
      await page.waitForFunction(() => window.__tagscape?.draws() > 0, null, { timeout: 30000 });
      assert.ok((await plot_pixels(page)).lit >= MIN_LIT);
      assert.deepEqual(problems, []);
    } finally {
      await server.stop();
    }
  });
});
