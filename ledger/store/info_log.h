// RocksDB's info log (the data directory's LOG: flushes, compactions, RocksDB's statistics),
// written by govledger instead of by RocksDB.
//
// RocksDB's own logger stops the process on the write after one that failed (an assertion
// that Debian's librocksdb keeps), so a full disk, which fails a LOG write sooner or later,
// would kill the daemon. This one drops a line it cannot write and goes on: logging never
// fails, blocks on a retry or stops the process, and the events' own files report their
// failures through the store as before.
#ifndef GOVLEDGER_LEDGER_STORE_INFO_LOG_H_
#define GOVLEDGER_LEDGER_STORE_INFO_LOG_H_

#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "rocksdb/env.h"

namespace govledger {

class InfoLog final : public rocksdb::Logger {
 public:
  // Appends to DIR/LOG, carrying on an earlier run's (so that a start that fails, again and
  // again, does not push out the lines of the run that saw why). Once it reaches `max_bytes`
  // it is renamed LOG.old.<microseconds since the epoch> and a new one begun, and old ones
  // beyond the newest `keep - 1` are deleted: the log takes at most about keep * max_bytes.
  // Lines are "YYYY/MM/DD-HH:MM:SS.micros (UTC) thread-id message"; the first line dropped
  // after one written is also said on stderr. REQUIRES: `dir` exists; max_bytes > 0; keep >= 1.
  //
  // Lines are held in memory, and the file not touched, until Keep() or Discard(): RocksDB
  // logs its options before it takes the database's lock, and a second daemon started on a
  // running one's directory must not write into (or roll) the running one's LOG.
  InfoLog(std::string dir, size_t max_bytes, size_t keep);
  ~InfoLog() override;

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override;

  // Writes the lines held so far, and every later one, to the file.
  void Keep();
  // Drops the lines held so far and every later one: the database was not opened here.
  void Discard();

  // Lines dropped because they could not be written.
  uint64_t dropped() const;

 private:
  rocksdb::Status CloseImpl() override;
  // Renames LOG to LOG.old.<time>, deletes the surplus old ones and opens a new LOG.
  // REQUIRES: mu_ held.
  void Roll();
  void Write(const std::string& line);  // REQUIRES: mu_ held; not holding
  void OpenFile();  // REQUIRES: mu_ held; on failure fd_ stays -1 and the next line retries

  const std::string dir_;
  const std::string path_;
  const size_t max_bytes_;
  const size_t keep_;
  mutable std::mutex mu_;
  int fd_ = -1;           // guarded by mu_
  size_t size_ = 0;       // bytes in the current LOG; guarded by mu_
  uint64_t dropped_ = 0;  // guarded by mu_
  bool shut_ = false;     // closed: later lines are dropped; guarded by mu_
  bool holding_ = true;   // before Keep(): lines go to held_; guarded by mu_
  std::vector<std::string> held_;  // lines; guarded by mu_
  bool failing_ = false;  // the last line was dropped (said once on stderr); guarded by mu_
};

}  // namespace govledger

#endif  // GOVLEDGER_LEDGER_STORE_INFO_LOG_H_
