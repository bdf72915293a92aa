// Tests of store/export, store/import and `tagscape info`: real SQLite collections built
// with the store API (synthetic vectors for tracks under a fake /music root; the audio
// files need not exist), read back by our own readers, by numpy/pandas/python's csv
// module, and by the real tagscape binary.
#include "store/export.h"
#include "store/import.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>

#include "common/error.h"
#include "common/npy.h"
#include "store/store.h"
#include "tests/run_command.h"

using namespace tagscape;
namespace fs = std::filesystem;

namespace {

using tagscape::testing::CommandResult;
using tagscape::testing::run_command;

std::string shell_quote(const fs::path& path) { return "'" + path.string() + "'"; }

bool python_has(const std::string& module) {
  return run_command("/usr/bin/python3 -c 'import " + module + "' >/dev/null").status == 0;
}

// A fresh directory per test, removed afterwards.
struct TempDir {
  fs::path path;
  TempDir() {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    path = fs::temp_directory_path() /
           ("tagscape_io_" + std::string(test->test_suite_name()) + "_" + test->name() + "_" + std::to_string(getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

void write_text(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// What the test collection holds, kept independently of the store for comparison.
struct TestTrack {
  std::string path;
  TrackMetadata metadata;
  std::vector<Segment> segments;
  std::vector<float> values;  // in the "emb" space: [segments, kDims]
  int64_t id = 0;
};

constexpr int kDims = 4;
const std::vector<std::string> kDimNames = {"happy", "sad, blue", "say \"hi\"", "d3"};

struct TestCollection {
  std::string db;
  std::vector<TestTrack> tracks;  // the 'ok' tracks with vectors in "emb", in id order
  int64_t emb_space = 0;
  int64_t unnamed_space = 0;      // 3 dims, no names, tracks 0 and 1 only
  int total_segments() const {
    int total = 0;
    for (const TestTrack& track : tracks) total += static_cast<int>(track.segments.size());
    return total;
  }
};

std::vector<Segment> make_segments(int count) {
  std::vector<Segment> segments;
  for (int k = 0; k < count; ++k) segments.push_back({k * 2.992, (k + 1) * 2.992});  // 2.992 is inexact in binary
  return segments;
}

// Random floats over many magnitudes, plus values that stress text round trips.
std::vector<float> make_values(std::mt19937& rng, size_t count) {
  std::uniform_real_distribution<float> mantissa(-1.f, 1.f);
  std::uniform_int_distribution<int> exponent(-30, 30);
  std::vector<float> values(count);
  for (float& value : values) value = std::ldexp(mantissa(rng), exponent(rng));
  const float specials[] = {0.1f, -0.0f, 1e-40f /* subnormal */, FLT_MAX, 1.f / 3.f, 16777217.f};
  for (size_t k = 0; k < std::size(specials) && k < count; ++k) values[k] = specials[k];
  return values;
}

FileIdentity identity(const std::string& path) { return {path, 1000, 1700000000000000000, "0123456789abcdef"}; }

// Four ok tracks (one with a comma and quotes in its path and a newline in its title,
// one without extension, two sharing the stem "b"), one failed, one removed.
TestCollection build_collection(const fs::path& dir) {
  TestCollection collection;
  collection.db = (dir / "collection.tagscape").string();
  Store store = open_store(collection.db);
  collection.emb_space = upsert_space(store, {0, "emb", SpaceKind::embeddings, "msd-musicnn-1", "model/dense/BiasAdd", kDims, kDimNames});
  collection.unnamed_space = upsert_space(store, {0, "unnamed", SpaceKind::imported, "", "", 3, {}});
  std::mt19937 rng(7);
  collection.tracks = {
      {"/music/a/b.mp3", {"Bee", "Artist A", "Album", "Rock", 2001, 3}, make_segments(3), {}},
      {"/music/x/Rock, \"live\".mp3", {"Hello, \"World\"\nPart 2", "B, the band", "", "", 0, 0}, make_segments(2), {}},
      {"/music/y/b.ogg", {}, make_segments(1), {}},
      {"/music/z/lincity_song", {"Lincity", "", "", "", 0, 0}, make_segments(2), {}},
  };
  for (size_t t = 0; t < collection.tracks.size(); ++t) {
    TestTrack& track = collection.tracks[t];
    track.values = make_values(rng, track.segments.size() * kDims);
    TrackAnalysis analysis{identity(track.path), track.metadata, track.segments.size() * 2.992, track.segments, {}};
    analysis.vectors.push_back({collection.emb_space, track.values});
    std::vector<float> unnamed(track.segments.size() * 3, 0.5f);
    if (t < 2) analysis.vectors.push_back({collection.unnamed_space, unnamed});
    track.id = commit_track(store, analysis);
  }
  mark_track_failed(store, identity("/music/bad.mp3"), "/music/bad.mp3: not an audio file (Invalid data found)");
  std::vector<float> gone_values(kDims, 9.f);
  commit_track(store, {identity("/music/gone.mp3"), {}, 2.992, make_segments(1), {{collection.emb_space, gone_values}}});
  const std::string gone = "/music/gone.mp3";
  mark_tracks_removed(store, std::span<const std::string>(&gone, 1));
  return collection;
}

ExportSummary export_to(const TestCollection& collection, ExportFormat format, const fs::path& out, bool average = false,
                        const std::string& space = "emb") {
  Store store = open_store(collection.db, OpenMode::read_only);
  return export_space(store, {space, format, out.string(), average});
}

std::vector<std::vector<std::string>> split_simple_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::stringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::vector<std::string> fields;
    std::stringstream items(line);
    for (std::string item; std::getline(items, item, ',');) fields.push_back(item);
    rows.push_back(fields);
  }
  return rows;
}

// ---- export ---------------------------------------------------------------------------

TEST(ExportNpy, VectorsAreBitExactAndTheIndexDescribesEveryRow) {
  TempDir dir;
  const TestCollection collection = build_collection(dir.path);
  const fs::path out = dir.path / "out";
  const ExportSummary summary = export_to(collection, ExportFormat::npy, out);
  EXPECT_EQ(summary.tracks, 4);  // failed and removed tracks are not exported
  EXPECT_EQ(summary.rows, collection.total_segments());

  const NpyArray vectors = read_npy((out / "vectors.npy").string());
  ASSERT_EQ(vectors.shape, (std::vector<int64_t>{collection.total_segments(), kDims}));
  std::vector<float> expected;
  for (const TestTrack& track : collection.tracks) expected.insert(expected.end(), track.values.begin(), track.values.end());
  ASSERT_EQ(vectors.data.size(), expected.size());
  EXPECT_EQ(std::memcmp(vectors.data.data(), expected.data(), expected.size() * sizeof(float)), 0);

  const auto segments = split_simple_csv(read_text(out / "segments.csv"));
  ASSERT_EQ(segments.size(), 1u + collection.total_segments());
  EXPECT_EQ(segments[0], (std::vector<std::string>{"row", "track_id", "segment_index", "start_s", "end_s"}));
  size_t row = 1;
  for (const TestTrack& track : collection.tracks) {
    for (size_t s = 0; s < track.segments.size(); ++s, ++row) {
      ASSERT_EQ(segments[row].size(), 5u);
      EXPECT_EQ(segments[row][0], std::to_string(row - 1));
      EXPECT_EQ(segments[row][1], std::to_string(track.id));
      EXPECT_EQ(segments[row][2], std::to_string(s));
      EXPECT_EQ(std::strtod(segments[row][3].c_str(), nullptr), track.segments[s].start_s);
      EXPECT_EQ(std::strtod(segments[row][4].c_str(), nullptr), track.segments[s].end_s);
    }
  }
  EXPECT_EQ(nlohmann::json::parse(read_text(out / "dims.json")), nlohmann::json(kDimNames));
  const std::string tracks_csv = read_text(out / "tracks.csv");
  EXPECT_EQ(tracks_csv.substr(0, tracks_csv.find('\n')),
            "row,track_id,path,title,artist,album,genre,year,track_number,duration_s,segments,first_row");
  EXPECT_NE(tracks_csv.find("\"/music/x/Rock, \"\"live\"\".mp3\",\"Hello, \"\"World\"\"\nPart 2\""), std::string::npos)
      << tracks_csv;
  // Nothing but the four files: no temporary left next to or inside OUT.
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(out)) names.insert(entry.path().filename().string());
  EXPECT_EQ(names, (std::set<std::string>{"vectors.npy", "segments.csv", "tracks.csv", "dims.json"}));
  for (const auto& entry : fs::directory_iterator(dir.path)) {
    const std::string name = entry.path().filename().string();
    EXPECT_TRUE(name == "out" || name.starts_with("collection.tagscape")) << name << ": left by the export";
  }
}

TEST(ExportNpy, NumpyAndPandasReadTheLayoutDirectly) {
  if (!python_has("numpy") || !python_has("pandas")) GTEST_SKIP() << "python3 numpy/pandas not installed";
  TempDir dir;
  const TestCollection collection = build_collection(dir.path);
  const fs::path out = dir.path / "out";
  export_to(collection, ExportFormat::npy, out);
  // Python prints what it read; the test compares with what was committed.
  write_text(dir.path / "read.py", R"(import json, sys
import numpy as np, pandas as pd
out = sys.argv[1]
v = np.load(out + "/vectors.npy")
seg = pd.read_csv(out + "/segments.csv")
tracks = pd.read_csv(out + "/tracks.csv", keep_default_na=False)
dims = json.load(open(out + "/dims.json"))
frame = pd.DataFrame(v, columns=dims).join(seg.set_index("row"))
first = frame.groupby("track_id")["segment_index"].count()
print(json.dumps({"dtype": str(v.dtype), "shape": list(v.shape), "hex": v.tobytes().hex(),
                  "paths": list(tracks["path"]), "titles": list(tracks["title"]),
                  "years": [int(y) for y in tracks["year"]],
                  "segments_per_track": {str(k): int(n) for k, n in first.items()},
                  "start_s": list(seg["start_s"]), "columns": list(frame.columns)}))
)");
  const CommandResult run = run_command("/usr/bin/python3 " + shell_quote(dir.path / "read.py") + " " + shell_quote(out));
  ASSERT_EQ(run.status, 0) << run.err;
  const auto read = nlohmann::json::parse(run.out);
  EXPECT_EQ(read["dtype"], "float32");
  EXPECT_EQ(read["shape"], nlohmann::json({collection.total_segments(), kDims}));
  std::vector<float> expected;
  for (const TestTrack& track : collection.tracks) expected.insert(expected.end(), track.values.begin(), track.values.end());
  std::string hex;
  for (size_t k = 0; k < expected.size() * 4; ++k) {
    char byte[3];
    std::snprintf(byte, sizeof byte, "%02x", reinterpret_cast<const unsigned char*>(expected.data())[k]);
    hex += byte;
  }
  EXPECT_EQ(read["hex"], hex);
  for (size_t t = 0; t < collection.tracks.size(); ++t) {
    EXPECT_EQ(read["paths"][t], collection.tracks[t].path);
    EXPECT_EQ(read["titles"][t], collection.tracks[t].metadata.title);
    EXPECT_EQ(read["years"][t], collection.tracks[t].metadata.year);
    EXPECT_EQ(read["segments_per_track"][std::to_string(collection.tracks[t].id)], collection.tracks[t].segments.size());
  }
  size_t row = 0;
  for (const TestTrack& track : collection.tracks)
    for (const Segment& segment : track.segments) EXPECT_EQ(read["start_s"][row++].get<double>(), segment.start_s);
  EXPECT_EQ(read["columns"][1], "sad, blue");
}

TEST(ExportCsv, QuotedFieldsAndExactNumbersRoundTripThroughPythonCsv) {
  if (!python_has("numpy")) GTEST_SKIP() << "python3 numpy not installed";
  TempDir dir;
  const TestCollection collection = build_collection(dir.path);
  const fs::path out = dir.path / "emb.csv";
  export_to(collection, ExportFormat::csv, out);
  // Python's csv module parses the file; np.float32 converts each value text.
  write_text(dir.path / "read.py", R"(import csv, json, sys
import numpy as np
rows = list(csv.reader(open(sys.argv[1], newline="")))
bits = [[int(np.float32(x).view(np.uint32)) for x in r[5:]] for r in rows[1:]]
print(json.dumps({"header": rows[0], "rows": [r[:5] for r in rows[1:]], "bits": bits}))
)");
  const CommandResult run = run_command("/usr/bin/python3 " + shell_quote(dir.path / "read.py") + " " + shell_quote(out));
  ASSERT_EQ(run.status, 0) << run.err;
  const auto read = nlohmann::json::parse(run.out);
  std::vector<std::string> header = {"track_id", "path", "segment_index", "start_s", "end_s"};
  header.insert(header.end(), kDimNames.begin(), kDimNames.end());
  EXPECT_EQ(read["header"], nlohmann::json(header));
  ASSERT_EQ(read["rows"].size(), static_cast<size_t>(collection.total_segments()));
  size_t row = 0;
  for (const TestTrack& track : collection.tracks) {
    for (size_t s = 0; s < track.segments.size(); ++s, ++row) {
      const auto& fields = read["rows"][row];
      EXPECT_EQ(fields[0], std::to_string(track.id));
      EXPECT_EQ(fields[1], track.path);
      EXPECT_EQ(fields[2], std::to_string(s));
      EXPECT_EQ(std::stod(fields[3].get<std::string>()), track.segments[s].start_s);
      EXPECT_EQ(std::stod(fields[4].get<std::string>()), track.segments[s].end_s);
      for (int d = 0; d < kDims; ++d) {
        uint32_t expected_bits;
        std::memcpy(&expected_bits, &track.values[s * kDims + d], 4);
        EXPECT_EQ(read["bits"][row][d].get<uint32_t>(), expected_bits) << "row " << row << " dim " << d;
      }
    }
  }
}

TEST(ExportCsv, UnnamedDimsAreNumberedAndAverageGivesOneRowPerTrack) {
  TempDir dir;
  const TestCollection collection = build_collection(dir.path);
  export_to(collection, ExportFormat::csv, dir.path / "unnamed.csv", false, "unnamed");
  const std::string unnamed = read_text(dir.path / "unnamed.csv");
  EXPECT_EQ(unnamed.substr(0, unnamed.find('\n')), "track_id,path,segment_index,start_s,end_s,d0,d1,d2");

  const ExportSummary summary = export_to(collection, ExportFormat::npy, dir.path / "avg", true);
  EXPECT_EQ(summary.rows, 4);
  const NpyArray means = read_npy((dir.path / "avg" / "vectors.npy").string());
  ASSERT_EQ(means.shape, (std::vector<int64_t>{4, kDims}));
  for (size_t t = 0; t < collection.tracks.size(); ++t) {
    const TestTrack& track = collection.tracks[t];
    for (int d = 0; d < kDims; ++d) {
      double sum = 0;
      for (size_t s = 0; s < track.segments.size(); ++s) sum += track.values[s * kDims + d];
      EXPECT_TRUE(same_bits(means.data[t * kDims + d], static_cast<float>(sum / track.segments.size()))) << t << " " << d;
    }
  }
  EXPECT_FALSE(fs::exists(dir.path / "avg" / "segments.csv"));

  export_to(collection, ExportFormat::csv, dir.path / "avg.csv", true, "unnamed");
  const auto rows = split_simple_csv(read_text(dir.path / "avg.csv"));
  ASSERT_EQ(rows.size(), 4u) << "header + the two tracks in 'unnamed', one with a newline in its quoted title";
  EXPECT_EQ(rows[0], (std::vector<std::string>{"track_id", "path", "title", "artist", "album", "genre", "year",
                                                "track_number", "duration_s", "segments", "d0", "d1", "d2"}));
  EXPECT_EQ(rows[1], (std::vector<std::string>{std::to_string(collection.tracks[0].id), "/music/a/b.mp3", "Bee", "Artist A",
                                                "Album", "Rock", "2001", "3", rows[1][8], "3", "0.5", "0.5", "0.5"}));
  EXPECT_EQ(std::strtod(rows[1][8].c_str(), nullptr), 3 * 2.992) << "duration_s, exact";
}

TEST(ExportJsonl, EachLineParsesToOneSegment) {
  TempDir dir;
  const TestCollection collection = build_collection(dir.path);
  const fs::path out = dir.path / "emb.jsonl";
  export_to(collection, ExportFormat::jsonl, out);
  std::ifstream in(out);
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(lines.size(), static_cast<size_t>(collection.total_segments()));
  size_t row = 0;
  for (const TestTrack& track : collection.tracks) {
    for (size_t s = 0; s < track.segments.size(); ++s, ++row) {
      const auto& line = lines[row];
      EXPECT_EQ(line["track_id"], track.id);
      EXPECT_EQ(line["path"], track.path);
      EXPECT_EQ(line["segment_index"], s);
      EXPECT_EQ(line["start_s"].get<double>(), track.segments[s].start_s);
      EXPECT_EQ(line["end_s"].get<double>(), track.segments[s].end_s);
      ASSERT_EQ(line["vector"].size(), static_cast<size_t>(kDims));
      for (int d = 0; d < kDims; ++d)
        EXPECT_TRUE(same_bits(static_cast<float>(line["vector"][d].get<double>()), track.values[s * kDims + d]))
            << line["vector"][d] << " vs " << track.values[s * kDims + d];
    }
  }
}

TEST(Export, UnknownSpaceListsTheAvailableOnes) {
  TempDir dir;
  const TestCollection collection = build_collection(dir.path);
  try {
    export_to(collection, ExportFormat::csv, dir.path / "x.csv", false, "nope");
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("no space 'nope' in " + collection.db + "; available: emb, unnamed"),
              std::string::npos)
        << error.what();
  }
  EXPECT_FALSE(fs::exists(dir.path / "x.csv"));
}

TEST(Export, AFailedWriteLeavesNoFileAndKeepsTheOldOne) {
  TempDir dir;
  const TestCollection collection = build_collection(dir.path);
  EXPECT_THROW(export_to(collection, ExportFormat::csv, dir.path / "no" / "such" / "dir.csv"), Error);
  write_text(dir.path / "taken", "a file where the npy directory should go");
  EXPECT_THROW(export_to(collection, ExportFormat::npy, dir.path / "taken"), Error);
  EXPECT_EQ(read_text(dir.path / "taken"), "a file where the npy directory should go");

  // A read-only folder: the temporary cannot be created, the previous export survives.
  if (geteuid() != 0) {  // root ignores permissions
    export_to(collection, ExportFormat::csv, dir.path / "ro" / "e.csv");
    const std::string before = read_text(dir.path / "ro" / "e.csv");
    fs::permissions(dir.path / "ro", fs::perms::owner_read | fs::perms::owner_exec);
    EXPECT_THROW(export_to(collection, ExportFormat::csv, dir.path / "ro" / "e.csv", false, "unnamed"), Error);
    fs::permissions(dir.path / "ro", fs::perms::owner_all);
    EXPECT_EQ(read_text(dir.path / "ro" / "e.csv"), before);
  }
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir.path)) names.insert(entry.path().filename().string());
  names.erase("ro");
  names.erase("collection.tagscape-wal");
  names.erase("collection.tagscape-shm");
  EXPECT_EQ(names, (std::set<std::string>{"collection.tagscape", "taken"})) << "no temporary files left";
}

