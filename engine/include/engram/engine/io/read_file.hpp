#pragma once
// Whole-file reads with their size known before the first byte: every config and data file
// (YAML, NPZ, IDX, CSV) comes in through here, so a device (/dev/zero), a FIFO or a folder is
// refused at once instead of read until memory runs out, and a file larger than its limit is
// refused naming the file, its size and the limit.
//
//   std::string text = engram::io::read_file("config", path, engram::io::kConfigFileLimit);
#include <cstdint>
#include <string>

namespace engram::io {

// Configs are text a person writes: 64 MiB is far beyond any real one.
inline constexpr std::uint64_t kConfigFileLimit = std::uint64_t{64} << 20;

// Data files are held in memory whole (and converted): at most the memory available now.
std::uint64_t data_file_limit();

// The bytes of the regular file `path`; `field` names it in errors (the config key or "config").
std::string read_file(const std::string& field, const std::string& path, std::uint64_t limit);

}  // namespace engram::io
