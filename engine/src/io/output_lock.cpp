#include "engram/engine/io/output_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "engram/engine/error.hpp"

namespace engram::io {

namespace fs = std::filesystem;

OutputLock::OutputLock(fs::path dir, const std::string& lock_name, const std::string& option, Mode mode)
    : dir_(std::move(dir)), lock_path_(dir_ / lock_name) {
  std::error_code error;
  const bool existed = fs::exists(dir_, error);
  if (existed && !fs::is_directory(dir_, error)) throw Error::bad_input(option, dir_.string(), "exists and is not a directory");
  if (!existed) {
    fs::create_directories(dir_, error);
    if (error) throw Error::bad_input(option, dir_.string(), "cannot be created: " + error.message());
    created_dir_ = true;
  }
  fd_ = ::open(lock_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    const std::string why = std::strerror(errno);
    release();
    throw Error::bad_input(option, dir_.string(), "cannot be written (creating " + lock_path_.filename().string() + ": " + why + ")");
  }
  const int operation = mode == Mode::shared ? LOCK_SH | LOCK_NB : mode == Mode::wait ? LOCK_EX : LOCK_EX | LOCK_NB;
  int locked = 0;
  while ((locked = ::flock(fd_, operation)) != 0 && errno == EINTR) {
  }
  if (locked != 0) {
    const int code = errno;
    char holder[32] = {0};
    (void)::pread(fd_, holder, sizeof holder - 1, 0);
    ::close(fd_);
    fd_ = -1;
    if (code == EWOULDBLOCK) {
      std::string pid(holder);
      while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
      throw Error::bad_input(option, dir_.string(),
                             "is in use by another engram run" + (pid.empty() ? std::string() : " (pid " + pid + ")") +
                                 "; wait for it to finish or choose another directory");
    }
    throw Error::bad_input(option, dir_.string(), std::string("cannot be locked: ") + std::strerror(code));
  }
  // The holder's pid, for the message a refused process prints (advice only: flock is the lock).
  if (mode == Mode::shared) return;
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) == 0) (void)!::pwrite(fd_, pid.data(), pid.size(), 0);
}

void OutputLock::release() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (created_dir_) {
    // This run made the folder and failed before writing results: take away its lock files
    // (this one and any taken after it) and the folder, if that leaves it empty.
    std::error_code ignored;
    for (const auto& entry : fs::directory_iterator(dir_, ignored)) {
      const std::string name = entry.path().filename().string();
      if (name.size() > 6 && name.front() == '.' && name.compare(name.size() - 5, 5, ".lock") == 0) fs::remove(entry.path(), ignored);
    }
    fs::remove(dir_, ignored);  // only if empty
    created_dir_ = false;
  }
}

OutputLock::~OutputLock() { release(); }

}  // namespace engram::io
