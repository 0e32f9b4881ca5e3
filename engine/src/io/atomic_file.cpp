#include "engram/engine/io/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <system_error>

#include "engram/engine/error.hpp"

namespace engram::io {

namespace {
void fsync_path(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}
}  // namespace

AtomicFile::AtomicFile(std::filesystem::path destination) : destination_(std::move(destination)) {
  // Built by appending: GCC 12 warns falsely (-Wrestrict) on chained operator+ here.
  std::string name(1, '.');
  name.append(destination_.filename().string()).append(1, '.');
  name.append(std::to_string(::getpid())).append(".tmp");
  temporary_ = destination_.parent_path() / name;
  out_.open(temporary_, std::ios::binary | std::ios::trunc);
  if (!out_) throw Error::bad_input("output", destination_.string(), "cannot be created for writing");
}

AtomicFile::~AtomicFile() {
  if (!committed_) {
    out_.close();
    std::error_code ignored;
    std::filesystem::remove(temporary_, ignored);
  }
}

void AtomicFile::commit() {
  out_.flush();
  if (!out_) throw Error::internal("writing " + temporary_.string() + " failed");
  out_.close();
  fsync_path(temporary_);
  std::error_code error;
  std::filesystem::rename(temporary_, destination_, error);
  if (error) throw Error::internal("renaming " + temporary_.string() + " failed: " + error.message());
  fsync_path(destination_.parent_path().empty() ? "." : destination_.parent_path());
  committed_ = true;
}

}  // namespace engram::io
