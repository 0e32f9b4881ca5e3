#pragma once
// OutputLock: claims an output folder before any work starts. It creates the folder (an --out
// under a file, on a read-only file system or in /proc fails here, not after hours of compute)
// and takes an exclusive advisory lock (flock) on a lock file inside it, so a second engram
// process aiming at the same results is refused at once instead of interleaving its rows. The
// kernel drops the lock when the process dies, so a killed run never leaves the folder locked.
// If the run fails before commit() and the lock created the folder, the folder goes again:
// a refused run leaves --out as it found it.
//
//   engram::io::OutputLock lock(out, ".engram.lock", "--out");  // throws bad_input if held
//   ... write results ...
//   lock.commit();   // keep the folder (the lock itself lasts until destruction)
#include <filesystem>
#include <string>

namespace engram::io {

class OutputLock {
 public:
  // exclusive: the folder is this run's alone (refused if anyone holds the lock). shared: runs
  // that cooperate (shards of one sweep) hold it together, and an exclusive holder refuses them.
  // wait: exclusive, but waits for the holder (short critical sections such as the manifest).
  enum class Mode { exclusive, shared, wait };
  // `option` names the folder in errors ("--out", "out", "out_dir").
  OutputLock(std::filesystem::path dir, const std::string& lock_name, const std::string& option,
             Mode mode = Mode::exclusive);
  OutputLock(const OutputLock&) = delete;
  OutputLock& operator=(const OutputLock&) = delete;
  ~OutputLock();

  // The run got as far as writing results: the folder stays even if the run fails later.
  void commit() { created_dir_ = false; }
  // Drops the lock now (the folder stays as it is).
  void release();

 private:
  std::filesystem::path dir_, lock_path_;
  int fd_ = -1;
  bool created_dir_ = false;
};

}  // namespace engram::io
