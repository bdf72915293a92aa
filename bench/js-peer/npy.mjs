// Minimal NumPy .npy (format 1.0/2.0) reader and writer for little-endian float32 arrays.
// ref: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
import fs from 'node:fs';

// Reads a C-ordered '<f4' .npy file: returns {shape: number[], data: Float32Array}.
export function readNpyF32(path) {
  const bytes = fs.readFileSync(path);
  const magic = bytes.subarray(0, 6).toString('latin1');
  if (magic !== '\x93NUMPY') throw new Error(`${path}: not a .npy file (bad magic)`);
  const major = bytes[6];
  const headerLen = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const headerStart = major === 1 ? 10 : 12;
  const header = bytes.subarray(headerStart, headerStart + headerLen).toString('latin1');
  if (!/'descr':\s*'<f4'/.test(header)) throw new Error(`${path}: dtype is not little-endian float32: ${header.trim()}`);
  if (/'fortran_order':\s*True/.test(header)) throw new Error(`${path}: Fortran order is not supported`);
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!shapeText) throw new Error(`${path}: header has no shape: ${header.trim()}`);
  const shape = shapeText[1].split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = headerStart + headerLen;
  if (bytes.length - dataStart !== count * 4) throw new Error(`${path}: expected ${count} float32 values, file holds ${(bytes.length - dataStart) / 4}`);
  // Copy so the Float32Array is 4-byte aligned whatever the header length.
  const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset + dataStart, bytes.byteOffset + bytes.length));
  return { shape, data };
}

// Writes a C-ordered '<f4' .npy file (format 1.0).
export function writeNpyF32(path, shape, data) {
  const count = shape.reduce((a, b) => a * b, 1);
  if (data.length !== count) throw new Error(`${path}: shape [${shape}] needs ${count} values, got ${data.length}`);
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // Pad with spaces so that magic(6)+version(2)+len(2)+header+'\n' is a multiple of 64.
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const prefix = Buffer.alloc(10);
  prefix.write('\x93NUMPY', 0, 'latin1');
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  fs.writeFileSync(path, Buffer.concat([prefix, Buffer.from(header, 'latin1'), body]));
}
