// Tests of store/: real SQLite files in a temporary directory, real processes killed
// mid-write. No mocks.
#include "store/store.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <thread>

#include "common/error.h"
#include "store/content_hash.h"

using namespace tagscape;
namespace fs = std::filesystem;

namespace {

// A fresh directory per test, removed afterwards.
struct TempDir {
  fs::path path;
  TempDir() {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    path = fs::temp_directory_path() /
           ("tagscape_store_" + std::string(test->test_suite_name()) + "_" + test->name() + "_" + std::to_string(getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

// Runs SQL on a file with a plain sqlite3 connection, bypassing the store (to fabricate
// old, foreign, newer or corrupt files).
void raw_exec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* message = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message);
  EXPECT_EQ(rc, SQLITE_OK) << (message ? message : "");
  sqlite3_free(message);
  sqlite3_close(db);
}

int64_t raw_int(Store& store, const std::string& sql) {
  sqlite3_stmt* statement = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(store.db.get(), sql.c_str(), -1, &statement, nullptr), SQLITE_OK) << sql;
  EXPECT_EQ(sqlite3_step(statement), SQLITE_ROW) << sql;
  const int64_t value = sqlite3_column_int64(statement, 0);
  sqlite3_finalize(statement);
  return value;
}

std::string raw_text(Store& store, const std::string& sql) {
  sqlite3_stmt* statement = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(store.db.get(), sql.c_str(), -1, &statement, nullptr), SQLITE_OK) << sql;
  EXPECT_EQ(sqlite3_step(statement), SQLITE_ROW) << sql;
  std::string value = reinterpret_cast<const char*>(sqlite3_column_text(statement, 0));
  sqlite3_finalize(statement);
  return value;
}

Space make_space(const std::string& name, int dims, SpaceKind kind = SpaceKind::embeddings) {
  Space space;
  space.name = name;
  space.kind = kind;
  space.model = "msd-musicnn-1";
  space.node = "model/dense/BiasAdd";
  space.dims = dims;
  return space;
}

// A deterministic analysis whose every value encodes (generation, space, index), so a
// reader can tell whether all parts of a track come from the same commit.
float value_of(int generation, int64_t space_id, size_t index) {
  return static_cast<float>(generation) * 1000.0f + static_cast<float>(space_id) * 100.0f + static_cast<float>(index % 97);
}

int segments_of(int generation) { return 1 + (generation * 7) % 60; }

struct OwnedAnalysis {
  TrackAnalysis analysis;
  std::vector<std::vector<float>> storage;  // backs analysis.vectors[i].values
};

OwnedAnalysis make_analysis(const std::string& path, int generation, const std::vector<Space>& spaces,
                            int segment_count = -1) {
  if (segment_count < 0) segment_count = segments_of(generation);
  OwnedAnalysis owned;
  TrackAnalysis& analysis = owned.analysis;
  analysis.file = {path, 1000 + generation, int64_t{generation} * 1'000'000'000, hash_to_hex(xxh64(&generation, sizeof generation))};
  analysis.metadata = {std::to_string(generation), "artist", "album", "genre", 2000 + generation % 20, generation % 12 + 1};
  analysis.duration_s = 3.0 * segment_count;
  for (int i = 0; i < segment_count; ++i) analysis.segments.push_back({3.0 * i, 3.0 * i + 3.0});
  owned.storage.reserve(spaces.size());
  for (const Space& space : spaces) {
    std::vector<float>& values = owned.storage.emplace_back(static_cast<size_t>(segment_count) * space.dims);
    for (size_t i = 0; i < values.size(); ++i) values[i] = value_of(generation, space.id, i);
    analysis.vectors.push_back({space.id, values});
  }
  return owned;
}

// Expects `action` to throw an Error whose message contains every `parts` string.
void expect_error(const std::function<void()>& action, const std::vector<std::string>& parts) {
  try {
    action();
    ADD_FAILURE() << "expected an Error containing '" << parts.front() << "'";
  } catch (const Error& error) {
    for (const std::string& part : parts)
      EXPECT_NE(std::string(error.what()).find(part), std::string::npos) << "message: " << error.what() << "\nmissing: " << part;
  }
}

std::vector<Space> add_two_spaces(Store& store) {
  Space taggrams = make_space("msd-musicnn-1/taggrams", 50, SpaceKind::taggrams);
  Space embeddings = make_space("msd-musicnn-1/embeddings", 200);
  taggrams.id = upsert_space(store, taggrams);
  embeddings.id = upsert_space(store, embeddings);
  return {taggrams, embeddings};
}

}  // namespace

// ---- opening, migrations, bad files ------------------------------------------------------

TEST(StoreOpen, CreatesReopensAndConfiguresTheFile) {
  TempDir dir;
  const std::string path = dir.file("collection.tagscape");
  {
    Store store = open_store(path);
    EXPECT_EQ(raw_int(store, "PRAGMA user_version"), current_schema_version());
    EXPECT_EQ(raw_int(store, "PRAGMA application_id"), 0x54475343);
    EXPECT_EQ(raw_text(store, "PRAGMA journal_mode"), "wal");
    EXPECT_EQ(raw_int(store, "PRAGMA foreign_keys"), 1);
    EXPECT_EQ(raw_int(store, "PRAGMA synchronous"), 1);  // NORMAL
    EXPECT_GT(raw_int(store, "PRAGMA busy_timeout"), 0);
    EXPECT_EQ(raw_int(store, "PRAGMA page_size"), 16384);
    const std::vector<Space> spaces = add_two_spaces(store);
    commit_track(store, make_analysis("/music/a.mp3", 1, spaces).analysis);
    set_meta(store, "models", "[\"msd-musicnn-1\"]");
  }
  EXPECT_TRUE(fs::exists(path));
  for (OpenMode mode : {OpenMode::existing, OpenMode::read_only, OpenMode::create}) {
    Store store = open_store(path, mode);
    const std::vector<Track> tracks = list_tracks(store);
    ASSERT_EQ(tracks.size(), 1u);
    EXPECT_EQ(tracks[0].file.path, "/music/a.mp3");
    EXPECT_EQ(list_spaces(store).size(), 2u);
    EXPECT_EQ(get_meta(store, "models"), "[\"msd-musicnn-1\"]");
    EXPECT_EQ(raw_int(store, "PRAGMA user_version"), current_schema_version());
  }
}

TEST(StoreOpen, AReaderSeesCommitsOfAConcurrentWriter) {
  TempDir dir;
  const std::string path = dir.file("collection.tagscape");
  Store writer = open_store(path);
  const std::vector<Space> spaces = add_two_spaces(writer);
  Store reader = open_store(path, OpenMode::read_only);  // e.g. the web server while analyze runs
  EXPECT_TRUE(list_tracks(reader).empty());
  commit_track(writer, make_analysis("/music/a.mp3", 1, spaces).analysis);
  EXPECT_EQ(list_tracks(reader).size(), 1u);
  EXPECT_EQ(read_space(reader, spaces[1].id).track_ids.size(), 1u);
  commit_track(writer, make_analysis("/music/b.mp3", 2, spaces).analysis);
  EXPECT_EQ(summarize(reader).tracks_ok, 2);
}

TEST(StoreOpen, MigratesAVersionZeroFileForward) {
  TempDir dir;
  const std::string path = dir.file("old.tagscape");
  raw_exec(path, "CREATE TABLE scratch (a); DROP TABLE scratch;");  // a real SQLite file, user_version 0
  ASSERT_GT(fs::file_size(path), 0u);
  ASSERT_EQ(schema_migrations().size(), static_cast<size_t>(current_schema_version()));

  Store store = open_store(path, OpenMode::existing);
  EXPECT_EQ(raw_int(store, "PRAGMA user_version"), current_schema_version());
  for (const char* table : {"meta", "tracks", "segments", "spaces", "vectors"})
    EXPECT_EQ(raw_int(store, std::string("SELECT count(*) FROM sqlite_schema WHERE type='table' AND name='") + table + "'"), 1)
        << table;
  // The migrated file works and reopening does not re-run migrations (they would fail on existing tables).
  const std::vector<Space> spaces = add_two_spaces(store);
  commit_track(store, make_analysis("/music/a.mp3", 2, spaces).analysis);
  close_store(store);
  Store again = open_store(path, OpenMode::existing);
  EXPECT_EQ(list_tracks(again).size(), 1u);
}

TEST(StoreOpen, ReadOnlyRefusesAnUnmigratedFile) {
  TempDir dir;
  const std::string path = dir.file("old.tagscape");
  raw_exec(path, "CREATE TABLE scratch (a); DROP TABLE scratch;");
  expect_error([&] { open_store(path, OpenMode::read_only); }, {path + ": not a tagscape collection (empty database)"});
}

TEST(StoreOpen, RefusesANewerSchemaWithAClearMessage) {
  TempDir dir;
  const std::string path = dir.file("collection.tagscape");
  { Store store = open_store(path); }
  raw_exec(path, "PRAGMA user_version = 7");
  for (OpenMode mode : {OpenMode::create, OpenMode::read_only})
    expect_error([&] { open_store(path, mode); },
                 {path + ": schema version 7 is newer than this tagscape supports (" +
                  std::to_string(current_schema_version()) + "); upgrade tagscape"});
}

// Bad inputs as data: how to make the file, and what the error must say.
struct BadFileCase {
  const char* name;
  std::function<void(const std::string& path)> make;
  OpenMode mode;
  const char* expected;  // substring after "<path>: "
};

namespace {

// A collection with enough data to span many pages, then closed (WAL checkpointed).
void make_collection(const std::string& path) {
  Store store = open_store(path);
  const std::vector<Space> spaces = add_two_spaces(store);
  for (int i = 0; i < 40; ++i) commit_track(store, make_analysis("/music/" + std::to_string(i) + ".mp3", i, spaces).analysis);
}

void overwrite(const std::string& path, uintmax_t offset, uintmax_t size_bytes, unsigned seed) {
  std::mt19937 random(seed);
  std::vector<char> garbage(size_bytes);
  for (char& c : garbage) c = static_cast<char>(random());
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  file.seekp(static_cast<std::streamoff>(offset));
  file.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
}

// Everything a viewer would read.
void open_and_read_everything(const std::string& path, OpenMode mode) {
  Store store = open_store(path, mode);
  const std::vector<Track> tracks = list_tracks(store);
  for (const Track& track : tracks) read_segments(store, track.id);
  for (const Space& space : list_spaces(store)) read_space(store, space.id);
  summarize(store);
  const std::vector<std::string> problems = check_integrity(store);
  if (!problems.empty()) throw Error(path + ": integrity_check: " + problems.front());
}

}  // namespace

TEST(StoreOpen, BadFilesAreClearErrorsNamingTheFile) {
  const std::vector<BadFileCase> cases = {
      {"text file", [](const std::string& p) { std::ofstream(p) << "title,artist\nfoo,bar\n"; }, OpenMode::create,
       "not a tagscape collection file"},
      {"other application's database", [](const std::string& p) { raw_exec(p, "CREATE TABLE songs (x);"); },
       OpenMode::create, "not a tagscape collection (an SQLite database of another application)"},
      {"missing file", [](const std::string&) {}, OpenMode::existing, "no such collection file"},
      {"missing file, read-only", [](const std::string&) {}, OpenMode::read_only, "no such collection file"},
      {"directory", [](const std::string& p) { fs::create_directory(p); }, OpenMode::create, "is a directory"},
      {"header overwritten",
       [](const std::string& p) {
         make_collection(p);
         overwrite(p, 0, 100, 1);
       },
       OpenMode::create, "not a tagscape collection file"},
      {"table pages overwritten",
       [](const std::string& p) {
         make_collection(p);
         overwrite(p, 16384, 16384 * 8, 2);
       },
       OpenMode::create, "database is corrupt"},
      {"truncated to half",
       [](const std::string& p) {
         make_collection(p);
         fs::resize_file(p, fs::file_size(p) / 2);
       },
       OpenMode::read_only, "database is corrupt"},
      {"garbage in the middle",
       [](const std::string& p) {
         make_collection(p);
         const uintmax_t size = fs::file_size(p);
         overwrite(p, size / 2 / 16384 * 16384, 16384 * 4, 3);
       },
       OpenMode::read_only, "database is corrupt"},
  };
  TempDir dir;
  for (const BadFileCase& bad : cases) {
    SCOPED_TRACE(bad.name);
    const std::string path = dir.file(std::string(bad.name) + ".tagscape");
    bad.make(path);
    expect_error([&] { open_and_read_everything(path, bad.mode); }, {path + ": ", bad.expected});
  }
}

// ---- spaces ------------------------------------------------------------------------------

TEST(StoreSpaces, UpsertIsIdempotentByNameAndRefusesOtherDims) {
  TempDir dir;
  Store store = open_store(dir.file("c.tagscape"));
  Space moods = make_space("moods", 3, SpaceKind::moods);
  moods.dim_names = {"happy", "sad", "aggressive"};
  const int64_t id = upsert_space(store, moods);
  moods.model = "other-model";
  EXPECT_EQ(upsert_space(store, moods), id);
  EXPECT_NE(upsert_space(store, make_space("msd-musicnn-1/embeddings", 200)), id);

  const std::optional<Space> found = find_space(store, "moods");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->id, id);
  EXPECT_EQ(found->kind, SpaceKind::moods);
  EXPECT_EQ(found->model, "other-model");
  EXPECT_EQ(found->dims, 3);
  EXPECT_EQ(found->dim_names, (std::vector<std::string>{"happy", "sad", "aggressive"}));
  EXPECT_FALSE(find_space(store, "nope").has_value());
  EXPECT_EQ(list_spaces(store).size(), 2u);

