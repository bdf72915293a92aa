#include "store/listening.h"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <set>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "store/sqlite.h"

namespace tagscape {

using sqlite::Statement;

namespace {

bool has_answers_table(Store& store) {
  Statement select(store, "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'listening_answers'");
  return select.step();
}

[[noreturn]] void throw_corrupt_answer(const Store& store, int64_t id, const std::string& why) {
  throw Error(store.path + ": database is corrupt (listening answer " + std::to_string(id) + ": " + why + ")");
}

bool is_index(const nlohmann::json& value, int64_t max) {
  return value.is_number_integer() && value.get<int64_t>() >= 0 && value.get<int64_t>() <= max;
}

// Parses what candidates_json wrote; anything else is corruption.
std::vector<ListeningCandidate> parse_candidates(const Store& store, int64_t id, const std::string& text) {
  const auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!json.is_array() || json.empty()) throw_corrupt_answer(store, id, "candidates is not a non-empty JSON array");
  std::vector<ListeningCandidate> candidates;
  for (const auto& item : json) {
    if (!item.is_object() || !item.contains("track") || !item.contains("segment") || !item.contains("spaces") ||
        !is_index(item["track"], INT64_MAX) || !is_index(item["segment"], INT32_MAX) || !item["spaces"].is_array() ||
        item["spaces"].empty())
      throw_corrupt_answer(store, id, "a candidate is not {track, segment, spaces}");
    ListeningCandidate candidate{item["track"].get<int64_t>(), item["segment"].get<int>(), {}};
    for (const auto& space : item["spaces"]) {
      if (!space.is_string()) throw_corrupt_answer(store, id, "a space name is not a string");
      candidate.spaces.push_back(space.get<std::string>());
    }
    candidates.push_back(std::move(candidate));
  }
  return candidates;
}

}  // namespace

std::string candidates_json(const std::vector<ListeningCandidate>& candidates) {
  nlohmann::json array = nlohmann::json::array();
  for (const ListeningCandidate& c : candidates)
    array.push_back({{"track", c.track_id}, {"segment", c.segment}, {"spaces", c.spaces}});
  return array.dump();
}

int64_t add_listening_answer(Store& store, const ListeningAnswer& answer) {
  assert(!answer.candidates.empty());
  assert(answer.chosen >= 0 && static_cast<size_t>(answer.chosen) < answer.candidates.size());
  assert(answer.reference_segment >= 0);
  for ([[maybe_unused]] const ListeningCandidate& c : answer.candidates) assert(!c.spaces.empty() && c.segment >= 0);
  const int64_t now_s =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  const std::string candidates = candidates_json(answer.candidates);
  Statement insert(store,
                   "INSERT INTO listening_answers (created_at, listener, reference_track, reference_segment, candidates,"
                   " chosen_index) VALUES (?, ?, ?, ?, ?, ?) RETURNING id");
  insert.bind(1, now_s).bind(2, answer.listener).bind(3, answer.reference_track).bind(4, answer.reference_segment);
  insert.bind(5, candidates).bind(6, answer.chosen);
  if (!insert.step()) throw Error(store.path + ": listening answer not written");
  const int64_t id = insert.int64(0);
  while (insert.step()) {
  }
  return id;
}

std::vector<ListeningAnswer> list_listening_answers(Store& store) {
  sqlite::Transaction snapshot(store, sqlite::Transaction::read);
  std::vector<ListeningAnswer> answers;
  if (!has_answers_table(store)) return answers;
  Statement select(store,
                   "SELECT id, created_at, listener, reference_track, reference_segment, candidates, chosen_index"
                   " FROM listening_answers ORDER BY id");
  while (select.step()) {
    ListeningAnswer answer;
    answer.id = select.int64(0);
    answer.created_at = select.int64(1);
    answer.listener = select.text(2);
    answer.reference_track = select.int64(3);
    const int64_t reference_segment = select.int64(4);
    if (reference_segment < 0 || reference_segment > INT32_MAX)
      throw_corrupt_answer(store, answer.id, "reference segment out of range");
    answer.reference_segment = static_cast<int>(reference_segment);
    answer.candidates = parse_candidates(store, answer.id, select.text(5));
    const int64_t chosen = select.int64(6);
    if (chosen < 0 || chosen >= static_cast<int64_t>(answer.candidates.size()))
      throw_corrupt_answer(store, answer.id, "chosen index " + std::to_string(chosen) + " is not a candidate");
    answer.chosen = static_cast<int>(chosen);
    answers.push_back(std::move(answer));
  }
  snapshot.commit();
  return answers;
}