TEST(Export, ReexportingIntoTheSameDirectoryReplacesTheFiles) {
  TempDir dir;
  const TestCollection collection = build_collection(dir.path);
  export_to(collection, ExportFormat::npy, dir.path / "out");
  write_text(dir.path / "out" / "notes.txt", "user file");
  export_to(collection, ExportFormat::npy, dir.path / "out", false, "unnamed");
  EXPECT_EQ(read_npy((dir.path / "out" / "vectors.npy").string()).shape, (std::vector<int64_t>{5, 3}));
  EXPECT_EQ(nlohmann::json::parse(read_text(dir.path / "out" / "dims.json")), nlohmann::json({"d0", "d1", "d2"}));
  EXPECT_EQ(read_text(dir.path / "out" / "notes.txt"), "user file");
}

TEST(Export, CommandLineWritesTheFileAndRejectsAnUnknownSpace) {
  TempDir dir;
  const TestCollection collection = build_collection(dir.path);
  const std::string base = std::string(TAGSCAPE_BINARY) + " export --db " + shell_quote(collection.db);
  const CommandResult ok = run_command(base + " --space emb --format jsonl " + shell_quote(dir.path / "e.jsonl"));
  EXPECT_EQ(ok.status, 0) << ok.err;
  EXPECT_EQ(ok.out, (dir.path / "e.jsonl").string() + "\n");
  EXPECT_NE(ok.err.find("exported 8 segments x 4 dims of 'emb' (4 tracks)"), std::string::npos) << ok.err;
  const CommandResult unknown = run_command(base + " --space nope " + shell_quote(dir.path / "n"));
  EXPECT_EQ(unknown.status, 1);
  EXPECT_NE(unknown.err.find("available: emb, unnamed"), std::string::npos) << unknown.err;
  EXPECT_EQ(run_command(base + " --space emb --format xml " + shell_quote(dir.path / "n")).status, 2);
  EXPECT_FALSE(fs::exists(dir.path / "n"));
}

