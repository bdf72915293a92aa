// server/params.h — query-parameter validation: every bad value becomes a RequestError
// whose message says which parameter, what it got and what it accepts, e.g.
//   "tracks: expected an integer 1..10000000 or 'all', got '-1'".
// The server answers it as {"error": message} with `status` (400, 404, 409, 413).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace tagscape::server {

struct RequestError : std::runtime_error {
  RequestError(int status, const std::string& message) : std::runtime_error(message), status(status) {}
  int status;  // HTTP status: 400 bad parameter, 404 unknown id/space, 409 conflict with the collection state, 413 too large
};

using QueryParams = std::multimap<std::string, std::string>;  // = httplib::Params (decoded)

// The value of `name`, or nullopt when absent. A parameter given twice is a 400.
std::optional<std::string> param(const QueryParams& params, const std::string& name);

// Strict decimal integer in [min, max] (no sign for min >= 0, no spaces, no trailing text).
int64_t parse_int(const std::string& name, const std::string& text, int64_t min, int64_t max);
int64_t int_param(const QueryParams& params, const std::string& name, int64_t fallback, int64_t min, int64_t max);

// Finite decimal number in [min, max].
double parse_double(const std::string& name, const std::string& text, double min, double max);
double double_param(const QueryParams& params, const std::string& name, double fallback, double min, double max);

// One of `choices`, or fallback when absent.
std::string choice_param(const QueryParams& params, const std::string& name, const std::string& fallback,
                         const std::vector<std::string>& choices);

// Parameters not in `known` are a 400 naming them (catches typos such as `perplexty`).
void reject_unknown_params(const QueryParams& params, const std::vector<std::string>& known);

}  // namespace tagscape::server
