// The JavaScript reference pipeline for tagscape's engine benchmark.
//
//   node peer.mjs AUDIO_16K_MONO.f32 [--threads N] [--batch P] [--decode-seconds S]
//                 [--model DIR] [--dump-npy OUTDIR]
//
// Input: raw little-endian float32 mono samples at 16 kHz (decoded outside, by the ffmpeg CLI).
// Pipeline: essentia.js 0.1.3 TensorflowInputMusiCNN log-mel (frame 512, hop 256) ->
// TF.js GraphModel msd-musicnn-1 on the tfjs-backend-wasm backend -> model/Sigmoid taggram.
// Output: one `name value` line per figure on stdout (see README.md).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { writeNpyF32 } from './npy.mjs';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));

const SAMPLE_RATE = 16000; // Hz, the rate MusiCNN was trained at
const FRAME_SIZE = 512; // samples, ref: Essentia TensorflowPredictMusiCNN frameSize
const HOP_SIZE = 256; // samples, ref: Essentia TensorflowPredictMusiCNN hopSize
const MEL_BANDS = 96; // ref: Essentia TensorflowInputMusiCNN numberBands
const PATCH_FRAMES = 187; // frames per model input patch, ref: TensorflowPredictMusiCNN patchSize
const PATCH_HOP_FRAMES = 187; // non-overlapping patches, ref: msd-musicnn-1.json patch_hop_size
const INPUT_NODE = 'model/Placeholder'; // [N, 187, 96] float32
const TRAINING_FLAG_NODE = 'model/Placeholder_1'; // bool is_training, fed false as essentia.js does
const OUTPUT_NODE = 'model/Sigmoid'; // [N, 50] tag activations

function usage(message) {
  if (message) console.error(`peer.mjs: ${message}`);
  console.error('usage: node peer.mjs AUDIO_16K_MONO.f32 [--threads N] [--batch P] [--decode-seconds S] ' +
    '[--model DIR] [--dump-npy OUTDIR]');
  process.exit(2);
}

