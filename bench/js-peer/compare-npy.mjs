// Usage: node compare-npy.mjs A.npy B.npy
// Prints `shape`, `max_abs_diff` and `max_rel_diff` of two float32 .npy arrays; exits 1 if shapes differ.
import { readNpyF32 } from './npy.mjs';

const [aPath, bPath] = process.argv.slice(2);
if (!aPath || !bPath) {
  console.error('usage: node compare-npy.mjs A.npy B.npy');
  process.exit(2);
}
const a = readNpyF32(aPath);
const b = readNpyF32(bPath);
if (a.shape.join(',') !== b.shape.join(',')) {
  console.log(`shape_mismatch [${a.shape}] [${b.shape}]`);
  process.exit(1);
}
let maxAbs = 0;
let maxRel = 0;
for (let i = 0; i < a.data.length; i++) {
  const d = Math.abs(a.data[i] - b.data[i]);
  if (!(d <= maxAbs)) maxAbs = d; // NaN-aware: a NaN difference becomes the maximum
  const scale = Math.max(Math.abs(a.data[i]), Math.abs(b.data[i]));
  if (scale > 0 && d / scale > maxRel) maxRel = d / scale;
}
console.log(`shape [${a.shape}]`);
console.log(`max_abs_diff ${maxAbs.toExponential(3)}`);
console.log(`max_rel_diff ${maxRel.toExponential(3)}`);