// ---- import ---------------------------------------------------------------------------

// One .npy per track in the music-explore layout: DIR/<path under /music>[.ext].npy.
void write_track_npy(const fs::path& file, int rows, int dims, float offset) {
  fs::create_directories(file.parent_path());
  std::vector<float> values(static_cast<size_t>(rows) * dims);
  for (size_t k = 0; k < values.size(); ++k) values[k] = offset + 0.001f * static_cast<float>(k);
  write_npy(file.string(), {rows, dims}, values.data());
}

std::vector<float> track_npy_values(int rows, int dims, float offset) {
  std::vector<float> values(static_cast<size_t>(rows) * dims);
  for (size_t k = 0; k < values.size(); ++k) values[k] = offset + 0.001f * static_cast<float>(k);
  return values;
}

ImportReport import_dir(const TestCollection& collection, const fs::path& dir, const std::string& space = "vggish",
                        std::vector<std::string> dim_names = {}) {
  Store store = open_store(collection.db, OpenMode::existing);
  ImportRequest request;
  request.space_name = space;
  request.dir = dir.string();
  request.dim_names = std::move(dim_names);
  return import_npy_dir(store, request);
}

// A hand-made .npy of another dtype (numpy's header layout, format 1.0).
void write_npy_with_dtype(const fs::path& file, const std::string& descr, int rows, int cols, int item_bytes) {
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + std::to_string(rows) + ", " +
                       std::to_string(cols) + "), }";
  header.append(63 - (10 + header.size()) % 64, ' ');
  header += '\n';
  std::string bytes = std::string("\x93NUMPY\x01\x00", 8);
  bytes += static_cast<char>(header.size() & 0xff);
  bytes += static_cast<char>(header.size() >> 8);
  bytes += header + std::string(static_cast<size_t>(rows) * cols * item_bytes, '\0');
  write_text(file, bytes);
}