  Space wrong = make_space("moods", 4, SpaceKind::moods);
  expect_error([&] { upsert_space(store, wrong); },
               {store.path + ": space 'moods' already exists with 3 dims, not 4"});
}

// ---- committing ------------------------------------------------------------------------------

TEST(StoreCommit, RecommitReplacesThePreviousAnalysisOfThePath) {
  TempDir dir;
  Store store = open_store(dir.file("c.tagscape"));
  const std::vector<Space> spaces = add_two_spaces(store);
  const int64_t first = commit_track(store, make_analysis("/music/a.mp3", 1, spaces, 10).analysis);
  const int64_t other = commit_track(store, make_analysis("/music/b.mp3", 2, spaces, 4).analysis);
  const int64_t second = commit_track(store, make_analysis("/music/a.mp3", 3, {spaces[1]}, 5).analysis);
  EXPECT_EQ(first, second);  // the id is stable
  EXPECT_NE(first, other);

  EXPECT_EQ(raw_int(store, "SELECT count(*) FROM tracks"), 2);
  EXPECT_EQ(raw_int(store, "SELECT count(*) FROM segments"), 2);
  EXPECT_EQ(raw_int(store, "SELECT count(*) FROM vectors WHERE track_id = " + std::to_string(first)), 1);
  const std::vector<Track> tracks = list_tracks(store);
  EXPECT_EQ(tracks[0].metadata.title, "3");
  EXPECT_EQ(tracks[0].segment_count, 5);
  EXPECT_EQ(tracks[0].status, TrackStatus::ok);
  EXPECT_EQ(read_segments(store, first).size(), 5u);
  EXPECT_EQ(track_space_ids(store, first), (std::vector<int64_t>{spaces[1].id}));
  const TrackVectors vectors = read_track_vectors(store, first, spaces[1].id);
  EXPECT_EQ(vectors.segments, 5);
  EXPECT_EQ(vectors.dims, 200);
  EXPECT_EQ(vectors.values[7], value_of(3, spaces[1].id, 7));
  // The other track is untouched.
  EXPECT_EQ(read_segments(store, other).size(), 4u);
  EXPECT_EQ(track_space_ids(store, other).size(), 2u);
}

