// store/import.h — vectors computed elsewhere into a space of a collection
// (`tagscape import`), so networks we cannot run here (VGGish, anything a user ran with
// Essentia's Python scripts or MTG/music-explore) can still be explored.
//
//   Store store = open_store("collection.tagscape", OpenMode::existing);
//   ImportReport report = import_npy_dir(store, {.space_name = "vggish", .dir = "vggish-npy"});
//
// INPUT: a folder tree of .npy files, one per track, each float32 or float64
// [segments, dims] in C order — the layout music-explore and Essentia's example scripts
// write: the audio file's path relative to the music folder, with or without its audio
// extension, plus ".npy" (music/a/b.mp3 -> DIR/a/b.mp3.npy or DIR/a/b.npy).
//
// MATCHING a file to a track ('ok' tracks only; failed/removed ones have no segments):
// let r be the file's path under DIR without ".npy", split into parts p1/.../pk.
// The longest trailing part pj/.../pk (j = 1..k) that some track path ends with — the
// path itself, or the path without its extension — decides:
//   * one track ends with it -> matched (counted as "by file name only" when r had
//     folders but only pk matched: the stem rule, worth a look in the report);
//   * several tracks end with it -> ambiguous (e.g. a.mp3 and a.ogg for "a"), unless
//     exactly one of them matched with its extension;
//   * no track ends even with pk -> unmatched.
// This covers both rules of thumb (the path relative to the common root of the tracks,
// with and without the extension; else the unique file stem) and trees rooted higher
// or lower than the collection's root. Two files matching one track are both rejected.
//
// VALIDATION, per file (a rejected file is reported, the rest still import):
//   * readable .npy, dtype <f4 or <f8 (others: float16, ints -> rejected, dtype named);
//   * 2-D [M, dims] with M == the track's stored segment count N — the store keeps one
//     segment table per track shared by all spaces, so rows must line up with it; if
//     M != N the file is rejected: "<file>: 41 rows but /music/a.mp3 has 40 segments";
//   * the same dims in every file of the import (and equal to the space's dims if it
//     exists) — a different width aborts the whole import before anything is written,
//     naming both files: it means the folder mixes outputs of different layers.
// Dim names: `dim_names` empty keeps the existing space's names (or none), otherwise
// exactly dims names (Error otherwise).
//
// WRITING: upsert_space(kind given, model '' , node ''), then add_track_vectors per track
// (each track is its own transaction: an interrupted import keeps what it committed and
// re-running it replaces, never duplicates). Refuses to write into a space that
// `tagscape analyze` produces (model != ''), which a later analyze would overwrite.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "store/store.h"

namespace tagscape {

struct ImportRequest {
  std::string space_name;               // new or existing imported space, non-empty
  std::string dir;                      // folder scanned recursively for *.npy (hidden entries skipped)
  std::vector<std::string> dim_names;   // empty, or one per dim
  SpaceKind kind = SpaceKind::imported; // recorded on the space
};

struct ImportProblem {
  std::string file;    // the .npy path (as found under dir)
  std::string reason;  // full message, starting with the file path
};

struct ImportReport {
  int64_t space_id = 0;                 // 0 if nothing was written
  int dims = 0;                         // width of the imported vectors (0 if no valid file)
  int64_t files = 0;                    // .npy files found
  int64_t imported = 0;                 // tracks written
  int64_t matched_by_name = 0;          // of those, matched by file name only (folders differed)
  std::vector<std::string> unmatched;   // files with no track, sorted
  std::vector<ImportProblem> ambiguous; // files matching several tracks (reason lists them)
  std::vector<ImportProblem> rejected;  // matched but unusable: rows != segments, dtype, shape, duplicates
  int64_t tracks_without_file = 0;      // 'ok' tracks that got no vectors from this import
};

// Imports every matching file. Throws Error (writing nothing) when dir is missing or
// holds no .npy file, when the files disagree on dims, when dim_names has the wrong
// count, or when the space exists with other dims or is produced by `tagscape analyze`.
ImportReport import_npy_dir(Store& store, const ImportRequest& request);

// Reads a dim-names file: a JSON array of strings, or one name per line (a trailing
// '\r' and trailing empty lines are dropped). Throws Error naming the file.
std::vector<std::string> read_dim_names_file(const std::string& path);

// Parses "taggrams" | "embeddings" | "moods" | "imported"; Error otherwise.
SpaceKind parse_space_kind(const std::string& text);

}  // namespace tagscape