TEST(Import, MusicExploreLayoutWithAndWithoutExtensionMatchesByRelativePath) {
  TempDir dir;
  const TestCollection collection = build_collection(dir.path);
  const fs::path npy = dir.path / "npy";
  write_track_npy(npy / "a" / "b.mp3.npy", 3, 5, 1.f);           // with the audio extension
  write_track_npy(npy / "x" / "Rock, \"live\".npy", 2, 5, 2.f);   // without
  write_track_npy(npy / "y" / "b.npy", 1, 5, 3.f);                // "b" alone would be ambiguous; y/b is not
  write_track_npy(npy / "z" / "lincity_song.npy", 2, 5, 4.f);     // audio file without extension
  const ImportReport report = import_dir(collection, npy, "vggish", {"v0", "v1", "v2", "v3", "v4"});
  EXPECT_EQ(report.files, 4);
  EXPECT_EQ(report.imported, 4);
  EXPECT_EQ(report.matched_by_name, 0);
  EXPECT_TRUE(report.unmatched.empty());
  EXPECT_TRUE(report.ambiguous.empty());
  EXPECT_TRUE(report.rejected.empty()) << report.rejected[0].reason;
  EXPECT_EQ(report.dims, 5);
  EXPECT_EQ(report.tracks_without_file, 0);

  Store store = open_store(collection.db, OpenMode::read_only);
  const std::optional<Space> space = find_space(store, "vggish");
  ASSERT_TRUE(space);
  EXPECT_EQ(space->kind, SpaceKind::imported);
  EXPECT_EQ(space->dims, 5);
  EXPECT_EQ(space->dim_names, (std::vector<std::string>{"v0", "v1", "v2", "v3", "v4"}));
  for (size_t t = 0; t < collection.tracks.size(); ++t) {
    const TestTrack& track = collection.tracks[t];
    const TrackVectors stored = read_track_vectors(store, track.id, space->id);
    EXPECT_EQ(stored.segments, static_cast<int>(track.segments.size()));
    EXPECT_EQ(stored.values, track_npy_values(static_cast<int>(track.segments.size()), 5, 1.f + t)) << track.path;
  }
  // The vectors the analyzer wrote are untouched.
  EXPECT_EQ(read_track_vectors(store, collection.tracks[0].id, collection.emb_space).values, collection.tracks[0].values);
}