TEST(StoreCommit, WrongSizeOrUnknownSpaceWritesNothing) {
  TempDir dir;
  Store store = open_store(dir.file("c.tagscape"));
  const std::vector<Space> spaces = add_two_spaces(store);
  commit_track(store, make_analysis("/music/a.mp3", 1, spaces, 10).analysis);

  OwnedAnalysis bad = make_analysis("/music/a.mp3", 2, spaces, 6);
  bad.analysis.vectors[1].values = bad.analysis.vectors[1].values.first(5 * 200);
  expect_error([&] { commit_track(store, bad.analysis); },
               {store.path + ": /music/a.mp3: space " + std::to_string(spaces[1].id) + " needs 6 x 200 values, got 1000"});
  OwnedAnalysis unknown = make_analysis("/music/new.mp3", 2, spaces, 6);
  unknown.analysis.vectors[0].space_id = 999;
  expect_error([&] { commit_track(store, unknown.analysis); }, {store.path + ": no space with id 999"});

  const std::vector<Track> tracks = list_tracks(store);
  ASSERT_EQ(tracks.size(), 1u);  // the new path was rolled back too
  EXPECT_EQ(tracks[0].metadata.title, "1");
  EXPECT_EQ(read_segments(store, tracks[0].id).size(), 10u);
  EXPECT_EQ(read_track_vectors(store, tracks[0].id, spaces[0].id).values[3], value_of(1, spaces[0].id, 3));
}

