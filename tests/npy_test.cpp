#include "common/npy.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/error.h"

using namespace tagscape;

TEST(Npy, RoundTripsShapeAndValues) {
  const auto path = std::filesystem::temp_directory_path() / "tagscape_npy_roundtrip.npy";
  const std::vector<float> values = {1.5f, -2.f, 3.25f, 0.f, 7.f, 8.f};
  write_npy(path, {2, 3}, values.data());
  const NpyArray array = read_npy(path);
  EXPECT_EQ(array.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(array.data, values);
  std::filesystem::remove(path);
}

TEST(Npy, ReadsReferenceArray) {
  const NpyArray mel = read_npy(TAGSCAPE_SHARED_DIR "/reference/joram/mel_musicnn.npy");
  EXPECT_EQ(mel.shape, (std::vector<int64_t>{1822, 96}));
}

TEST(Npy, RejectsNonNpyWithFileName) {
  const auto path = std::filesystem::temp_directory_path() / "tagscape_not_npy.npy";
  std::ofstream(path) << "hello world, not an array";
  try {
    read_npy(path);
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("tagscape_not_npy.npy: not a .npy file"), std::string::npos) << error.what();
  }
  std::filesystem::remove(path);
}