TEST(Import, FilesRootedElsewhereMatchByTrailingPathOrUniqueStem) {
  TempDir dir;
  const TestCollection collection = build_collection(dir.path);
  const fs::path npy = dir.path / "npy";
  write_track_npy(npy / "music" / "a" / "b.mp3.npy", 3, 2, 0.f);   // tree rooted one level higher
  write_track_npy(npy / "lincity_song.npy", 2, 2, 0.f);            // flat: unique stem
  write_track_npy(npy / "elsewhere" / "Rock, \"live\".mp3.npy", 2, 2, 0.f);  // other folder: name only
  const ImportReport report = import_dir(collection, npy);
  EXPECT_EQ(report.imported, 3);
  EXPECT_EQ(report.matched_by_name, 1) << "elsewhere/ does not exist in the collection";
  EXPECT_EQ(report.tracks_without_file, 1);
}

TEST(Import, AmbiguousUnmatchedAndDuplicateFilesAreReportedNotImported) {
  TempDir dir;
  const TestCollection collection = build_collection(dir.path);
  const fs::path npy = dir.path / "npy";
  write_track_npy(npy / "b.npy", 1, 2, 0.f);                 // a/b.mp3 or y/b.ogg?
  write_track_npy(npy / "nothing" / "here.npy", 2, 2, 0.f);  // no such track
  write_track_npy(npy / "gone.npy", 1, 2, 0.f);              // a removed track is not a target
  write_track_npy(npy / "z" / "lincity_song.npy", 2, 2, 0.f);
  write_track_npy(npy / "z" / "lincity_song.mp3.npy", 2, 2, 0.f);  // no track is called lincity_song.mp3
  write_track_npy(npy / "x" / "Rock, \"live\".npy", 2, 2, 0.f);
  write_track_npy(npy / "x" / "Rock, \"live\".mp3.npy", 2, 2, 0.f);  // same track twice
  write_text(npy / ".hidden" / "a" / "b.npy", "ignored");
  const ImportReport report = import_dir(collection, npy);
  EXPECT_EQ(report.files, 7);
  EXPECT_EQ(report.imported, 1) << "only z/lincity_song";
  ASSERT_EQ(report.ambiguous.size(), 1u);
  EXPECT_NE(report.ambiguous[0].reason.find("b.npy: matches several tracks: /music/a/b.mp3, /music/y/b.ogg"),
            std::string::npos)
      << report.ambiguous[0].reason;
  EXPECT_EQ(report.unmatched, (std::vector<std::string>{(npy / "gone.npy").string(), (npy / "nothing/here.npy").string(),
                                                        (npy / "z/lincity_song.mp3.npy").string()}));
  ASSERT_EQ(report.rejected.size(), 2u);
  EXPECT_NE(report.rejected[0].reason.find("2 files match /music/x/Rock, \"live\".mp3; none of them imported"),
            std::string::npos)
      << report.rejected[0].reason;
}