TEST(StoreCommit, FailedRemovedAndAddedSpaces) {
  TempDir dir;
  Store store = open_store(dir.file("c.tagscape"));
  const std::vector<Space> spaces = add_two_spaces(store);
  const int64_t id = commit_track(store, make_analysis("/music/a.mp3", 1, {spaces[0]}, 8).analysis);

  // A model added later: vectors for one more space, atomically.
  const OwnedAnalysis more = make_analysis("/music/a.mp3", 1, {spaces[1]}, 8);
  add_track_vectors(store, id, more.analysis.vectors);
  EXPECT_EQ(track_space_ids(store, id), (std::vector<int64_t>{spaces[0].id, spaces[1].id}));
  const OwnedAnalysis wrong = make_analysis("/music/a.mp3", 1, {spaces[1]}, 9);
  expect_error([&] { add_track_vectors(store, id, wrong.analysis.vectors); }, {"needs 8 x 200 values, got 1800"});

  // Removed: vectors kept, excluded from bulk reads, restorable.
  const std::vector<std::string> gone = {"/music/a.mp3", "/music/never-seen.mp3"};
  EXPECT_EQ(mark_tracks_removed(store, gone), 1);
  EXPECT_EQ(mark_tracks_removed(store, gone), 0);
  EXPECT_EQ(lookup_track(store, "/music/a.mp3")->status, TrackStatus::removed);
  EXPECT_TRUE(read_space(store, spaces[0].id).track_ids.empty());
  expect_error([&] { add_track_vectors(store, id, more.analysis.vectors); }, {"cannot add vectors to a track that is removed"});
  restore_removed_track(store, id);
  EXPECT_EQ(read_space(store, spaces[0].id).track_ids, (std::vector<int64_t>{id}));

  // Failed: identity + error kept, old analysis gone.
  const FileIdentity changed{"/music/a.mp3", 77, 88, "00000000000000ff"};
  EXPECT_EQ(mark_track_failed(store, changed, "a.mp3: not an audio file (Invalid data)"), id);
  const std::optional<TrackState> state = lookup_track(store, "/music/a.mp3");
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->status, TrackStatus::failed);
  EXPECT_EQ(state->size_bytes, 77);
  EXPECT_EQ(state->segment_count, 0);
  EXPECT_TRUE(state->space_ids.empty());
  EXPECT_EQ(raw_int(store, "SELECT count(*) FROM segments"), 0);
  EXPECT_TRUE(read_segments(store, id).empty());
  expect_error([&] { read_track_vectors(store, id, spaces[0].id); }, {"has no vectors in space"});
  expect_error([&] { restore_removed_track(store, id); }, {"is not a removed track with an analysis"});
}

