// tests/run_command.h — run a shell command from a test and capture what it printed.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace tagscape::testing {

struct CommandResult {
  int status;  // exit status; -1 if killed by a signal
  std::string out, err;
};

// Runs `command` with /bin/sh; stdout through a pipe, stderr through a file private
// to this process (ctest runs test cases in parallel processes).
inline CommandResult run_command(const std::string& command) {
  namespace fs = std::filesystem;
  const fs::path err_file = fs::temp_directory_path() / ("tagscape_test_stderr_" + std::to_string(getpid()));
  FILE* pipe = popen((command + " 2>" + err_file.string()).c_str(), "r");
  std::string out;
  std::array<char, 4096> buffer;
  while (size_t n = fread(buffer.data(), 1, buffer.size(), pipe)) out.append(buffer.data(), n);
  const int status = pclose(pipe);
  std::ifstream err_in(err_file);
  std::string err((std::istreambuf_iterator<char>(err_in)), {});
  fs::remove(err_file);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out, err};
}

}  // namespace tagscape::testing