TEST(Import, SegmentCountMismatchRejectsTheFileNamingBothCounts) {
  TempDir dir;
  const TestCollection collection = build_collection(dir.path);
  const fs::path npy = dir.path / "npy";
  write_track_npy(npy / "a" / "b.mp3.npy", 4, 2, 0.f);  // the store has 3 segments
  write_track_npy(npy / "y" / "b.ogg.npy", 1, 2, 0.f);
  const ImportReport report = import_dir(collection, npy);
  EXPECT_EQ(report.imported, 1);
  ASSERT_EQ(report.rejected.size(), 1u);
  EXPECT_EQ(report.rejected[0].reason,
            (npy / "a" / "b.mp3.npy").string() + ": 4 rows but /music/a/b.mp3 has 3 segments in the collection");
  Store store = open_store(collection.db, OpenMode::read_only);
  EXPECT_EQ(lookup_track(store, "/music/a/b.mp3")->space_ids.size(), 2u) << "no vectors added to the rejected track";
}

TEST(Import, BadFilesAreRejectedWithTheirCause) {
  TempDir dir;
  const TestCollection collection = build_collection(dir.path);
  const fs::path npy = dir.path / "npy";
  write_npy_with_dtype(npy / "a" / "b.npy", "<f2", 3, 2, 2);
  write_npy_with_dtype(npy / "y" / "b.npy", "<i8", 1, 2, 8);
  write_text(npy / "z" / "lincity_song.npy", "\x93NUMPY garbage");
  write_track_npy(npy / "x" / "Rock, \"live\".npy", 2, 2, 0.f);
  std::vector<float> flat(2, 0.f);
  write_npy((npy / "x" / "flat.npy").string(), {2}, flat.data());
  const ImportReport report = import_dir(collection, npy);
  EXPECT_EQ(report.imported, 1);
  std::string reasons;
  for (const ImportProblem& problem : report.rejected) reasons += problem.reason + "\n";
  EXPECT_NE(reasons.find("a/b.npy: unsupported .npy dtype '<f2' (float16); expected float32 '<f4' or float64 '<f8'"),
            std::string::npos)
      << reasons;
  EXPECT_NE(reasons.find("y/b.npy: unsupported .npy dtype '<i8' (int64)"), std::string::npos) << reasons;
  EXPECT_NE(reasons.find("z/lincity_song.npy: "), std::string::npos) << reasons;
  EXPECT_EQ(report.unmatched, (std::vector<std::string>{(npy / "x" / "flat.npy").string()}));
}

