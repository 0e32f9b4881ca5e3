#include "engram/engine/io/data_dir.hpp"

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <system_error>
#include <vector>

#include "engram/engine/error.hpp"

namespace engram::io {

namespace {

std::mutex registered_mutex;
std::string& registered() {
  static std::string dir;
  return dir;
}

// share/engram/data under the running executable's folder and its parents.
std::vector<std::string> beside_executable() {
  std::vector<std::string> out;
  std::error_code error;
  std::filesystem::path dir = std::filesystem::read_symlink("/proc/self/exe", error).parent_path();
  if (error) return out;
  for (int up = 0; up < 4 && !dir.empty(); ++up) {
    out.push_back((dir / "share" / "engram" / "data").string());
    if (dir == dir.parent_path()) break;
    dir = dir.parent_path();
  }
  return out;
}

}  // namespace

void set_bundled_data_dir(const std::string& dir) {
  const std::lock_guard<std::mutex> lock(registered_mutex);
  registered() = dir;
}

std::string bundled_data_dir(const std::string& probe) {
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("ENGRAM_DATA_DIR"); env != nullptr && *env != '\0') {
    // An explicit choice is final: a wrong one is reported rather than silently passed over.
    if (!std::filesystem::exists(std::filesystem::path(env) / probe)) {
      throw Error::bad_input("ENGRAM_DATA_DIR", env, "holds no " + probe + " (unset it to use the bundled data)");
    }
    return env;
  }
  {
    const std::lock_guard<std::mutex> lock(registered_mutex);
    if (!registered().empty()) candidates.push_back(registered());
  }
  for (std::string& dir : beside_executable()) candidates.push_back(std::move(dir));
  std::string searched;
  for (const std::string& dir : candidates) {
    std::error_code error;
    if (std::filesystem::exists(std::filesystem::path(dir) / probe, error)) return dir;
    searched += (searched.empty() ? "" : ", ") + dir;
  }
  throw Error::unavailable("engram's bundled data (" + probe + ") was not found in " +
                           (searched.empty() ? std::string("any known place") : searched) +
                           "; set ENGRAM_DATA_DIR to the folder holding it (the source tree's data/)");
}

}  // namespace engram::io
