#include "server/params.h"

#include <charconv>
#include <cmath>

namespace tagscape::server {

namespace {

constexpr size_t kMaxShownValue = 64;  // error messages quote at most this much of a value

std::string shown(const std::string& text) {
  return text.size() <= kMaxShownValue ? text : text.substr(0, kMaxShownValue) + "...";
}

}  // namespace

std::optional<std::string> param(const QueryParams& params, const std::string& name) {
  const auto [begin, end] = params.equal_range(name);
  if (begin == end) return std::nullopt;
  if (std::next(begin) != end) throw RequestError(400, name + ": given more than once");
  return begin->second;
}

int64_t parse_int(const std::string& name, const std::string& text, int64_t min, int64_t max) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, error] = std::from_chars(text.data(), end, value);
  if (text.empty() || text[0] == '+' || error != std::errc() || ptr != end || value < min || value > max)
    throw RequestError(400, name + ": expected an integer " + std::to_string(min) + ".." + std::to_string(max) +
                                ", got '" + shown(text) + "'");
  return value;
}

int64_t int_param(const QueryParams& params, const std::string& name, int64_t fallback, int64_t min, int64_t max) {
  const auto text = param(params, name);
  return text ? parse_int(name, *text, min, max) : fallback;
}

double parse_double(const std::string& name, const std::string& text, double min, double max) {
  double value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, error] = std::from_chars(text.data(), end, value);
  if (text.empty() || error != std::errc() || ptr != end || !std::isfinite(value) || value < min || value > max) {
    char range[64];
    std::snprintf(range, sizeof range, "%g..%g", min, max);
    throw RequestError(400, name + ": expected a number " + range + ", got '" + shown(text) + "'");
  }
  return value;
}

double double_param(const QueryParams& params, const std::string& name, double fallback, double min, double max) {
  const auto text = param(params, name);
  return text ? parse_double(name, *text, min, max) : fallback;
}

std::string choice_param(const QueryParams& params, const std::string& name, const std::string& fallback,
                         const std::vector<std::string>& choices) {
  const auto text = param(params, name);
  if (!text) return fallback;
  for (const std::string& choice : choices)
    if (*text == choice) return choice;
  std::string list;
  for (const std::string& choice : choices) list += (list.empty() ? "" : "|") + choice;
  throw RequestError(400, name + ": expected " + list + ", got '" + shown(*text) + "'");
}

void reject_unknown_params(const QueryParams& params, const std::vector<std::string>& known) {
  for (const auto& [name, value] : params) {
    bool found = false;
    for (const std::string& k : known) found = found || name == k;
    if (!found) {
      std::string list;
      for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
      throw RequestError(400, "unknown parameter '" + shown(name) + "' (accepted: " + list + ")");
    }
  }
}

}  // namespace tagscape::server
