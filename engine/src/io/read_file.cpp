#include "engram/engine/io/read_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "engram/engine/error.hpp"
#include "engram/engine/scheduler/sweep.hpp"

namespace engram::io {

std::uint64_t data_file_limit() { return sched::available_memory(); }

std::string read_file(const std::string& field, const std::string& path, std::uint64_t limit) {
  // O_NONBLOCK: opening a FIFO with no writer must not hang before fstat can refuse it.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) throw Error::bad_input(field, path, std::string("cannot be opened for reading: ") + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat info {};
  if (::fstat(fd, &info) != 0) throw Error::bad_input(field, path, std::string("cannot be examined: ") + std::strerror(errno));
  if (!S_ISREG(info.st_mode)) {
    throw Error::bad_input(field, path, S_ISDIR(info.st_mode) ? "is a folder, not a file" : "is not a regular file (a device, FIFO or socket)");
  }
  const auto size = static_cast<std::uint64_t>(info.st_size);
  if (size > limit) {
    throw Error::bad_input(field, path, "is " + std::to_string(size) + " bytes, more than the limit of " + std::to_string(limit) +
                                            " bytes");
  }
  std::string bytes(static_cast<std::size_t>(size), '\0');
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error::bad_input(field, path, std::string("cannot be read: ") + std::strerror(errno));
    if (n == 0) break;  // shrank while being read: take what is there
    done += static_cast<std::size_t>(n);
  }
  bytes.resize(done);
  return bytes;
}

}  // namespace engram::io
