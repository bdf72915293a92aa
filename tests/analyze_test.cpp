// `tagscape analyze` end to end: a generated collection of real audio in every common
// format plus broken files, the real binary, a real collection file.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/npy.h"
#include "store/store.h"

using namespace tagscape;
namespace fs = std::filesystem;

namespace {

const std::string kClip = TAGSCAPE_SHARED_DIR "/audio/joram-moments_of_clarity-08-solipsism-59-88.mp3";

struct CommandResult {
  int status;
  std::string out, err;
};

CommandResult run_command(const std::string& command) {
  const fs::path err_file = fs::temp_directory_path() / ("tagscape_analyze_err_" + std::to_string(getpid()));
  FILE* pipe = popen((command + " 2>" + err_file.string()).c_str(), "r");
  std::string out;
  std::array<char, 4096> buffer;
  while (size_t n = fread(buffer.data(), 1, buffer.size(), pipe)) out.append(buffer.data(), n);
  const int status = pclose(pipe);
  std::ifstream err_in(err_file);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out, std::string((std::istreambuf_iterator<char>(err_in)), {})};
}

void ffmpeg(const std::string& args) {
  ASSERT_EQ(run_command("ffmpeg -nostdin -hide_banner -loglevel error -y " + args).status, 0) << args;
}