// ---- incremental -------------------------------------------------------------------------------

TEST(StoreIncremental, LookupReturnsWhatTheAnalyserNeedsToSkip) {
  TempDir dir;
  Store store = open_store(dir.file("c.tagscape"));
  const std::vector<Space> spaces = add_two_spaces(store);
  EXPECT_FALSE(lookup_track(store, "/music/a.mp3").has_value());
  const OwnedAnalysis owned = make_analysis("/music/a.mp3", 5, spaces, 12);
  const int64_t id = commit_track(store, owned.analysis);
  const std::optional<TrackState> state = lookup_track(store, "/music/a.mp3");
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->track_id, id);
  EXPECT_EQ(state->size_bytes, owned.analysis.file.size_bytes);
  EXPECT_EQ(state->mtime_ns, owned.analysis.file.mtime_ns);
  EXPECT_EQ(state->content_hash, owned.analysis.file.content_hash);
  EXPECT_EQ(state->status, TrackStatus::ok);
  EXPECT_EQ(state->segment_count, 12);
  EXPECT_EQ(state->space_ids, (std::vector<int64_t>{spaces[0].id, spaces[1].id}));
  EXPECT_FALSE(lookup_track(store, "/music/A.mp3").has_value());  // paths are exact
}

// ---- reading -------------------------------------------------------------------------------------

