// FreeSpaceWatch: stops a ledger's appends for good once its data directory is removed or moved
// (what they would write would go with it), and pauses them while the file system holding its
// data has fewer
// free bytes than a floor, and resumes them once it has had at least that many at
// kResumeChecks checks in a row (so that a disk about the floor does not flap), so a disk
// that fills refuses appends cleanly (RESOURCE_EXHAUSTED, and back by itself when space is
// freed) before a write fails and stops the ledger until a restart (README, "When storage
// fails").
//
// Checks once when constructed, so a daemon started on a full disk refuses its first append,
// then every `interval` on a thread of its own; between checks an append may use up to what
// the disk takes in one interval, which the floor must leave room for. Thread-safe.
#ifndef GOVLEDGER_LEDGER_SERVER_FREE_SPACE_WATCH_H_
#define GOVLEDGER_LEDGER_SERVER_FREE_SPACE_WATCH_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "ledger/ledger.h"

namespace govledger {

class FreeSpaceWatch {
 public:
  // The bytes free to this process on the file system holding a path, or why not known:
  // NOT_FOUND when the path is gone, RESOURCE_EXHAUSTED when its file system has almost no
  // files (inodes) free, which pauses appends as too few bytes do.
  using FreeBytes = std::function<absl::StatusOr<uint64_t>()>;
  // FreeBytes of the file system holding `path` (statvfs: available blocks times their size);
  // NOT_FOUND once `path` is no longer the directory it was when Of was called, with what to
  // do (errors::CarriesItsOwnAdvice): moved elsewhere (renamed: it is still linked, and where is
  // said), its files are whole there, and the fix is to stop and move it back; removed (or
  // replaced by another), its files are no longer on disk, so unlike other storage failures a
  // stop would lose what was appended since the last backup.
  static FreeBytes Of(std::string path);
  // Paused appends resume once the floor is free at this many checks in a row.
  static constexpr int kResumeChecks = 10;

  // Watches `free_bytes` against `min_free_bytes` for `ledger`, which must outlive the watch
  // (0: no floor, never a pause: only the directory is watched, as below); `path` names the place
  // in the messages. `on_change` (may be empty) is told, from the checking thread, a line for the
  // daemon's log each time appends are paused or resumed. A check that finds the path gone
  // (NOT_FOUND) stops the ledger's appends for good (Ledger::StopAppends): what it would write goes
  // with the directory. A check that cannot read the free space otherwise changes nothing.
  FreeSpaceWatch(Ledger* ledger, std::string path, uint64_t min_free_bytes,
                 FreeBytes free_bytes, std::chrono::milliseconds interval,
                 std::function<void(const std::string&)> on_change);
  // Stops the checks; the ledger stays as the last check left it.
  ~FreeSpaceWatch();

  FreeSpaceWatch(const FreeSpaceWatch&) = delete;
  FreeSpaceWatch& operator=(const FreeSpaceWatch&) = delete;

 private:
  void Check();

  Ledger* const ledger_;
  const std::string path_;
  const uint64_t min_free_bytes_;
  const FreeBytes free_bytes_;
  const std::chrono::milliseconds interval_;
  const std::function<void(const std::string&)> on_change_;
  // kResumeChecks intervals, in whole seconds (at least 1), for the messages.
  int64_t ResumeSeconds() const;

  bool paused_ = false;  // what the last check did; checking thread only (and the constructor)
  int free_checks_ = 0;  // checks in a row that found the floor free; as paused_

  std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace govledger

#endif  // GOVLEDGER_LEDGER_SERVER_FREE_SPACE_WATCH_H_
