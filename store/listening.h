// store/listening.h — answers of the listening test (issue 6): a listener hears a reference
// segment and one candidate per embedding space (its nearest other-track segment there),
// and picks the candidate that sounds most similar. Each answer is one row of
// `listening_answers` (schema 3, see the file format table in store/store.h).
//
//   Store store = open_store(path, OpenMode::existing);      // migrates a schema-2 file
//   int64_t id = add_listening_answer(store, answer);         // one row, now as created_at
//   std::vector<ListeningAnswer> all = list_listening_answers(store);
//   std::vector<SpaceAgreement> per_space = space_agreement(all);  // + wilson_interval(...)
//
// A space "had a trial" in an answer when one of its candidates lists that space; it was
// "chosen" when the chosen candidate lists it. Candidates that coincide in several spaces
// are one candidate listing all of them, so one answer can count as chosen for several.
//
// Reading a schema-2 file through a read-only connection (which cannot migrate it) finds
// no table: list_listening_answers returns no answers, as the file has none.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "store/store.h"

namespace tagscape {

struct ListeningCandidate {
  int64_t track_id = 0;             // tracks.id
  int segment = 0;                  // >= 0, index into the track's segments
  std::vector<std::string> spaces;  // non-empty: the spaces whose nearest neighbour this is
};

struct ListeningAnswer {
  int64_t id = 0;                              // assigned by add_listening_answer
  int64_t created_at = 0;                      // Unix seconds; set by add_listening_answer
  std::string listener;                        // free text, '' = anonymous
  int64_t reference_track = 0;                 // tracks.id of the reference segment
  int reference_segment = 0;                   // >= 0
  std::vector<ListeningCandidate> candidates;  // non-empty, in the order they were presented
  int chosen = 0;                              // 0..candidates.size()-1: the one picked
};

// Stores one answer (created_at = now) and returns its id. The caller validates ids and
// ranges against the collection; preconditions (asserted): candidates non-empty, every
// candidate has spaces, 0 <= chosen < candidates.size(), segments >= 0.
// Throws Error naming the file if it cannot be written (e.g. "collection is read-only").
int64_t add_listening_answer(Store& store, const ListeningAnswer& answer);

// Every stored answer, ordered by id; empty if the file predates schema 3 (read-only
// connection). Throws Error "<path>: database is corrupt (listening answer 7: ...)" when a
// row's candidates are not the JSON written by add_listening_answer or chosen is out of range.
std::vector<ListeningAnswer> list_listening_answers(Store& store);

// The candidates as stored: [{"track":id,"segment":s,"spaces":["name",...]},...].
std::string candidates_json(const std::vector<ListeningCandidate>& candidates);

// ---- trials ----------------------------------------------------------------------------------

struct NearestSegment {
  int64_t track_id;   // tracks.id, never the excluded track
  int segment;        // index into that track's segments
  double similarity;  // cosine similarity to the query, -1..1 (0 if either vector is zero)
};

// Exact nearest neighbour by cosine: the segment of an 'ok' track other than
// `exclude_track` (the tracks read_space returns) whose vector in the space is most
// similar to `query` (dims values). Ties go to the lowest (track id, segment). Streams the
// space one track blob at a time (memory: one track), sums in double; nullopt when no
// other track has vectors there. Throws Error naming the file on a blob of the wrong size.
std::optional<NearestSegment> nearest_other_track_segment(Store& store, int64_t space_id, std::span<const float> query,
                                                          int64_t exclude_track);

// ---- what the answers say ------------------------------------------------------------------

struct SpaceAgreement {
  std::string space;   // space name
  int64_t trials = 0;  // answers in which one of the candidates lists this space
  int64_t chosen = 0;  // answers whose chosen candidate lists it (<= trials)
};

// Per space named in any answer, in order of first appearance (answers in id order).
std::vector<SpaceAgreement> space_agreement(std::span<const ListeningAnswer> answers);

struct Interval {
  double lo, hi;  // 0 <= lo <= hi <= 1
};

// Wilson score interval of a proportion successes/trials at normal quantile z (1.96: 95%).
// trials = 0 gives [0, 1] (nothing is known). Precondition: 0 <= successes <= trials.
// ref: E. B. Wilson, "Probable inference, the law of succession, and statistical
// inference", JASA 22 (1927); center (p + z²/2n) / (1 + z²/n),
// half-width z / (1 + z²/n) * sqrt(p(1-p)/n + z²/4n²).
Interval wilson_interval(int64_t successes, int64_t trials, double z = 1.96);

}  // namespace tagscape