TEST(StoreRead, BulkReadRoundTripsBitExactly) {
  TempDir dir;
  Store store = open_store(dir.file("c.tagscape"));
  const std::vector<Space> spaces = add_two_spaces(store);
  std::mt19937 random(42);
  std::map<int64_t, std::vector<uint32_t>> written;  // track id -> raw bits in the 200-dim space
  for (int t = 0; t < 30; ++t) {
    const int segments = t == 7 ? 0 : 1 + static_cast<int>(random() % 90);
    OwnedAnalysis owned = make_analysis("/music/" + std::to_string(t) + ".mp3", t, spaces, segments);
    // Arbitrary bit patterns: NaNs with payloads, infinities, denormals, -0.
    std::vector<float>& values = owned.storage[1];
    std::vector<uint32_t> bits(values.size());
    for (uint32_t& b : bits) b = static_cast<uint32_t>(random());
    if (!bits.empty()) bits[0] = 0x7fc01234u;  // quiet NaN with payload
    std::memcpy(values.data(), bits.data(), bits.size() * 4);
    if (t % 5 == 3) owned.analysis.vectors.pop_back();  // some tracks lack the space
    const int64_t id = commit_track(store, owned.analysis);
    if (t % 5 != 3) written[id] = bits;
  }
  const int64_t failed = mark_track_failed(store, {"/music/bad.mp3", 1, 1, "0000000000000001"}, "broken");
  (void)failed;

  const SpaceMatrix matrix = read_space(store, spaces[1].id);
  EXPECT_EQ(matrix.dims, 200);
  ASSERT_EQ(matrix.track_ids.size(), written.size());
  ASSERT_EQ(matrix.segment_offsets.size(), written.size() + 1);
  EXPECT_EQ(matrix.segment_offsets[0], 0);
  size_t i = 0;
  for (const auto& [id, bits] : written) {
    EXPECT_EQ(matrix.track_ids[i], id);
    const int64_t rows = matrix.segment_offsets[i + 1] - matrix.segment_offsets[i];
    ASSERT_EQ(static_cast<size_t>(rows * 200), bits.size()) << "track " << id;
    if (!bits.empty()) {
      EXPECT_EQ(std::memcmp(matrix.values.data() + matrix.segment_offsets[i] * 200, bits.data(), bits.size() * 4), 0)
          << "track " << id;
    }
    const TrackVectors single = read_track_vectors(store, id, spaces[1].id);
    if (!bits.empty()) {
      EXPECT_EQ(std::memcmp(single.values.data(), bits.data(), bits.size() * 4), 0);
    }
    ++i;
  }
  EXPECT_EQ(matrix.values.size(), static_cast<size_t>(matrix.segment_offsets.back() * 200));

  // Segment times round-trip too.
  const std::vector<Segment> segments = read_segments(store, matrix.track_ids[0]);
  ASSERT_FALSE(segments.empty());
  EXPECT_EQ(segments.back().end_s, 3.0 * static_cast<double>(segments.size()));
}

TEST(StoreRead, BlobSizeCorruptionIsDetected) {
  TempDir dir;
  const std::string path = dir.file("c.tagscape");
  int64_t id = 0;
  std::vector<Space> spaces;
  {
    Store store = open_store(path);
    spaces = add_two_spaces(store);
    id = commit_track(store, make_analysis("/music/a.mp3", 1, spaces, 10).analysis);
  }
  raw_exec(path, "UPDATE vectors SET data = randomblob(10) WHERE space_id = " + std::to_string(spaces[1].id) + ";" +
                     "UPDATE segments SET times = randomblob(24);");
  Store store = open_store(path, OpenMode::read_only);
  const std::string vectors_message = path + ": database is corrupt (vectors of track " + std::to_string(id) +
                                      " has 10 bytes, expected 8000)";
  expect_error([&] { read_track_vectors(store, id, spaces[1].id); }, {vectors_message});
  expect_error([&] { read_space(store, spaces[1].id); }, {vectors_message});
  expect_error([&] { read_segments(store, id); },
               {path + ": database is corrupt (segment times of track " + std::to_string(id) + " has 24 bytes, expected 160)"});
  EXPECT_EQ(read_space(store, spaces[0].id).track_ids.size(), 1u);  // the intact space still reads
}

