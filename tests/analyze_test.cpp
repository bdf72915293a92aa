// `tagscape analyze` end to end: a generated collection of real audio in every common
// format plus broken files, the real binary, a real collection file.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
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

#include "common/error.h"
#include "common/npy.h"
#include "store/analyze.h"
#include "store/store.h"
#include "tests/run_command.h"

using namespace tagscape;
namespace fs = std::filesystem;

namespace {

const std::string kClip = TAGSCAPE_SHARED_DIR "/audio/joram-moments_of_clarity-08-solipsism-59-88.mp3";

using tagscape::testing::CommandResult;
using tagscape::testing::run_command;

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

// A 7.68 s ProTracker module (4 channels, "M.K."): one square-ish sample played every
// 8 rows at two pitches — a tracker module as FFmpeg reads it through libopenmpt.
// ref: ProTracker MOD layout (20-byte title, 31 x 30-byte sample headers, order table,
// signature at 1080, 1024-byte patterns, 8-bit signed sample data).
void write_tracker_module(const fs::path& path) {
  std::string mod = std::string("tagscape test").append(7, '\0');
  const int sample_words = 2000;
  for (int k = 0; k < 31; ++k) {
    std::string header(30, '\0');
    if (k == 0) {
      header.replace(0, 6, "square");
      header[22] = char(sample_words >> 8), header[23] = char(sample_words & 0xFF);  // length, big-endian words
      header[25] = 64;                                                               // volume
      header[28] = header[22], header[29] = header[23];                              // loop the whole sample
    } else {
      header[29] = 1;  // loop length 1 word = no loop
    }
    mod += header;
  }
  mod += std::string{char(1), char(127)} + std::string(128, '\0') + "M.K.";  // song: pattern 0 once
  std::string pattern(1024, '\0');
  for (int row = 0; row < 64; row += 8) {
    const int period = row / 8 % 2 ? 339 : 428;
    const char note[4] = {char(period >> 8), char(period & 0xFF), char(1 << 4), 0};  // sample 1
    pattern.replace(row * 16, 4, note, 4);
  }
  mod += pattern;
  for (int k = 0; k < sample_words * 2; ++k) mod += char(k / 16 % 2 ? 100 : 0);
  std::ofstream(path, std::ios::binary) << mod;
}

// The collection: 8 s excerpts of the joram clip in six formats, the clip itself, a
// file without extension, a 1 s clip, a truncated mp3, broken/hidden files, and things
// discovery must not trip over: a FIFO (opening it would block), a symlink loop, and a
// symlink to a file already in the collection (analysed once).
void make_collection(const fs::path& root) {
  fs::create_directories(root / "album");
  fs::create_directories(root / ".hidden");
  fs::copy_file(kClip, root / "joram.mp3");
  const std::string excerpt = "-i '" + kClip + "' -t 8 ";
  ffmpeg(excerpt + "'" + (root / "album/a.ogg").string() + "'");
  ffmpeg(excerpt + "-c:a libopus '" + (root / "album/b.opus").string() + "'");
  ffmpeg(excerpt + "'" + (root / "album/c.flac").string() + "'");
  ffmpeg(excerpt + "-ar 44100 -ac 2 -map_metadata -1 '" + (root / "album/d.wav").string() + "'");  // no tags
  ffmpeg(excerpt + "-c:a aac '" + (root / "album/e.m4a").string() + "'");
  ffmpeg(excerpt + "-f flac '" + (root / "album/no_extension").string() + "'");
  ffmpeg("-i '" + kClip + "' -t 1 '" + (root / "one_second.wav").string() + "'");
  fs::copy_file(kClip, root / ".hidden/skipped.mp3");
  std::ofstream(root / "empty.mp3");
  std::ofstream(root / "text.mp3") << "not audio at all";
  std::ofstream(root / "notes.txt") << "ignored: not audio";
  write_tracker_module(root / "album/tune.mod");
  std::ofstream(root / "album/go.mod") << "module example.com/not/music\n";  // .mod, yet not audio: skipped
  fs::create_directory_symlink(root, root / "album/loop");  // a symlink loop: must not recurse forever
  std::ifstream clip(kClip, std::ios::binary);
  std::vector<char> head(40000);
  clip.read(head.data(), head.size());
  std::ofstream(root / "truncated.mp3", std::ios::binary).write(head.data(), head.size());
  ASSERT_EQ(mkfifo((root / "album/fifo.mp3").c_str(), 0600), 0);
  fs::create_symlink("../joram.mp3", root / "album/same_as_joram.mp3");
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
  EXPECT_NE(run.out.find("analysed 10,"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("failed 2"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find((dir.path / "music/empty.mp3").string() + ": empty file (0 bytes)"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find((dir.path / "music/text.mp3").string() + ": not an audio file"), std::string::npos) << run.out;
  EXPECT_EQ(count_tracks(db, TrackStatus::ok), 10);
  EXPECT_EQ(count_tracks(db, TrackStatus::failed), 2);

  Store store = open_store(db.string(), OpenMode::read_only);
  for (const Track& track : list_tracks(store)) {
    EXPECT_EQ(track.file.path.find("/.hidden/"), std::string::npos) << "hidden files are skipped";
    if (track.status != TrackStatus::ok) continue;
    EXPECT_GE(track.segment_count, 1) << track.file.path;
    const std::string& path = track.file.path;
    if (path.ends_with("one_second.wav")) {
      EXPECT_EQ(track.segment_count, 1) << "short tracks get one repeated segment";
      EXPECT_NEAR(track.duration_s, 1.0, 0.01);
    }
    if (path.ends_with("/a.ogg")) {
      EXPECT_EQ(track.segment_count, 2) << "8 s = two 2.992 s segments";
      EXPECT_NEAR(track.duration_s, 8.0, 0.01) << "the decoded duration";
      EXPECT_EQ(track.metadata.title, "solipsism (EXCERPT)") << "Vorbis comment copied by ffmpeg";
    }
    if (path.ends_with("no_extension")) EXPECT_EQ(track.segment_count, 2) << "found by content";
    if (path.ends_with("tune.mod")) EXPECT_EQ(track.segment_count, 2) << "7.68 s tracker module";
    EXPECT_FALSE(path.ends_with("go.mod")) << "a Go module file is not music";
    if (path.ends_with("/d.wav")) EXPECT_EQ(track.metadata.title, "d") << "no tags: the file name's stem";
    if (path.ends_with("/joram.mp3")) {
      EXPECT_EQ(track.segment_count, 9);
      EXPECT_EQ(track.metadata.title, "solipsism (EXCERPT)") << "TagLib title";
      EXPECT_EQ(track.metadata.artist, "Joram");
      EXPECT_EQ(track.metadata.album, "Moments of Clarity");
    }
    EXPECT_EQ(path.find("same_as_joram"), std::string::npos) << "a file reached twice is analysed once";
    EXPECT_EQ(path.find("/loop/"), std::string::npos) << "symlink loops are cut";
  }
  const auto taggrams = find_space(store, "msd-musicnn-1/taggrams");
  ASSERT_TRUE(taggrams);
  EXPECT_EQ(taggrams->dims, 50);
  EXPECT_EQ(taggrams->dim_names.front(), "rock");
  EXPECT_EQ(find_space(store, "msd-musicnn-1/embeddings")->dims, 200);
  EXPECT_TRUE(check_integrity(store).empty());
}

TEST(AnalyzeCli, IncrementalRunsSkipTouchUpdateRemoveRestoreAndAddSpaces) {
  TempDir dir("analyze_incremental");
  const fs::path music = dir.path / "music";
  fs::create_directories(music);
  fs::copy_file(kClip, music / "joram.mp3");
  ffmpeg("-i '" + kClip + "' -t 8 '" + (music / "short.flac").string() + "'");
  ffmpeg("-i '" + kClip + "' -t 8 '" + (music / "gone.ogg").string() + "'");
  ffmpeg("-i '" + kClip + "' -t 8 -f ogg '" + (music / "no_extension").string() + "'");
  const fs::path db = dir.path / "c.tagscape";
  ASSERT_EQ(run_command(analyze(db, music)).status, 0);

  const CommandResult again = run_command(analyze(db, music));
  EXPECT_EQ(again.status, 0);
  EXPECT_NE(again.out.find("analysed 0, completed 0, restored 0, unchanged 4"), std::string::npos) << again.out;
  EXPECT_EQ(again.err.find("GFLOP"), std::string::npos) << "nothing to analyse: no model runs\n" << again.err;

  const std::string touched = (music / "short.flac").string();
  const auto vectors_of_touched = [&] {
    Store store = open_store(db.string(), OpenMode::read_only);
    return read_track_vectors(store, lookup_track(store, touched)->track_id, find_space(store, "msd-musicnn-1/embeddings")->id).values;
  };
  const std::vector<float> before_touch = vectors_of_touched();
  fs::last_write_time(touched, fs::file_time_type::clock::now() + std::chrono::seconds(5));  // touched, same bytes
  std::ofstream(music / "joram.mp3", std::ios::app | std::ios::binary) << std::string(417, '\0');  // changed
  fs::rename(music / "gone.ogg", dir.path / "gone.ogg");  // keeps bytes and mtime, to come back later
  const CommandResult changed = run_command(analyze(db, music));
  EXPECT_NE(changed.out.find("analysed 1, completed 0, restored 0, unchanged 2, removed 1"), std::string::npos) << changed.out;
  EXPECT_EQ(count_tracks(db, TrackStatus::removed), 1);
  {
    Store store = open_store(db.string(), OpenMode::read_only);
    struct stat info {};
    ASSERT_EQ(stat(touched.c_str(), &info), 0);
    EXPECT_EQ(lookup_track(store, touched)->mtime_ns, info.st_mtim.tv_sec * 1000000000LL + info.st_mtim.tv_nsec)
        << "the new mtime is stored, so the next run does not hash the file again";
  }
  EXPECT_EQ(vectors_of_touched(), before_touch) << "a touched file keeps its vectors bit for bit";

  const CommandResult text = run_command(std::string(TAGSCAPE_BINARY) + " info --db '" + db.string() + "'");
  EXPECT_NE(text.out.find("3 analysed, 0 failed, 1 removed"), std::string::npos) << text.out;
  fs::rename(dir.path / "gone.ogg", music / "gone.ogg");
  const CommandResult back = run_command(analyze(db, music));
  EXPECT_NE(back.out.find("analysed 0, completed 0, restored 1, unchanged 3, removed 0"), std::string::npos) << back.out;
  EXPECT_EQ(back.err.find("GFLOP"), std::string::npos) << "an unchanged file that comes back is not re-analysed";

  const CommandResult moods = run_command(analyze(db, music, "--models moods"));
  EXPECT_NE(moods.out.find("analysed 0, completed 4"), std::string::npos) << moods.out << moods.err;
  Store store = open_store(db.string(), OpenMode::read_only);
  const auto space = find_space(store, "moods");
  ASSERT_TRUE(space);
  EXPECT_EQ(space->dim_names, (std::vector<std::string>{"happy", "sad", "relaxed", "aggressive", "danceable"}));
  const SpaceMatrix matrix = read_space(store, space->id);
  EXPECT_EQ(matrix.track_ids.size(), 4u);
  for (float value : matrix.values) EXPECT_TRUE(value >= 0 && value <= 1) << "probabilities";

  const CommandResult info = run_command(std::string(TAGSCAPE_BINARY) + " info --json --db '" + db.string() + "'");
  ASSERT_EQ(info.status, 0) << info.err;
  const auto summary = nlohmann::json::parse(info.out);
  EXPECT_EQ(summary["tracks"]["ok"], 4);
  EXPECT_EQ(summary["tracks"]["removed"], 0);
  EXPECT_EQ(summary["spaces"].size(), 3u);
  const CommandResult missing = run_command(std::string(TAGSCAPE_BINARY) + " info --db /no/such.tagscape");
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.err.find("/no/such.tagscape: no such collection file"), std::string::npos) << missing.err;
}

// A file replaced by other content of the same size with the same mtime (cp -p of a
// same-sized file) looks unchanged; when a later run adds a space and the decoder cuts
// a different number of segments, the old vectors cannot be completed: full re-analysis.
TEST(AnalyzeCli, CompletingAFileThatNowCutsDifferentlyReanalysesIt) {
  TempDir dir("analyze_recut");
  const fs::path music = dir.path / "music";
  fs::create_directories(music);
  const fs::path song = music / "song.mp3", longer = dir.path / "longer.mp3";
  ffmpeg("-i '" + kClip + "' -t 8 -b:a 64k '" + song.string() + "'");
  ffmpeg("-i '" + kClip + "' -t 15 -b:a 32k '" + longer.string() + "'");
  ASSERT_LT(fs::file_size(longer), fs::file_size(song));
  const fs::path db = dir.path / "c.tagscape";
  ASSERT_EQ(run_command(analyze(db, music)).status, 0);
  const auto mtime = fs::last_write_time(song);
  const auto size = fs::file_size(song);
  fs::copy_file(longer, song, fs::copy_options::overwrite_existing);
  fs::resize_file(song, size);  // zero padding after the last frame
  fs::last_write_time(song, mtime);

  const CommandResult moods = run_command(analyze(db, music, "--models msd-musicnn-1,moods"));
  EXPECT_EQ(moods.status, 0) << moods.out << moods.err;
  EXPECT_NE(moods.out.find("analysed 1, completed 0"), std::string::npos) << moods.out;
  Store store = open_store(db.string(), OpenMode::read_only);
  const TrackState state = *lookup_track(store, song.string());
  EXPECT_EQ(state.segment_count, 5) << "15 s: five 2.992 s segments";
  for (const std::string name : {"msd-musicnn-1/taggrams", "moods"})
    EXPECT_EQ(read_track_vectors(store, state.track_id, find_space(store, name)->id).segments, 5) << name;
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
    EXPECT_EQ(stored.values, predicted.data) << kind << ": the same batches of the same patches, bit for bit";
  }
}

// Starts `tagscape analyze` as a child process, stdout and stderr to `output`.
pid_t spawn_analyze(const fs::path& db, const fs::path& music, const fs::path& output = "/dev/null") {
  const pid_t child = fork();
  if (child == 0) {
    freopen(output.c_str(), "w", stdout);
    dup2(fileno(stdout), fileno(stderr));
    execl(TAGSCAPE_BINARY, TAGSCAPE_BINARY, "analyze", "--db", db.c_str(), music.c_str(), nullptr);
    _exit(127);
  }
  return child;
}

// Waits until `commits` tracks are in the store (at most 60 s).
void wait_for_commits(const fs::path& db, int commits) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (commits > 0 && std::chrono::steady_clock::now() < deadline) {
    try {
      if (count_tracks(db, TrackStatus::ok) >= commits) return;
    } catch (const std::exception&) {  // not created yet
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

// Starts analyze in the background, kills it with SIGKILL once `commits` tracks are in
// the store (0: after `delay`), and returns when it is dead.
void run_and_kill(const fs::path& db, const fs::path& music, int commits, std::chrono::milliseconds delay) {
  const pid_t child = spawn_analyze(db, music);
  std::this_thread::sleep_for(delay);
  wait_for_commits(db, commits);
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
}

// Six 29 s mp3s, each with other content (volume), as the crash and interrupt tests use.
void make_six_tracks(const fs::path& music) {
  fs::create_directories(music);
  for (int k = 0; k < 6; ++k)
    ffmpeg("-i '" + kClip + "' -af volume=" + std::to_string(0.5 + 0.1 * k) + " '" + (music / ("t" + std::to_string(k) + ".mp3")).string() + "'");
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

TEST(AnalyzeCrash, SigkillAtAnyPointThenResumeGivesTheUninterruptedResult) {
  TempDir dir("analyze_crash");
  const fs::path music = dir.path / "music";
  make_six_tracks(music);
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

TEST(AnalyzeCli, SigintStopsAfterTheCurrentCommitWithASummaryAndTheRerunContinues) {
  TempDir dir("analyze_sigint");
  const fs::path music = dir.path / "music";
  make_six_tracks(music);
  const fs::path db = dir.path / "c.tagscape";
  const fs::path output = dir.path / "out.txt";
  const pid_t child = spawn_analyze(db, music, output);
  wait_for_commits(db, 1);
  kill(child, SIGINT);
  int status = 0;
  waitpid(child, &status, 0);
  const std::string text = read_text(output);
  ASSERT_TRUE(WIFEXITED(status)) << "SIGINT must end the run cleanly, not kill it\n" << text;
  EXPECT_EQ(WEXITSTATUS(status), 130) << text;
  const int64_t committed = count_tracks(db, TrackStatus::ok);
  EXPECT_GE(committed, 1);
  EXPECT_LT(committed, 6) << "the interrupt came too late to test anything\n" << text;
  EXPECT_NE(text.find("interrupted: analysed " + std::to_string(committed) + ","), std::string::npos) << text;
  EXPECT_NE(text.find(std::to_string(6 - committed) + " files left"), std::string::npos) << text;
  Store store = open_store(db.string(), OpenMode::read_only);
  EXPECT_TRUE(check_integrity(store).empty());
  EXPECT_EQ(list_tracks(store).size(), static_cast<size_t>(committed)) << "nothing half-written";

  const CommandResult rerun = run_command(analyze(db, music));
  EXPECT_EQ(rerun.status, 0) << rerun.err;
  EXPECT_NE(rerun.out.find("done: analysed " + std::to_string(6 - committed) + ", completed 0, restored 0, unchanged " +
                           std::to_string(committed)),
            std::string::npos)
      << rerun.out;
}

// find_audio_files on its own: what is listed, in which order, under which path.
TEST(AnalyzeDiscovery, RealPathsFirstLoopsCutNonRegularAndHiddenSkipped) {
  TempDir dir("analyze_discovery");
  const fs::path root = dir.path / "root";
  fs::create_directories(root / "a");
  fs::create_directories(root / "b/.git");
  fs::create_directories(dir.path / "outside");
  fs::copy_file(kClip, root / "b/real.mp3");
  fs::copy_file(kClip, root / "b/.git/hidden.mp3");
  fs::copy_file(kClip, root / ".hidden.mp3");
  fs::copy_file(kClip, dir.path / "outside/linked_in.mp3");
  fs::create_symlink("../b/real.mp3", root / "a/a_link_to_real.mp3");  // sorts first, yet the real path wins
  fs::create_directory_symlink("..", root / "a/loop");
  fs::create_directory_symlink("../../outside", root / "a/outside");
  fs::create_symlink("nowhere.mp3", root / "a/broken.mp3");
  ASSERT_EQ(mkfifo((root / "a/fifo.mp3").c_str(), 0600), 0);
  std::ofstream(root / "a/readme.txt") << "not audio";
  std::ofstream(root / "a/data") << "no extension, not audio";
  fs::copy_file(root / "a/data", root / "a/known");
  write_tracker_module(root / "b/tune");  // no extension: by content
  std::ofstream(root / "b/go.mod") << "module example.com/x\n";
  std::ofstream(root / "b/tutor.it") << "Benvenuto nel tutor di Vim\n";
  std::vector<std::string> warnings;
  const auto files = find_audio_files({root.string(), root.string() + "/b"}, warnings,
                                      [&](const std::string& path) { return path == (root / "a/known").string(); });
  EXPECT_EQ(files, (std::vector<std::string>{(root / "a/known").string(), (root / "a/outside/linked_in.mp3").string(),
                                             (root / "b/real.mp3").string(), (root / "b/tune").string()}));
  EXPECT_TRUE(warnings.empty());
  EXPECT_THROW(find_audio_files({(dir.path / "missing").string()}, warnings), Error);
  find_audio_files({(root / "a/readme.txt").string()}, warnings);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("readme.txt: not an audio file, skipped"), std::string::npos) << warnings[0];
}

TEST(AnalyzeModels, SelectionExpandsAliasesAndDropsDuplicates) {
  EXPECT_EQ(expand_model_selection("msd-musicnn-1"), (std::vector<std::string>{"msd-musicnn-1"}));
  EXPECT_EQ(expand_model_selection("moods, paper"),
            (std::vector<std::string>{"moods", "msd-musicnn-1", "mtt-musicnn-1", "msd-vgg-1", "mtt-vgg-1"}));
  EXPECT_EQ(expand_model_selection("all").size(), 5u);
  EXPECT_EQ(expand_model_selection("msd-vgg-1,msd-vgg-1"), (std::vector<std::string>{"msd-vgg-1"}));
  EXPECT_THROW(expand_model_selection("msd-musicnn-2"), Error);
  EXPECT_THROW(expand_model_selection(""), Error);
}

TEST(AnalyzeCli, UsageErrors) {
  EXPECT_EQ(run_command(std::string(TAGSCAPE_BINARY) + " analyze").status, 2);
  const CommandResult bad_model = run_command(std::string(TAGSCAPE_BINARY) + " analyze --models nope /tmp");
  EXPECT_EQ(bad_model.status, 2) << "a bad --models list is a usage error";
  EXPECT_NE(bad_model.err.find("unknown entry 'nope'"), std::string::npos) << bad_model.err;
  const CommandResult missing = run_command(std::string(TAGSCAPE_BINARY) + " analyze --db /tmp/x.tagscape /no/such/folder");
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.err.find("/no/such/folder: no such file or directory"), std::string::npos) << missing.err;
}

}  // namespace
