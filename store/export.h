// store/export.h — one space of a collection out to files that numpy and pandas read
// directly (`tagscape export`).
//
//   Store store = open_store("collection.tagscape", OpenMode::read_only);
//   ExportSummary done = export_space(store, {.space_name = "msd-musicnn-1/taggrams",
//                                             .format = ExportFormat::npy,
//                                             .out_path = "taggrams"});
//
// Rows are the segments of every 'ok' track that has vectors in the space (read_space),
// tracks in id order, segments in time order. With `average`, one row per track instead:
// the mean of its segment vectors (accumulated in double, stored as float32).
//
// LAYOUTS
//   npy   OUT is a directory (created; files of an earlier export in it are replaced):
//           vectors.npy   float32 [rows, dims], C order          np.load
//           segments.csv  row,track_id,segment_index,start_s,end_s  (not with `average`)
//                         row = the vectors.npy row of that segment
//           tracks.csv    row,track_id,path,title,artist,album,genre,year,track_number,
//                         duration_s,segments,first_row
//                         row = index in this file; first_row = vectors.npy row of the
//                         track's first segment (with `average`: its own row = row)
//           dims.json     JSON array of `dims` column names (the space's dim names, or
//                         "d0".."d<dims-1>" when it has none)
//   csv   OUT is one file, a header line then one line per row:
//           track_id,path,segment_index,start_s,end_s,<dim names>
//         with `average`:
//           track_id,path,title,artist,album,genre,year,track_number,duration_s,segments,<dim names>
//   jsonl OUT is one file, one JSON object per line:
//           {"track_id":1,"path":"...","segment_index":0,"start_s":0,"end_s":2.992,"vector":[...]}
//         with `average`:
//           {"track_id":1,"path":"...","title":...,"artist":...,"album":...,"genre":...,
//            "year":...,"track_number":...,"duration_s":...,"segments":N,"vector":[...]}
//
// Text encoding: CSV quoting per RFC 4180 ("\n" line ends, which every reader accepts; a field is
// quoted when it holds a comma, quote, CR or LF, quotes doubled); UTF-8 throughout.
// Numbers are the shortest decimal that reads back to the identical value (std::to_chars):
// float32 vector values read back bit-exactly with np.float32(text), float64 times with
// float(text). Non-finite values are "nan"/"inf"/"-inf" in CSV and null in JSON; a
// negative zero is "-0.0" in JSON (where "-0" would parse as the integer 0).
//
// Atomicity: everything is written under a temporary name next to OUT and renamed into
// place only when complete; on any error the temporary files are removed and OUT is
// left as it was (for npy, each file of the directory is replaced by its own rename).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/store.h"

namespace tagscape {

enum class ExportFormat { npy, csv, jsonl };

// "npy" | "csv" | "jsonl" -> the format; anything else -> nullopt.
std::optional<ExportFormat> parse_export_format(const std::string& text);

struct ExportRequest {
  std::string space_name;  // an existing space (Error listing the available ones if not)
  ExportFormat format = ExportFormat::npy;
  std::string out_path;    // directory for npy, file for csv/jsonl
  bool average = false;    // one row per track (mean of its segments) instead of per segment
};

struct ExportSummary {
  int64_t tracks = 0;  // tracks exported
  int64_t rows = 0;    // rows written (segments, or tracks with `average`)
  int dims = 0;        // values per row
  std::vector<std::string> files;  // files written, in the order above
};

// Writes one space in the requested layout. Throws Error naming the space or the file:
// unknown space ("no space 'x' in collection.tagscape; available: a, b"), an output that
// cannot be written, or a stored blob that does not match its track (store errors).
ExportSummary export_space(Store& store, const ExportRequest& request);

// ---- building blocks (also used by the tests) ---------------------------------------

// One CSV field per RFC 4180: quoted iff it holds ',', '"', '\r' or '\n'; quotes doubled.
std::string csv_field(const std::string& text);

// Shortest decimal text that parses back to exactly `value` ("nan", "inf", "-inf" if not finite).
std::string shortest_decimal(float value);
std::string shortest_decimal(double value);

// The names of a space's columns: its dim names, or "d0".."d<dims-1>" when it has none.
std::vector<std::string> dim_column_names(const Space& space);

}  // namespace tagscape
