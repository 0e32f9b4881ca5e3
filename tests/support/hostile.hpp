#pragma once
// Building blocks for hostile inputs: .npy blobs and zip (NPZ) archives assembled byte by byte,
// with correct CRCs, so a test can break exactly one thing (a shape, an offset, a checksum) and
// see that thing reported. Used by the hostile corpus and the fuzz harness.
//
//   std::string archive = zip({{"x.npy", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }",
//                                            std::string(16, '\0'))}});
#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace engram::testing::hostile {

inline std::uint32_t crc32(const std::string& bytes) {
  static const std::array<std::uint32_t, 256> table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  std::uint32_t c = 0xFFFFFFFFu;
  for (const char b : bytes) c = table[(c ^ static_cast<unsigned char>(b)) & 0xFFu] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

inline void put(std::string& out, std::uint64_t value, int width) {
  for (int i = 0; i < width; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFFu));
}

// A version-1 .npy: magic, the header dict padded to a 64-byte boundary, then `data` as is.
inline std::string npy(std::string header, const std::string& data) {
  while ((10 + header.size() + 1) % 64 != 0) header.push_back(' ');
  header.push_back('\n');
  std::string out("\x93NUMPY\x01\x00", 8);
  put(out, header.size(), 2);
  return out + header + data;
}

using NpzEntry = std::pair<std::string, std::string>;  // (name in the zip, stored bytes)

// A zip of stored entries (method 0 unless told otherwise), as numpy.savez writes them.
inline std::string zip(const std::vector<NpzEntry>& entries, std::uint16_t method = 0) {
  std::string out, directory;
  for (const auto& [name, blob] : entries) {
    const std::uint32_t crc = crc32(blob);
    const std::size_t local = out.size();
    put(out, 0x04034b50u, 4);
    put(out, 20, 2);
    put(out, 0, 2);
    put(out, method, 2);
    put(out, 0, 4);
    put(out, crc, 4);
    put(out, blob.size(), 4);
    put(out, blob.size(), 4);
    put(out, name.size(), 2);
    put(out, 0, 2);
    out += name + blob;
    put(directory, 0x02014b50u, 4);
    put(directory, 20, 2);
    put(directory, 20, 2);
    put(directory, 0, 2);
    put(directory, method, 2);
    put(directory, 0, 4);
    put(directory, crc, 4);
    put(directory, blob.size(), 4);
    put(directory, blob.size(), 4);
    put(directory, name.size(), 2);
    put(directory, 0, 2);
    put(directory, 0, 2);
    put(directory, 0, 2);
    put(directory, 0, 2);
    put(directory, 0, 4);
    put(directory, local, 4);
    directory += name;
  }
  const std::size_t directory_at = out.size();
  out += directory;
  put(out, 0x06054b50u, 4);
  put(out, 0, 4);
  put(out, entries.size(), 2);
  put(out, entries.size(), 2);
  put(out, directory.size(), 4);
  put(out, directory_at, 4);
  put(out, 0, 2);
  return out;
}

}  // namespace engram::testing::hostile