TEST(Import, Float64FilesAreConverted) {
  TempDir dir;
  const TestCollection collection = build_collection(dir.path);
  const fs::path npy = dir.path / "npy";
  // float64 [1, 2] = {0.1, -2.5}: written byte by byte so the test does not use our writer.
  std::string header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 2), }";
  header.append(63 - (10 + header.size()) % 64, ' ');
  header += '\n';
  std::string bytes = std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(header.size()) + '\0' + header;
  const double values[2] = {0.1, -2.5};
  bytes.append(reinterpret_cast<const char*>(values), sizeof values);
  write_text(npy / "y" / "b.ogg.npy", bytes);
  ASSERT_EQ(import_dir(collection, npy).imported, 1);
  Store store = open_store(collection.db, OpenMode::read_only);
  EXPECT_EQ(read_track_vectors(store, collection.tracks[2].id, find_space(store, "vggish")->id).values,
            (std::vector<float>{0.1f, -2.5f}));
}

TEST(Import, MixedWidthsAbortBeforeAnythingIsWritten) {
  TempDir dir;
  const TestCollection collection = build_collection(dir.path);
  const fs::path npy = dir.path / "npy";
  write_track_npy(npy / "a" / "b.mp3.npy", 3, 128, 0.f);
  write_track_npy(npy / "y" / "b.ogg.npy", 1, 200, 0.f);
  try {
    import_dir(collection, npy);
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_EQ(std::string(error.what()), (npy / "y" / "b.ogg.npy").string() + ": 200 dims, but " +
                                             (npy / "a" / "b.mp3.npy").string() +
                                             " has 128; all files of one import must have the same width (nothing imported)");
  }
  Store store = open_store(collection.db, OpenMode::read_only);
  EXPECT_FALSE(find_space(store, "vggish"));
}

TEST(Import, DimNamesMustMatchTheWidth) {
  TempDir dir;
  const TestCollection collection = build_collection(dir.path);
  const fs::path npy = dir.path / "npy";
  write_track_npy(npy / "y" / "b.ogg.npy", 1, 3, 0.f);
  write_text(dir.path / "names.txt", "one\r\ntwo\n\n");
  write_text(dir.path / "names.json", R"(["one", "two", "three, with comma"])");
  EXPECT_EQ(read_dim_names_file((dir.path / "names.txt").string()), (std::vector<std::string>{"one", "two"}));
  EXPECT_THROW(read_dim_names_file((dir.path / "missing.txt").string()), Error);
  write_text(dir.path / "bad.json", R"(["one", 2])");
  EXPECT_THROW(read_dim_names_file((dir.path / "bad.json").string()), Error);
  try {
    import_dir(collection, npy, "vggish", read_dim_names_file((dir.path / "names.txt").string()));
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("2 names but the files have 3 dims"), std::string::npos) << error.what();
  }
  {
    Store store = open_store(collection.db, OpenMode::read_only);
    EXPECT_FALSE(find_space(store, "vggish"));
  }
  EXPECT_EQ(import_dir(collection, npy, "vggish", read_dim_names_file((dir.path / "names.json").string())).imported, 1);
  Store store = open_store(collection.db, OpenMode::read_only);
  EXPECT_EQ(find_space(store, "vggish")->dim_names, (std::vector<std::string>{"one", "two", "three, with comma"}));
}

TEST(Import, RefusesToOverwriteASpaceTheAnalyzerProduces) {
  TempDir dir;
  const TestCollection collection = build_collection(dir.path);
  const fs::path npy = dir.path / "npy";
  write_track_npy(npy / "y" / "b.ogg.npy", 1, kDims, 0.f);
  try {
    import_dir(collection, npy, "emb");
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("space 'emb' is produced by `tagscape analyze`"), std::string::npos)
        << error.what();
  }
  EXPECT_THROW(import_dir(collection, npy, "unnamed"), Error) << "3 dims in the store, 4 in the file";
  EXPECT_THROW(import_dir(collection, dir.path / "nope"), Error);
  fs::create_directories(dir.path / "empty");
  EXPECT_THROW(import_dir(collection, dir.path / "empty"), Error);
}

