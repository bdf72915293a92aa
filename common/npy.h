// common/npy.h — NumPy .npy files (format 1.0/2.0), little-endian float32 only.
//
// This is how tagscape exchanges arrays with numpy: the reference outputs in
// ../shared/reference are .npy, and `tagscape predict --npy` writes them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tagscape {

struct NpyArray {
  std::vector<int64_t> shape;  // C order; empty = scalar
  std::vector<float> data;     // product(shape) values
};

// Reads a '<f4' (or '<f8', converted) C-order array. Throws Error naming the file on
// anything else: missing file, bad magic, fortran order, other dtypes (the message names
// them: "'<f2' (float16)"), a malformed shape, or data shorter than the shape needs
// (checked before allocating, so a corrupt header cannot trigger a huge allocation).
NpyArray read_npy(const std::string& path);

// Writes a '<f4' C-order array atomically (temp file + rename). Throws Error on I/O failure.
void write_npy(const std::string& path, const std::vector<int64_t>& shape, const float* data);

}  // namespace tagscape
