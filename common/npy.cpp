#include "common/npy.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <regex>
#include <sstream>

#include "common/error.h"

namespace tagscape {

namespace {

int64_t element_count(const std::vector<int64_t>& shape) {
  return std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<>());
}

std::vector<int64_t> parse_shape(const std::string& tuple) {
  std::vector<int64_t> shape;
  std::stringstream items(tuple);
  std::string item;
  while (std::getline(items, item, ',')) {
    if (item.find_first_not_of(" ") == std::string::npos) continue;
    shape.push_back(std::stoll(item));
  }
  return shape;
}

}  // namespace

NpyArray read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open");
  char magic[8];
  if (!in.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0)
    throw Error(path + ": not a .npy file (bad magic)");
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
  std::string header(header_len, '\0');
  if (!in.read(header.data(), header_len)) throw Error(path + ": truncated .npy header");

  std::smatch descr, order, shape;
  if (!std::regex_search(header, descr, std::regex("'descr':\\s*'([^']*)'")) ||
      !std::regex_search(header, order, std::regex("'fortran_order':\\s*(True|False)")) ||
      !std::regex_search(header, shape, std::regex("'shape':\\s*\\(([^)]*)\\)")))
    throw Error(path + ": malformed .npy header");
  if (order[1] == "True") throw Error(path + ": fortran-order .npy is not supported");

  NpyArray array;
  array.shape = parse_shape(shape[1]);
  const int64_t count = element_count(array.shape);
  array.data.resize(count);
  if (descr[1] == "<f4") {
    in.read(reinterpret_cast<char*>(array.data.data()), count * 4);
  } else if (descr[1] == "<f8") {
    std::vector<double> wide(count);
    in.read(reinterpret_cast<char*>(wide.data()), count * 8);
    std::copy(wide.begin(), wide.end(), array.data.begin());
  } else {
    throw Error(path + ": unsupported .npy dtype " + std::string(descr[1]) + " (expected <f4)");
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