TEST(Import, ReimportReplacesAndTheCommandLineReportsUnmatchedFiles) {
  TempDir dir;
  const TestCollection collection = build_collection(dir.path);
  const fs::path npy = dir.path / "npy";
  write_track_npy(npy / "a" / "b.mp3.npy", 3, 2, 0.f);
  write_track_npy(npy / "y" / "b.ogg.npy", 1, 2, 0.f);
  const std::string base = std::string(TAGSCAPE_BINARY) + " import --db " + shell_quote(collection.db) + " --space vggish ";
  const CommandResult first = run_command(base + shell_quote(npy));
  EXPECT_EQ(first.status, 0) << first.out << first.err;
  EXPECT_NE(first.out.find("imported  2 tracks into 'vggish' (2 dims)"), std::string::npos) << first.out;

  write_track_npy(npy / "a" / "b.mp3.npy", 3, 2, 5.f);
  write_track_npy(npy / "unknown" / "song.npy", 3, 2, 0.f);
  const CommandResult second = run_command(base + shell_quote(npy));
  EXPECT_EQ(second.status, 1) << "an unmatched file";
  EXPECT_NE(second.out.find("unmatched 1 (no track with that path or name):\n  " + (npy / "unknown/song.npy").string()),
            std::string::npos)
      << second.out;
  Store store = open_store(collection.db, OpenMode::read_only);
  const int64_t space = find_space(store, "vggish")->id;
  EXPECT_EQ(read_track_vectors(store, collection.tracks[0].id, space).values, track_npy_values(3, 2, 5.f));
  EXPECT_EQ(read_space(store, space).track_ids.size(), 2u) << "replaced, not duplicated";

  const CommandResult missing_db = run_command(std::string(TAGSCAPE_BINARY) + " import --db /no/such.tagscape --space v " + shell_quote(npy));
  EXPECT_EQ(missing_db.status, 1);
  EXPECT_NE(missing_db.err.find("/no/such.tagscape: no such collection file"), std::string::npos) << missing_db.err;
  EXPECT_EQ(run_command(base + "--kind nonsense " + shell_quote(npy)).status, 2);
}

// ---- info -----------------------------------------------------------------------------

TEST(Info, TextListsCountsSpacesAndFailures) {
  TempDir dir;
  const TestCollection collection = build_collection(dir.path);
  const CommandResult info = run_command(std::string(TAGSCAPE_BINARY) + " info --db " + shell_quote(collection.db));
  ASSERT_EQ(info.status, 0) << info.err;
  EXPECT_NE(info.out.find("tracks    4 analysed, 1 failed, 1 removed"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("segments  8\n"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("audio     0:00:24\n"), std::string::npos) << info.out;  // 8 x 2.992 s = 23.9 s
  EXPECT_NE(info.out.find("(schema " + std::to_string(current_schema_version())), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("emb"), std::string::npos);
  EXPECT_NE(info.out.find("happy, sad, blue, say \"hi\", d3"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("unnamed"), std::string::npos);
  EXPECT_NE(info.out.find("  /music/bad.mp3: not an audio file (Invalid data found)\n"), std::string::npos) << info.out;
}

TEST(Info, JsonParsesAndHoldsEverything) {
  TempDir dir;
  const TestCollection collection = build_collection(dir.path);
  const CommandResult info = run_command(std::string(TAGSCAPE_BINARY) + " info --json --db " + shell_quote(collection.db));
  ASSERT_EQ(info.status, 0) << info.err;
  const auto summary = nlohmann::json::parse(info.out);
  EXPECT_EQ(summary["tracks"]["ok"], 4);
  EXPECT_EQ(summary["tracks"]["failed"], 1);
  EXPECT_EQ(summary["tracks"]["removed"], 1);
  EXPECT_EQ(summary["segments"], 8);
  EXPECT_NEAR(summary["duration_s"].get<double>(), 8 * 2.992, 1e-9);
  EXPECT_GT(summary["file_bytes"].get<int64_t>(), 0);
  ASSERT_EQ(summary["spaces"].size(), 2u);
  EXPECT_EQ(summary["spaces"][0]["name"], "emb");
  EXPECT_EQ(summary["spaces"][0]["tracks"], 4);
  EXPECT_EQ(summary["spaces"][0]["dims"], kDims);
  EXPECT_EQ(summary["spaces"][1]["tracks"], 2);
  EXPECT_EQ(summary["failures"][0]["path"], "/music/bad.mp3");
}

TEST(Info, ShowsTwentyFailuresAndCountsTheRest) {
  TempDir dir;
  const std::string db = (dir.path / "c.tagscape").string();
  {
    Store store = open_store(db);
    for (int k = 0; k < 25; ++k) {
      char path[32];
      std::snprintf(path, sizeof path, "/music/bad%02d.mp3", k);
      mark_track_failed(store, identity(path), "truncated");
    }
  }
  const CommandResult info = run_command(std::string(TAGSCAPE_BINARY) + " info --db " + shell_quote(db));
  ASSERT_EQ(info.status, 0) << info.err;
  EXPECT_NE(info.out.find("/music/bad19.mp3: truncated"), std::string::npos) << info.out;
  EXPECT_EQ(info.out.find("/music/bad20.mp3"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("... and 5 more"), std::string::npos) << info.out;
}

TEST(Info, MissingCollectionIsExitStatusOneNamingTheFile) {
  const CommandResult missing = run_command(std::string(TAGSCAPE_BINARY) + " info --db /no/such/collection.tagscape");
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.err.find("/no/such/collection.tagscape: no such collection file (create one with `tagscape analyze MUSIC_DIR`)"),
            std::string::npos)
      << missing.err;
}

}  // namespace