std::optional<NearestSegment> nearest_other_track_segment(Store& store, int64_t space_id, std::span<const float> query,
                                                          int64_t exclude_track) {
  sqlite::Transaction snapshot(store, sqlite::Transaction::read);
  Statement dims_of(store, "SELECT dims FROM spaces WHERE id = ?");
  dims_of.bind(1, space_id);
  if (!dims_of.step()) throw Error(store.path + ": no space with id " + std::to_string(space_id));
  const int64_t dims = dims_of.int64(0);
  if (static_cast<int64_t>(query.size()) != dims)
    throw Error(store.path + ": query has " + std::to_string(query.size()) + " values, the space has " +
                std::to_string(dims) + " dims");
  double query_norm = 0;
  for (float v : query) query_norm += double(v) * v;
  query_norm = std::sqrt(query_norm);

  Statement select(store,
                   "SELECT v.track_id, t.segment_count, v.data FROM vectors v JOIN tracks t ON t.id = v.track_id"
                   " WHERE v.space_id = ? AND t.status = 'ok' AND v.track_id != ? ORDER BY v.track_id");
  select.bind(1, space_id).bind(2, exclude_track);
  std::optional<NearestSegment> best;
  std::vector<float> values;  // one track, copied out of SQLite's (unaligned) blob
  while (select.step()) {
    const int64_t track_id = select.int64(0);
    const int64_t segments = select.int64(1);
    const int64_t size_bytes = sqlite3_column_bytes(select.handle, 2);
    if (segments < 0 || size_bytes != segments * dims * static_cast<int64_t>(sizeof(float)))
      throw Error(store.path + ": database is corrupt (vectors of track " + std::to_string(track_id) + " has " +
                  std::to_string(size_bytes) + " bytes, expected " + std::to_string(segments * dims * 4) + ")");
    values.resize(static_cast<size_t>(segments * dims));
    if (size_bytes > 0) std::memcpy(values.data(), sqlite3_column_blob(select.handle, 2), static_cast<size_t>(size_bytes));
    for (int64_t s = 0; s < segments; ++s) {
      const float* row = values.data() + s * dims;
      // Eight independent partial sums let the compiler use SIMD lanes without
      // -ffast-math (measured: the scan took half the time of a trial with one sum).
      double dot_lanes[8] = {}, norm_lanes[8] = {};
      int64_t d = 0;
      for (; d + 8 <= dims; d += 8)
        for (int lane = 0; lane < 8; ++lane) {
          dot_lanes[lane] += double(row[d + lane]) * query[d + lane];
          norm_lanes[lane] += double(row[d + lane]) * row[d + lane];
        }
      for (; d < dims; ++d) {
        dot_lanes[0] += double(row[d]) * query[d];
        norm_lanes[0] += double(row[d]) * row[d];
      }
      double dot = 0, norm = 0;
      for (int lane = 0; lane < 8; ++lane) dot += dot_lanes[lane], norm += norm_lanes[lane];
      const double similarity = norm > 0 && query_norm > 0 ? dot / (std::sqrt(norm) * query_norm) : 0.0;
      if (!best || similarity > best->similarity) best = NearestSegment{track_id, static_cast<int>(s), similarity};
    }
  }
  snapshot.commit();
  return best;
}

std::vector<SpaceAgreement> space_agreement(std::span<const ListeningAnswer> answers) {
  std::vector<SpaceAgreement> agreement;
  std::map<std::string, size_t> position;  // space -> index in agreement
  for (const ListeningAnswer& answer : answers) {
    const auto& chosen_spaces = answer.candidates[static_cast<size_t>(answer.chosen)].spaces;
    // A space is listed once per well-formed answer; a hand-made row listing it twice
    // still counts as one trial.
    std::set<std::string> counted;
    for (const ListeningCandidate& candidate : answer.candidates) {
      for (const std::string& space : candidate.spaces) {
        if (!counted.insert(space).second) continue;
        auto [it, added] = position.emplace(space, agreement.size());
        if (added) agreement.push_back({space, 0, 0});
        SpaceAgreement& entry = agreement[it->second];
        entry.trials += 1;
        if (std::find(chosen_spaces.begin(), chosen_spaces.end(), space) != chosen_spaces.end()) entry.chosen += 1;
      }
    }
  }
  return agreement;
}

Interval wilson_interval(int64_t successes, int64_t trials, double z) {
  assert(successes >= 0 && successes <= trials);
  if (trials == 0) return {0.0, 1.0};
  const double n = static_cast<double>(trials);
  const double p = static_cast<double>(successes) / n;
  const double z2 = z * z;
  const double denominator = 1.0 + z2 / n;
  const double center = (p + z2 / (2.0 * n)) / denominator;
  const double half_width = z / denominator * std::sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n));
  return {std::max(0.0, center - half_width), std::min(1.0, center + half_width)};
}

}  // namespace tagscape
