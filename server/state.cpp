#include <filesystem>

#include "server/server_state.h"

namespace tagscape::server {

namespace {
constexpr auto kTrackIndexMinRefresh = std::chrono::seconds(1);  // reload on a miss at most this often
}  // namespace

std::shared_ptr<const TrackIndex> load_track_index(Store& store) {
  auto index = std::make_shared<TrackIndex>();
  for (Track& track : list_tracks(store))
    if (track.status == TrackStatus::ok) index->ok_tracks.emplace(track.id, std::move(track));
  index->loaded_at = Clock::now();
  return index;
}

std::shared_ptr<const TrackIndex> track_index(Server& server, Store& store, bool force,
                                              std::optional<int64_t> missing_id) {
  std::lock_guard lock(server.tracks.mutex);
  auto& current = server.tracks.current;
  const bool stale_miss = missing_id && current && !current->ok_tracks.count(*missing_id) &&
                          Clock::now() - current->loaded_at > kTrackIndexMinRefresh;
  if (!current || force || stale_miss) current = load_track_index(store);
  return current;
}

Track find_track(Server& server, Store& store, int64_t id) {
  auto index = track_index(server, store, false, id);
  auto found = index->ok_tracks.find(id);
  if (found == index->ok_tracks.end())
    throw RequestError(404, "no analysed track with id " + std::to_string(id) + " (see /api/tracks)");
  return found->second;
}

Space find_space_or_404(Store& store, const std::optional<std::string>& name) {
  if (!name) throw RequestError(400, "space: required (a space name from /api/summary)");
  if (auto space = find_space(store, *name)) return *space;
  std::string names;
  for (const Space& s : list_spaces(store)) names += (names.empty() ? "" : ", ") + s.name;
  throw RequestError(404, "unknown space '" + name->substr(0, 100) + "' (available: " +
                              (names.empty() ? "none; run `tagscape analyze MUSIC_DIR`" : names) + ")");
}

int64_t id_from_path(const std::string& name, const std::string& text) {
  return parse_int(name, text, 0, INT32_MAX);
}

void send_json(httplib::Response& res, const json& body, int status) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

std::string base_name(const std::string& path) { return std::filesystem::path(path).filename().string(); }

json track_json(const Track& track) {
  return {{"id", track.id},
          {"title", track.metadata.title},
          {"artist", track.metadata.artist},
          {"album", track.metadata.album},
          {"genre", track.metadata.genre},
          {"year", track.metadata.year},
          {"track_number", track.metadata.track_number},
          {"duration_s", track.duration_s},
          {"segments", track.segment_count},
          {"file", base_name(track.file.path)}};
}

}  // namespace tagscape::server