TEST(StoreSummary, CountsTracksSegmentsSpacesAndFailures) {
  TempDir dir;
  Store store = open_store(dir.file("c.tagscape"));
  const std::vector<Space> spaces = add_two_spaces(store);
  commit_track(store, make_analysis("/music/a.mp3", 1, spaces, 10).analysis);
  commit_track(store, make_analysis("/music/b.mp3", 2, {spaces[0]}, 20).analysis);
  commit_track(store, make_analysis("/music/c.mp3", 3, spaces, 5).analysis);
  mark_track_failed(store, {"/music/z.mp3", 1, 1, "0000000000000001"}, "z.mp3: not an audio file");
  mark_track_failed(store, {"/music/y.mp3", 1, 1, "0000000000000002"}, "y.mp3: truncated");
  const std::vector<std::string> removed = {"/music/c.mp3"};
  mark_tracks_removed(store, removed);

  const CollectionSummary summary = summarize(store);
  EXPECT_EQ(summary.schema_version, current_schema_version());
  EXPECT_EQ(summary.tracks_ok, 2);
  EXPECT_EQ(summary.tracks_failed, 2);
  EXPECT_EQ(summary.tracks_removed, 1);
  EXPECT_EQ(summary.segments, 30);
  EXPECT_DOUBLE_EQ(summary.total_duration_s, 90.0);
  ASSERT_EQ(summary.spaces.size(), 2u);
  EXPECT_EQ(summary.spaces[0].space.name, "msd-musicnn-1/taggrams");
  EXPECT_EQ(summary.spaces[0].space.dims, 50);
  EXPECT_EQ(summary.spaces[0].tracks, 2);
  EXPECT_EQ(summary.spaces[1].tracks, 1);
  ASSERT_EQ(summary.failures.size(), 2u);
  EXPECT_EQ(summary.failures[0].path, "/music/y.mp3");
  EXPECT_EQ(summary.failures[0].error, "y.mp3: truncated");
}

TEST(StoreMeta, SetGetOverwrite) {
  TempDir dir;
  Store store = open_store(dir.file("c.tagscape"));
  EXPECT_FALSE(get_meta(store, "projection").has_value());
  set_meta(store, "projection", "umap");
  set_meta(store, "projection", "tsne");
  EXPECT_EQ(get_meta(store, "projection"), "tsne");
}

// ---- crash safety ---------------------------------------------------------------------------------

namespace {

constexpr int kCrashPaths = 25;
std::string crash_path(int generation) { return "/music/" + std::to_string(generation % kCrashPaths) + ".mp3"; }

// Child process: commit generation after generation (re-committing the same 25 paths),
// reporting each finished commit on `report_fd`, until killed.
[[noreturn]] void commit_forever(const std::string& path, int first_generation, int report_fd) {
  try {
    Store store = open_store(path, OpenMode::existing);
    const std::vector<Space> spaces = list_spaces(store);
    for (int generation = first_generation;; ++generation) {
      commit_track(store, make_analysis(crash_path(generation), generation, spaces).analysis);
      if (write(report_fd, &generation, sizeof generation) != sizeof generation) _exit(3);
    }
  } catch (...) {
    _exit(2);
  }
}

}  // namespace

