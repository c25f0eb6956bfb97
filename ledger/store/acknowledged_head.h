// The data directory's record of the last head govledgerd acknowledged (DIR/ACKNOWLEDGED_HEAD),
// kept outside RocksDB's write-ahead log so that a log cut short by other means than a crash
// (truncated by hand, a failing copy, an older copy's files put in its place) is found at the
// next open instead of silently dropping acknowledged events. ledger/store/FORMAT.md,
// "Acknowledged head", has the file's format and the check.
#ifndef GOVLEDGER_LEDGER_STORE_ACKNOWLEDGED_HEAD_H_
#define GOVLEDGER_LEDGER_STORE_ACKNOWLEDGED_HEAD_H_

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ledger/store/event_store.h"

namespace govledger {

inline constexpr char kAcknowledgedHeadFile[] = "ACKNOWLEDGED_HEAD";

// The file's bytes for `head`: always the same length, so that a new record overwrites the old
// one in place.
std::string EncodeAcknowledgedHead(const ChainPoint& head);
// The head `bytes` record. DATA_LOSS saying what is wrong when they are not a record this
// version writes (damaged, or from a newer govledger).
absl::StatusOr<ChainPoint> DecodeAcknowledgedHead(absl::string_view bytes);

// The head recorded in `dir`'s file; nullopt when there is none. DATA_LOSS naming the file when
// it does not decode; FAILED_PRECONDITION "cannot read PATH: REASON" when it cannot be read.
absl::StatusOr<std::optional<ChainPoint>> ReadAcknowledgedHead(const std::string& dir);

// DATA_LOSS for `dir` holding the file (recording `acknowledged`) but no database (no CURRENT
// and none of a database's files): removed, not copied, or the wrong directory. Says what to
// do; removing the file would start a new, empty ledger there.
absl::Status AcknowledgedWithoutDatabase(const std::string& dir, const ChainPoint& acknowledged);

// Checks the head recorded in `dir`'s file (`acknowledged`) against the database: OK when the
// event stored at its position (`stored`: its stored bytes, nullopt when there is none) is the
// one acknowledged there. Else DATA_LOSS, saying what happened and what to do: acknowledged
// events lost when the database's head (`head`) is below it, another log when not. (A head
// below it while the event is there is damage to the head alone, which the ledger's start
// reports: events stored past the head.)
absl::Status CheckAcknowledgedHead(const std::string& dir, const ChainPoint& acknowledged,
                                   const ChainPoint& head,
                                   const std::optional<std::string>& stored);

// Keeps `dir`'s file up to date while a store is open for writing. Thread-safe.
class AcknowledgedHead {
 public:
  // Writes `head` (REQUIRES: on disk in the database) as the file, replacing any there
  // atomically and durably, and keeps it open for Record.
  static absl::StatusOr<std::unique_ptr<AcknowledgedHead>> Create(const std::string& dir,
                                                                  const ChainPoint& head);
  // Syncs the last record.
  ~AcknowledgedHead();
  AcknowledgedHead(const AcknowledgedHead&) = delete;
  AcknowledgedHead& operator=(const AcknowledgedHead&) = delete;

  // Records `head` (REQUIRES: synced to the write-ahead log) if it is past the head recorded
  // last; does nothing otherwise. It is written in place, which a process crash cannot lose; a thread syncs it to
  // the disk within a second. An error (the write failed, or an earlier sync did) names the
  // file; a store that gets one stops, as for a failed sync of its log.
  absl::Status Record(const ChainPoint& head);

 private:
  AcknowledgedHead(std::string path, int fd, uint64_t recorded);
  void SyncLoop();

  const std::string path_;
  const int fd_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;      // guarded by mu_
  uint64_t recorded_;      // guarded by mu_: the position recorded last
  bool unsynced_ = false;  // guarded by mu_: a record written since the last sync
  absl::Status error_;     // guarded by mu_: the first failed write or sync
  std::thread syncer_;
};

}  // namespace govledger

#endif  // GOVLEDGER_LEDGER_STORE_ACKNOWLEDGED_HEAD_H_
