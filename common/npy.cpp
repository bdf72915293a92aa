#include "common/npy.h"

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <optional>
#include <regex>
#include <sstream>

#include "common/error.h"

namespace tagscape {

namespace {

int64_t element_count(const std::vector<int64_t>& shape) {
  return std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<>());
}

// "1822, 96" / "3," / "" -> dims; nullopt if an item is not a plain non-negative integer
// or the element count would not fit (a corrupt header must not become a huge allocation).
std::optional<std::vector<int64_t>> parse_shape(const std::string& tuple) {
  std::vector<int64_t> shape;
  std::stringstream items(tuple);
  std::string item;
  int64_t count = 1;
  while (std::getline(items, item, ',')) {
    const size_t first = item.find_first_not_of(" "), last = item.find_last_not_of(" ");
    if (first == std::string::npos) continue;
    int64_t dim = 0;
    const auto [end, ec] = std::from_chars(item.data() + first, item.data() + last + 1, dim);
    if (ec != std::errc() || end != item.data() + last + 1 || dim < 0) return std::nullopt;
    if (dim > 0 && count > (int64_t{1} << 48) / dim) return std::nullopt;
    count *= dim;
    shape.push_back(dim);
  }
  return shape;
}

// '<f2' -> "float16" etc., for the unsupported-dtype message.
std::string dtype_meaning(const std::string& descr) {
  if (descr.size() < 3) return "unknown";
  const std::string order = descr[0] == '>' ? "big-endian " : "";
  const std::string bits = std::to_string(8 * std::atoi(descr.c_str() + 2));
  switch (descr[1]) {
    case 'f': return order + "float" + bits;
    case 'i': return order + "int" + bits;
    case 'u': return order + "uint" + bits;
    case 'b': return "bool";
    case 'c': return order + "complex" + bits;
    default: return "unknown";
  }
}

}  // namespace

NpyArray read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open");
  char magic[8];
  if (!in.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0)
    throw Error(path + ": not a .npy file (bad magic)");
  if (magic[6] < 1 || magic[6] > 3) throw Error(path + ": unsupported .npy format version " + std::to_string(magic[6]));
  uint32_t header_len = 0;
  if (magic[6] == 1) {
    uint8_t len_bytes[2];
    in.read(reinterpret_cast<char*>(len_bytes), 2);
    header_len = len_bytes[0] | (len_bytes[1] << 8);
  } else {
    uint8_t len_bytes[4];
    in.read(reinterpret_cast<char*>(len_bytes), 4);
    header_len = len_bytes[0] | (len_bytes[1] << 8) | (len_bytes[2] << 16) | (uint32_t(len_bytes[3]) << 24);
  }
  // numpy itself refuses headers over 10 000 bytes by default; 1 MiB bounds a corrupt length.
  if (!in || header_len > (1u << 20)) throw Error(path + ": malformed .npy header (length " + std::to_string(header_len) + ")");
  std::string header(header_len, '\0');
  if (!in.read(header.data(), header_len)) throw Error(path + ": truncated .npy header");

  std::smatch descr, order, shape;
  if (!std::regex_search(header, descr, std::regex("'descr':\\s*'([^']*)'")) ||
      !std::regex_search(header, order, std::regex("'fortran_order':\\s*(True|False)")) ||
      !std::regex_search(header, shape, std::regex("'shape':\\s*\\(([^)]*)\\)")))
    throw Error(path + ": malformed .npy header");
  if (order[1] == "True") throw Error(path + ": fortran-order .npy is not supported");

  const std::optional<std::vector<int64_t>> dims = parse_shape(shape[1]);
  if (!dims) throw Error(path + ": malformed .npy shape (" + std::string(shape[1]) + ")");
  const std::string dtype = descr[1];
  if (dtype != "<f4" && dtype != "<f8")
    throw Error(path + ": unsupported .npy dtype '" + dtype + "' (" + dtype_meaning(dtype) +
                "); expected float32 '<f4' or float64 '<f8'");
  NpyArray array;
  array.shape = *dims;
  const int64_t count = element_count(array.shape);
  // Check the size before allocating: a header may promise more than the file holds.
  const int64_t data_start = in.tellg();
  in.seekg(0, std::ios::end);
  const int64_t data_bytes = static_cast<int64_t>(in.tellg()) - data_start;
  in.seekg(data_start);
  const int64_t needed = count * (dtype == "<f4" ? 4 : 8);
  if (data_bytes < needed)
    throw Error(path + ": truncated .npy data (shape (" + std::string(shape[1]) + ") needs " + std::to_string(needed) +
                " bytes, the file has " + std::to_string(data_bytes) + ")");
  array.data.resize(count);
  if (dtype == "<f4") {
    in.read(reinterpret_cast<char*>(array.data.data()), count * 4);
  } else {
    std::vector<double> wide(count);
    in.read(reinterpret_cast<char*>(wide.data()), count * 8);
    std::copy(wide.begin(), wide.end(), array.data.begin());
  }
  if (!in) throw Error(path + ": truncated .npy data");
  return array;
}

void write_npy(const std::string& path, const std::vector<int64_t>& shape, const float* data) {
  std::string tuple = "(";
  for (int64_t dim : shape) tuple += std::to_string(dim) + ", ";
  if (!shape.empty()) tuple.resize(tuple.size() - 1);  // "(n,)" or "(a, b,)": both valid
  tuple += ")";
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + tuple + ", }";
  // Pad so that magic(6) + version(2) + len(2) + header + '\n' is a multiple of 64.
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';

  const std::string temp_path = path + ".tmp";
  {
    std::ofstream out(temp_path, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(path + ": cannot write");
    out.write("\x93NUMPY\x01\x00", 8);
    const uint16_t len = static_cast<uint16_t>(header.size());
    const char len_bytes[2] = {static_cast<char>(len & 0xff), static_cast<char>(len >> 8)};
    out.write(len_bytes, 2);
    out.write(header.data(), header.size());
    out.write(reinterpret_cast<const char*>(data), element_count(shape) * 4);
    if (!out) {
      std::filesystem::remove(temp_path);
      throw Error(path + ": write failed");
    }
  }
  std::filesystem::rename(temp_path, path);
}

}  // namespace tagscape