// A per-process temp folder, removed at exit.
struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& name)
      : path(fs::temp_directory_path() / ("tagscape_" + name + "_" + std::to_string(getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

// The collection: 8 s excerpts of the joram clip in six formats, the clip itself, a
// file without extension, a 1 s clip, a truncated mp3, and broken/hidden files.
void make_collection(const fs::path& root) {
  fs::create_directories(root / "album");
  fs::create_directories(root / ".hidden");
  fs::copy_file(kClip, root / "joram.mp3");
  const std::string excerpt = "-i '" + kClip + "' -t 8 ";
  ffmpeg(excerpt + "'" + (root / "album/a.ogg").string() + "'");
  ffmpeg(excerpt + "-c:a libopus '" + (root / "album/b.opus").string() + "'");
  ffmpeg(excerpt + "'" + (root / "album/c.flac").string() + "'");
  ffmpeg(excerpt + "-ar 44100 -ac 2 '" + (root / "album/d.wav").string() + "'");
  ffmpeg(excerpt + "-c:a aac '" + (root / "album/e.m4a").string() + "'");
  ffmpeg(excerpt + "-f flac '" + (root / "album/no_extension").string() + "'");
  ffmpeg("-i '" + kClip + "' -t 1 '" + (root / "one_second.wav").string() + "'");
  fs::copy_file(kClip, root / ".hidden/skipped.mp3");
  std::ofstream(root / "empty.mp3");
  std::ofstream(root / "text.mp3") << "not audio at all";
  std::ofstream(root / "notes.txt") << "ignored: not audio";
  fs::create_directory_symlink(root, root / "album/loop");  // a symlink loop: must not recurse forever
  std::ifstream clip(kClip, std::ios::binary);
  std::vector<char> head(40000);
  clip.read(head.data(), head.size());
  std::ofstream(root / "truncated.mp3", std::ios::binary).write(head.data(), head.size());
}

std::string analyze(const fs::path& db, const fs::path& root, const std::string& extra = "") {
  return std::string(TAGSCAPE_BINARY) + " analyze --db '" + db.string() + "' " + extra + " '" + root.string() + "'";
}

int64_t count_tracks(const fs::path& db, TrackStatus status) {
  Store store = open_store(db.string(), OpenMode::read_only);
  int64_t count = 0;
  for (const Track& track : list_tracks(store)) count += track.status == status;
  return count;
}

TEST(AnalyzeCli, GeneratedCollectionCountsErrorsAndExitStatus) {
  TempDir dir("analyze_collection");
  make_collection(dir.path / "music");
  const fs::path db = dir.path / "c.tagscape";
  const CommandResult run = run_command(analyze(db, dir.path / "music"));
  EXPECT_EQ(run.status, 1) << "failures must set the exit status\n" << run.out << run.err;
  EXPECT_NE(run.out.find("analysed 9,"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("failed 2"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find((dir.path / "music/empty.mp3").string() + ": empty file (0 bytes)"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find((dir.path / "music/text.mp3").string() + ": not an audio file"), std::string::npos) << run.out;
  EXPECT_EQ(count_tracks(db, TrackStatus::ok), 9);
  EXPECT_EQ(count_tracks(db, TrackStatus::failed), 2);

  Store store = open_store(db.string(), OpenMode::read_only);
  for (const Track& track : list_tracks(store)) {
    EXPECT_EQ(track.file.path.find("/.hidden/"), std::string::npos) << "hidden files are skipped";
    if (track.status != TrackStatus::ok) continue;
    EXPECT_GE(track.segment_count, 1) << track.file.path;
    if (track.file.path.ends_with("one_second.wav")) EXPECT_EQ(track.segment_count, 1) << "short tracks get one repeated segment";
    if (track.file.path.ends_with("/a.ogg")) EXPECT_EQ(track.segment_count, 2) << "8 s = two 2.992 s segments";
    if (track.file.path.ends_with("joram.mp3")) {
      EXPECT_EQ(track.segment_count, 9);
      EXPECT_EQ(track.metadata.title, "solipsism (EXCERPT)") << "TagLib title";
    }
  }
  const auto taggrams = find_space(store, "msd-musicnn-1/taggrams");
  ASSERT_TRUE(taggrams);
  EXPECT_EQ(taggrams->dims, 50);
  EXPECT_EQ(taggrams->dim_names.front(), "rock");
  EXPECT_EQ(find_space(store, "msd-musicnn-1/embeddings")->dims, 200);
  EXPECT_TRUE(check_integrity(store).empty());
}

TEST(AnalyzeCli, IncrementalRunsSkipTouchUpdateAndRemove) {
  TempDir dir("analyze_incremental");
  const fs::path music = dir.path / "music";
  fs::create_directories(music);
  fs::copy_file(kClip, music / "joram.mp3");
  ffmpeg("-i '" + kClip + "' -t 8 '" + (music / "short.flac").string() + "'");
  ffmpeg("-i '" + kClip + "' -t 8 '" + (music / "gone.ogg").string() + "'");
  const fs::path db = dir.path / "c.tagscape";
  ASSERT_EQ(run_command(analyze(db, music)).status, 0);

  const CommandResult again = run_command(analyze(db, music));
  EXPECT_EQ(again.status, 0);
  EXPECT_NE(again.out.find("analysed 0, completed 0, restored 0, unchanged 3"), std::string::npos) << again.out;

  fs::last_write_time(music / "short.flac", fs::file_time_type::clock::now());  // touched, same bytes
  std::ofstream(music / "joram.mp3", std::ios::app | std::ios::binary) << std::string(417, '\0');  // changed
  fs::remove(music / "gone.ogg");
  const CommandResult changed = run_command(analyze(db, music));
  EXPECT_NE(changed.out.find("analysed 1, completed 0, restored 0, unchanged 1, removed 1"), std::string::npos) << changed.out;
  EXPECT_EQ(count_tracks(db, TrackStatus::removed), 1);

  const CommandResult moods = run_command(analyze(db, music, "--models moods"));
  EXPECT_NE(moods.out.find("analysed 0, completed 2"), std::string::npos) << moods.out << moods.err;
  Store store = open_store(db.string(), OpenMode::read_only);
  const auto space = find_space(store, "moods");
  ASSERT_TRUE(space);
  EXPECT_EQ(space->dim_names, (std::vector<std::string>{"happy", "sad", "relaxed", "aggressive", "danceable"}));
  const SpaceMatrix matrix = read_space(store, space->id);
  EXPECT_EQ(matrix.track_ids.size(), 2u);
  for (float value : matrix.values) EXPECT_TRUE(value >= 0 && value <= 1) << "probabilities";

  const CommandResult info = run_command(std::string(TAGSCAPE_BINARY) + " info --json --db '" + db.string() + "'");
  ASSERT_EQ(info.status, 0) << info.err;
  const auto summary = nlohmann::json::parse(info.out);
  EXPECT_EQ(summary["tracks"]["ok"], 2);
  EXPECT_EQ(summary["tracks"]["removed"], 1);
  EXPECT_EQ(summary["spaces"].size(), 3u);
  const CommandResult text = run_command(std::string(TAGSCAPE_BINARY) + " info --db '" + db.string() + "'");
  EXPECT_NE(text.out.find("2 analysed, 0 failed, 1 removed"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("moods"), std::string::npos) << text.out;
  const CommandResult missing = run_command(std::string(TAGSCAPE_BINARY) + " info --db /no/such.tagscape");
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.err.find("/no/such.tagscape: no such collection file"), std::string::npos) << missing.err;
}

TEST(AnalyzeCli, StoredVectorsEqualPredictOutput) {
  TempDir dir("analyze_vs_predict");
  fs::create_directories(dir.path / "music");
  fs::copy_file(kClip, dir.path / "music/joram.mp3");
  const fs::path db = dir.path / "c.tagscape";
  ASSERT_EQ(run_command(analyze(db, dir.path / "music")).status, 0);
  ASSERT_EQ(run_command(std::string(TAGSCAPE_BINARY) + " predict -o taggrams -o embeddings --npy '" +
                        (dir.path / "npy").string() + "' '" + (dir.path / "music/joram.mp3").string() + "'")
                .status,
            0);
  Store store = open_store(db.string(), OpenMode::read_only);
  const int64_t track = lookup_track(store, (dir.path / "music/joram.mp3").string())->track_id;
  for (const std::string kind : {"taggrams", "embeddings"}) {
    const TrackVectors stored = read_track_vectors(store, track, find_space(store, "msd-musicnn-1/" + kind)->id);
    const NpyArray predicted = read_npy((dir.path / "npy" / ("joram." + kind + ".npy")).string());
    ASSERT_EQ(stored.values.size(), predicted.data.size()) << kind;
    for (size_t k = 0; k < stored.values.size(); ++k) EXPECT_NEAR(stored.values[k], predicted.data[k], 1e-6f) << kind;
  }
}

// Starts analyze in the background, kills it with SIGKILL once `commits` tracks are in
// the store (0: after `delay`), and returns when it is dead.
void run_and_kill(const fs::path& db, const fs::path& music, int commits, std::chrono::milliseconds delay) {
  const pid_t child = fork();
  if (child == 0) {
    freopen("/dev/null", "w", stdout);
    freopen("/dev/null", "w", stderr);
    execl(TAGSCAPE_BINARY, TAGSCAPE_BINARY, "analyze", "--db", db.c_str(), music.c_str(), nullptr);
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  std::this_thread::sleep_for(delay);
  while (commits > 0 && std::chrono::steady_clock::now() < deadline) {
    try {
      if (count_tracks(db, TrackStatus::ok) >= commits) break;
    } catch (const std::exception&) {  // not created yet
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
}

TEST(AnalyzeCrash, SigkillAtAnyPointThenResumeGivesTheUninterruptedResult) {
  TempDir dir("analyze_crash");
  const fs::path music = dir.path / "music";
  fs::create_directories(music);
  for (int k = 0; k < 6; ++k)
    ffmpeg("-i '" + kClip + "' -af volume=" + std::to_string(0.5 + 0.1 * k) + " '" + (music / ("t" + std::to_string(k) + ".mp3")).string() + "'");
  const fs::path reference_db = dir.path / "reference.tagscape";
  ASSERT_EQ(run_command(analyze(reference_db, music)).status, 0);

  const fs::path db = dir.path / "killed.tagscape";
  run_and_kill(db, music, 0, std::chrono::milliseconds(150));  // during start-up or the first track
  run_and_kill(db, music, 1, std::chrono::milliseconds(0));
  run_and_kill(db, music, 3, std::chrono::milliseconds(0));
  run_and_kill(db, music, 4, std::chrono::milliseconds(7));
  const int64_t committed_before_resume = count_tracks(db, TrackStatus::ok);
  EXPECT_GE(committed_before_resume, 4);
  EXPECT_LT(committed_before_resume, 6) << "the kills must interrupt the run, or this test proves nothing";
  const CommandResult resumed = run_command(analyze(db, music));
  ASSERT_EQ(resumed.status, 0) << resumed.out << resumed.err;

  Store killed = open_store(db.string(), OpenMode::read_only);
  Store reference = open_store(reference_db.string(), OpenMode::read_only);
  EXPECT_TRUE(check_integrity(killed).empty());
  const auto tracks = list_tracks(killed);
  ASSERT_EQ(tracks.size(), 6u) << "exactly one entry per file";
  for (const std::string kind : {"taggrams", "embeddings"}) {
    const std::string name = "msd-musicnn-1/" + kind;
    for (const Track& track : tracks) {
      EXPECT_EQ(track.status, TrackStatus::ok) << track.file.path;
      const TrackVectors got = read_track_vectors(killed, track.id, find_space(killed, name)->id);
      const TrackVectors want = read_track_vectors(reference, lookup_track(reference, track.file.path)->track_id,
                                                   find_space(reference, name)->id);
      EXPECT_EQ(got.values, want.values) << track.file.path << " " << name;
      EXPECT_EQ(read_segments(killed, track.id).size(), static_cast<size_t>(track.segment_count));
    }
  }
}

TEST(AnalyzeCli, SigintStopsAfterTheCurrentCommitWithASummary) {
  TempDir dir("analyze_sigint");
  const fs::path music = dir.path / "music";
  fs::create_directories(music);
  for (int k = 0; k < 8; ++k)
    ffmpeg("-i '" + kClip + "' -af volume=" + std::to_string(0.3 + 0.1 * k) + " '" + (music / ("t" + std::to_string(k) + ".mp3")).string() + "'");
  const fs::path db = dir.path / "c.tagscape", out = dir.path / "out.txt";
  const pid_t child = fork();
  if (child == 0) {
    freopen(out.c_str(), "w", stdout);
    freopen("/dev/null", "w", stderr);
    execl(TAGSCAPE_BINARY, TAGSCAPE_BINARY, "analyze", "--db", db.c_str(), music.c_str(), nullptr);
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      if (count_tracks(db, TrackStatus::ok) >= 1) break;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  kill(child, SIGINT);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1) << "an interrupted run is not a success";
  std::ifstream in(out);
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(text.find("interrupted: analysed "), std::string::npos) << text;
  const int64_t committed = count_tracks(db, TrackStatus::ok);
  EXPECT_GE(committed, 1);
  EXPECT_LT(committed, 8);
  Store store = open_store(db.string(), OpenMode::read_only);
  EXPECT_TRUE(check_integrity(store).empty());
}

TEST(AnalyzeCli, UsageErrors) {
  EXPECT_EQ(run_command(std::string(TAGSCAPE_BINARY) + " analyze").status, 2);
  const CommandResult bad_model = run_command(std::string(TAGSCAPE_BINARY) + " analyze --models nope /tmp");
  EXPECT_EQ(bad_model.status, 1);
  EXPECT_NE(bad_model.err.find("unknown entry 'nope'"), std::string::npos) << bad_model.err;
  const CommandResult missing = run_command(std::string(TAGSCAPE_BINARY) + " analyze --db /tmp/x.tagscape /no/such/folder");
  EXPECT_NE(missing.err.find("/no/such/folder: no such file or directory"), std::string::npos) << missing.err;
}

}  // namespace