function parseArgs(argv) {
  const options = {
    input: null,
    threads: 2,
    batch: 8, // patches per model.execute call; one batch of 120 patches overflows the wasm heap
    decodeSeconds: null,
    modelDir: path.resolve(here, '../../models/msd-musicnn-1'),
    dumpDir: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${arg} needs a value`);
      return argv[++i];
    };
    if (arg === '--threads') options.threads = Number(value());
    else if (arg === '--batch') options.batch = Number(value());
    else if (arg === '--decode-seconds') options.decodeSeconds = Number(value());
    else if (arg === '--model') options.modelDir = path.resolve(value());
    else if (arg === '--dump-npy') options.dumpDir = path.resolve(value());
    else if (arg.startsWith('--')) usage(`unknown option ${arg}`);
    else if (options.input === null) options.input = arg;
    else usage(`unexpected argument ${arg}`);
  }
  if (options.input === null) usage('no input file');
  if (!(options.threads >= 1)) usage('--threads must be >= 1');
  if (!(options.batch >= 1)) usage('--batch must be >= 1');
  return options;
}

function readSamples(file) {
  const bytes = fs.readFileSync(file);
  if (bytes.length % 4 !== 0) throw new Error(`${file}: size ${bytes.length} is not a multiple of 4 (float32 samples)`);
  if (bytes.length === 0) throw new Error(`${file}: no samples`);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
}

// Number of frames Essentia's FrameCutter emits with startFromZero=false: frame i starts at
// -FRAME_SIZE/2 + i*HOP_SIZE and frames are emitted while the start lies inside the signal.
// ref: essentia/src/algorithms/standard/framecutter.cpp
function frameCount(sampleCount) {
  return Math.ceil((sampleCount + FRAME_SIZE / 2) / HOP_SIZE);
}

// Log-mel frames [frames, 96] computed with essentia.js, one TensorflowInputMusiCNN call per
// frame (what EssentiaTFInputExtractor.compute does). The frames are cut here, zero padded at
// both ends, exactly as FrameCutter(startFromZero=false) in TensorflowPredictMusiCNN would.
// (essentia.js's FrameGenerator / computeFrameWise stops two frames earlier on the joram clip,
// 1820 instead of the reference's 1822, so it is not used.)
function melByFrames(extractor, samples) {
  const frames = frameCount(samples.length);
  const padded = new Float32Array(FRAME_SIZE / 2 + samples.length + FRAME_SIZE);
  padded.set(samples, FRAME_SIZE / 2);
  const mel = new Float32Array(frames * MEL_BANDS);
  for (let i = 0; i < frames; i++) {
    const frame = padded.subarray(i * HOP_SIZE, i * HOP_SIZE + FRAME_SIZE);
    const bands = extractor.compute(frame).melSpectrum;
    mel.set(bands, i * MEL_BANDS);
  }
  return { frames, mel };
}

// A tf.io.IOHandler that reads a TF.js graph model (model.json + weight shards) from disk.
function fileModelHandler(modelDir) {
  return {
    load: async () => {
      const jsonPath = path.join(modelDir, 'model.json');
      const json = JSON.parse(fs.readFileSync(jsonPath, 'utf8'));
      const weightSpecs = [];
      const buffers = [];
      for (const group of json.weightsManifest) {
        weightSpecs.push(...group.weights);
        for (const shard of group.paths) buffers.push(fs.readFileSync(path.join(modelDir, shard)));
      }
      const weights = Buffer.concat(buffers);
      return {
        modelTopology: json.modelTopology,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
        userDefinedMetadata: json.userDefinedMetadata,
        weightSpecs,
        weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.length),
      };
    },
  };
}

// Node is not a platform tfjs-backend-wasm runs threaded on (it reports WASM_HAS_MULTITHREAD_SUPPORT
// false under node and hands Emscripten blob: worker URLs that node's worker_threads cannot load).
// The threaded-SIMD build itself supports node, so for threads > 1 the peer:
//  - sets the flag to true;
//  - writes the pthread worker script to a real temp file and answers that path where the
//    backend asks URL.createObjectURL for the worker blob; the worker is told to load the
//    main script from its file in wasm-out instead of from a blob;
//  - reports twice the logical cores to the module while it initialises, because the backend caps
//    its XNNPACK pool at logical_cores/2 (it assumes 2-way SMT; this machine has none), which
//    would otherwise give 1 thread on 2 cores. The cap still keeps threads <= logical cores.
// ref: tfjs-backend-wasm/src/cc/backend.cc init_with_threads_count; flags_wasm.ts
function enableNodeThreads(wasmOut) {
  const mainScript = path.join(wasmOut, 'tfjs-backend-wasm-threaded-simd.js');
  const { wasmWorkerContents } = require(path.join(wasmOut, 'tfjs-backend-wasm-threaded-simd.worker.js'));
  const workerFile = path.join(os.tmpdir(), `tagscape-peer-tfjs-worker-${process.pid}.js`);
  // Same escaping the backend applies before it makes the blob.
  fs.writeFileSync(workerFile, wasmWorkerContents.replace(/\n/g, '\\n') +
    `\n;{const load=self.onmessage;self.onmessage=(e)=>{if(e.data.cmd==='load'&&typeof e.data.urlOrBlob!=='string')` +
    `e.data.urlOrBlob=${JSON.stringify(mainScript)};return load(e);};}\n`);
  process.on('exit', () => fs.rmSync(workerFile, { force: true }));
  const createObjectURL = URL.createObjectURL;
  URL.createObjectURL = (blob) => (blob && blob.type === 'application/javascript' ? workerFile : createObjectURL(blob));
  const cpus = os.cpus;
  os.cpus = () => [...cpus(), ...cpus()];
  return () => {
    os.cpus = cpus;
    URL.createObjectURL = createObjectURL;
  };
}

async function setUpTf(threads) {
  const tf = require('@tensorflow/tfjs');
  const wasm = require('@tensorflow/tfjs-backend-wasm');
  const wasmOut = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'wasm-out');
  wasm.setWasmPaths(wasmOut + path.sep);
  wasm.setThreadsCount(threads);
  let restore = () => {};
  if (threads > 1) {
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
    restore = enableNodeThreads(wasmOut);
  }
  try {
    if (!(await tf.setBackend('wasm'))) throw new Error('TF.js wasm backend failed to initialise');
    await tf.ready();
  } finally {
    restore();
  }
  return {
    tf,
    backend: tf.getBackend(),
    simd: await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'),
    multithread: await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'),
    threads: wasm.getThreadsCount(),
  };
}

// Runs the model over all full patches; returns the taggram [patches, tags].
async function runModel(tf, model, mel, patches, batch) {
  const isTraining = tf.tensor([false], [1], 'bool');
  const parts = [];
  let tags = 0;
  for (let first = 0; first < patches; first += batch) {
    const count = Math.min(batch, patches - first);
    // Patches are non-overlapping runs of 187 frames, so a batch is one contiguous slice.
    const slice = mel.subarray(first * PATCH_HOP_FRAMES * MEL_BANDS, (first + count) * PATCH_FRAMES * MEL_BANDS);
    const input = tf.tensor3d(slice, [count, PATCH_FRAMES, MEL_BANDS], 'float32');
    const output = model.execute({ [INPUT_NODE]: input, [TRAINING_FLAG_NODE]: isTraining }, OUTPUT_NODE);
    parts.push(await output.data());
    tags = output.shape[1];
    input.dispose();
    output.dispose();
  }
  isTraining.dispose();
  const taggram = new Float32Array(patches * tags);
  let offset = 0;
  for (const part of parts) {
    taggram.set(part, offset);
    offset += part.length;
  }
  return { taggram, tags };
}

function print(name, value) {
  process.stdout.write(`${name} ${typeof value === 'number' && !Number.isInteger(value) ? value.toFixed(4) : value}\n`);
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const samples = readSamples(options.input);
  const audioSeconds = samples.length / SAMPLE_RATE;

  // Set-up (not counted in the realtime factors): wasm instantiation, model load and one warm-up run.
  const setupStart = performance.now();
  const EssentiaWASM = require('essentia.js/dist/essentia-wasm.umd.js');
  const { EssentiaTFInputExtractor } = require('essentia.js/dist/essentia.js-model.umd.js');
  const extractor = new EssentiaTFInputExtractor(EssentiaWASM, 'musicnn');
  const { tf, backend, simd, multithread, threads } = await setUpTf(options.threads);
  const model = await tf.loadGraphModel(fileModelHandler(options.modelDir));
  await runModel(tf, model, new Float32Array(PATCH_FRAMES * MEL_BANDS), 1, 1); // warm-up: XNNPACK set-up
  const setupSeconds = (performance.now() - setupStart) / 1000;

  const melStart = performance.now();
  const { frames, mel } = melByFrames(extractor, samples);
  const melSeconds = (performance.now() - melStart) / 1000;

  const patches = Math.floor((frames - PATCH_FRAMES) / PATCH_HOP_FRAMES) + 1; // last partial patch dropped
  if (patches < 1) throw new Error(`${options.input}: ${frames} frames, fewer than one ${PATCH_FRAMES}-frame patch`);
  const modelStart = performance.now();
  const { taggram, tags } = await runModel(tf, model, mel, patches, options.batch);
  const modelSeconds = (performance.now() - modelStart) / 1000;

  const totalSeconds = melSeconds + modelSeconds;
  print('peer_audio_seconds', audioSeconds);
  print('peer_setup_seconds', setupSeconds);
  print('peer_mel_seconds', melSeconds);
  print('peer_model_seconds', modelSeconds);
  print('peer_total_seconds', totalSeconds);
  print('peer_realtime_factor', audioSeconds / totalSeconds);
  if (options.decodeSeconds !== null) {
    print('peer_decode_seconds', options.decodeSeconds);
    print('peer_realtime_factor_with_decode', audioSeconds / (options.decodeSeconds + totalSeconds));
  }
  print('peer_frames', frames);
  print('peer_patches', patches);
  print('peer_batch', options.batch);
  print('peer_backend', backend);
  print('peer_wasm_simd', simd ? 1 : 0);
  print('peer_wasm_multithread', multithread ? 1 : 0);
  print('peer_threads', threads);
  print('peer_peak_rss_mb', process.resourceUsage().maxRSS / 1024);
  print('peer_node', process.version);
  print('peer_cpus', os.cpus().length);

  if (options.dumpDir !== null) {
    fs.mkdirSync(options.dumpDir, { recursive: true });
    writeNpyF32(path.join(options.dumpDir, 'mel_musicnn.npy'), [frames, MEL_BANDS], mel);
    writeNpyF32(path.join(options.dumpDir, 'model__Sigmoid.npy'), [patches, tags], taggram);
  }
  model.dispose();
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(`peer.mjs: ${error && error.message ? error.message : error}`);
    process.exit(1);
  },
);
