// tests/frame_reader.h — a reader of /api/points binary frames written from server/API.md,
// independent of server/points.cpp (so the tests check the documented layout, not the
// encoder against itself).
#pragma once

#include <cstdint>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tagscape::test {

struct ParsedArray {
  std::string type;
  std::vector<uint8_t> bytes;
  size_t count;
  float f32(size_t i) const { float v; std::memcpy(&v, &bytes[4 * i], 4); return v; }
  int32_t i32(size_t i) const { int32_t v; std::memcpy(&v, &bytes[4 * i], 4); return v; }
};

struct ParsedFrame {
  nlohmann::json header;
  std::map<std::string, ParsedArray> arrays;
};

inline std::vector<ParsedFrame> parse_frames(const std::string& body) {
  std::vector<ParsedFrame> frames;
  size_t at = 0;
  while (at < body.size()) {
    if (body.size() - at < 4) throw std::runtime_error("truncated frame length");
    const auto* p = reinterpret_cast<const uint8_t*>(body.data() + at);
    const uint32_t header_bytes = p[0] | p[1] << 8 | p[2] << 16 | uint32_t(p[3]) << 24;
    if (header_bytes % 4 != 0) throw std::runtime_error("header not padded to 4 bytes");
    at += 4;
    ParsedFrame frame;
    frame.header = nlohmann::json::parse(body.substr(at, header_bytes));
    at += header_bytes;
    for (const nlohmann::json& a : frame.header["arrays"]) {
      const size_t count = a["count"], bytes = count * 4, padded = (bytes + 3) / 4 * 4;
      if (at + padded > body.size()) throw std::runtime_error("truncated array " + a["name"].get<std::string>());
      ParsedArray array{a["type"], std::vector<uint8_t>(body.begin() + at, body.begin() + at + bytes), count};
      frame.arrays[a["name"]] = std::move(array);
      at += padded;
    }
    frames.push_back(std::move(frame));
  }
  return frames;
}

}  // namespace tagscape::test
