// Usage: node npy-to-f32.mjs IN.npy OUT.f32
// Strips the .npy header of a float32 array, leaving raw little-endian float32 samples
// (the peer's input format; the reference audio ships as audio_16k_mono.npy).
import fs from 'node:fs';
import { readNpyF32 } from './npy.mjs';

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error('usage: node npy-to-f32.mjs IN.npy OUT.f32');
  process.exit(2);
}
const { data } = readNpyF32(input);
fs.writeFileSync(output, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