TEST(StoreCrash, SigkillAtRandomPointsLeavesOnlyCompleteTracks) {
  TempDir dir;
  const std::string path = dir.file("crash.tagscape");
  {
    Store store = open_store(path);
    add_two_spaces(store);
  }
  std::mt19937 random(std::random_device{}());
  std::map<std::string, int> last_reported;  // path -> newest generation the child said was committed
  int next_generation = 0;
  // Kill after this many reported commits, then after a random 0..2 ms (often mid-commit).
  for (int commits_before_kill : {0, 0, 1, 3, 10, 40, 150, 5}) {
    SCOPED_TRACE("kill after " + std::to_string(commits_before_kill) + " commits");
    int pipe_fds[2];
    ASSERT_EQ(pipe(pipe_fds), 0);
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      close(pipe_fds[0]);
      commit_forever(path, next_generation, pipe_fds[1]);
    }
    close(pipe_fds[1]);
    for (int received = 0; received < commits_before_kill; ++received) {
      int generation = 0;
      ASSERT_EQ(read(pipe_fds[0], &generation, sizeof generation), static_cast<ssize_t>(sizeof generation))
          << "child died early";
      last_reported[crash_path(generation)] = generation;
      next_generation = generation + 1;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(random() % 2000));
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "child exited by itself, status " << status;
    // Drain reports that were in flight when it died: those commits finished too.
    int generation = 0;
    while (read(pipe_fds[0], &generation, sizeof generation) == static_cast<ssize_t>(sizeof generation)) {
      last_reported[crash_path(generation)] = generation;
      next_generation = generation + 1;
    }
    close(pipe_fds[0]);
    next_generation += 1000;  // skip generations the child may have committed without reporting

    Store store = open_store(path, OpenMode::existing);
    EXPECT_TRUE(check_integrity(store).empty());
    const std::vector<Space> spaces = list_spaces(store);
    const std::vector<Track> tracks = list_tracks(store);
    EXPECT_GE(tracks.size(), last_reported.size());
    for (const Track& track : tracks) {
      SCOPED_TRACE(track.file.path);
      const int generation = std::stoi(track.metadata.title);
      EXPECT_EQ(crash_path(generation), track.file.path);
      if (last_reported.count(track.file.path)) {
        EXPECT_GE(generation, last_reported[track.file.path]) << "a commit was lost";
      }
      EXPECT_EQ(track.segment_count, segments_of(generation));
      EXPECT_EQ(read_segments(store, track.id).size(), static_cast<size_t>(segments_of(generation)));
      ASSERT_EQ(track_space_ids(store, track.id).size(), spaces.size());
      for (const Space& space : spaces) {
        const TrackVectors vectors = read_track_vectors(store, track.id, space.id);
        ASSERT_EQ(vectors.values.size(), static_cast<size_t>(segments_of(generation) * space.dims));
        EXPECT_EQ(vectors.values.front(), value_of(generation, space.id, 0));
        EXPECT_EQ(vectors.values.back(), value_of(generation, space.id, vectors.values.size() - 1));
      }
    }
    EXPECT_EQ(raw_int(store, "SELECT count(*) FROM segments"), static_cast<int64_t>(tracks.size()));
    EXPECT_EQ(raw_int(store, "SELECT count(*) FROM vectors"), static_cast<int64_t>(tracks.size() * spaces.size()));
    const SpaceMatrix matrix = read_space(store, spaces[1].id);
    EXPECT_EQ(matrix.track_ids.size(), tracks.size());
  }
}

// ---- content hash ------------------------------------------------------------------------------------

TEST(StoreHash, Xxh64MatchesPublishedVectors) {
  // ref: xxHash's xsum_sanity_check.c and the spec's examples (seed 0).
  EXPECT_EQ(xxh64("", 0), 0xEF46DB3751D8E999ULL);
  EXPECT_EQ(xxh64("a", 1), 0xD24EC4F1A98C6E5BULL);
  EXPECT_EQ(xxh64("abc", 3), 0x44BC2CF5AD770999ULL);
  const char* text = "Nobody inspects the spammish repetition";  // 39 bytes: exercises the 32-byte stripes
  EXPECT_EQ(xxh64(text, std::strlen(text)), 0xFBCEA83C8A378BF1ULL);
  EXPECT_EQ(hash_to_hex(0xEF46DB3751D8E999ULL), "ef46db3751d8e999");
}

TEST(StoreHash, StreamingEqualsOneShotAtEveryChunking) {
  std::vector<unsigned char> data(1000);
  std::mt19937 random(7);
  for (unsigned char& b : data) b = static_cast<unsigned char>(random());
  const uint64_t whole = xxh64(data.data(), data.size());
  for (size_t chunk : {1u, 3u, 31u, 32u, 33u, 64u, 999u}) {
    Xxh64State state = xxh64_begin(0);
    for (size_t at = 0; at < data.size(); at += chunk) xxh64_update(state, data.data() + at, std::min(chunk, data.size() - at));
    EXPECT_EQ(xxh64_digest(state), whole) << "chunk " << chunk;
  }
}

TEST(StoreHash, HashesWholeFilesAndNamesMissingOnes) {
  TempDir dir;
  const std::string small = dir.file("abc.txt");
  std::ofstream(small, std::ios::binary) << "abc";
  EXPECT_EQ(hash_file_content(small), "44bc2cf5ad770999");
  // Larger than the 1 MiB read chunk: a change in the middle changes the hash.
  const std::string big = dir.file("big.bin");
  std::vector<char> bytes(3 << 20, 'x');
  std::ofstream(big, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  const std::string before = hash_file_content(big);
  EXPECT_EQ(before, hash_to_hex(xxh64(bytes.data(), bytes.size())));
  {
    std::fstream file(big, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(3 << 19);
    file.put('!');
  }
  EXPECT_NE(hash_file_content(big), before);
  expect_error([&] { hash_file_content(dir.file("missing.mp3")); }, {dir.file("missing.mp3") + ": cannot open for hashing"});
}
