#pragma once
// AtomicFile: writes go to a hidden temporary beside the destination; commit() flushes, fsyncs
// and renames it into place. A run that fails or is killed leaves no half-written output — at
// worst a stray ".*.tmp" that the next commit to the same path replaces.
//
//   engram::io::AtomicFile csv("out/projection.csv");
//   csv.stream() << "step,overlap\n";
//   csv.commit();   // without this, the destructor deletes the temporary
#include <filesystem>
#include <fstream>
#include <string>

namespace engram::io {

class AtomicFile {
 public:
  explicit AtomicFile(std::filesystem::path destination);
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile();

  std::ostream& stream() { return out_; }
  void commit();

 private:
  std::filesystem::path destination_;
  std::filesystem::path temporary_;
  std::ofstream out_;
  bool committed_ = false;
};

}  // namespace engram::io
