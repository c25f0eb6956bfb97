// RocksDbEventStore: the EventStore govledgerd runs on, an embedded RocksDB database in one
// directory. The layout of its column families and values is in ledger/store/FORMAT.md.
// Thread-safe.
#ifndef GOVLEDGER_LEDGER_STORE_ROCKSDB_EVENT_STORE_H_
#define GOVLEDGER_LEDGER_STORE_ROCKSDB_EVENT_STORE_H_

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "ledger/store/acknowledged_head.h"
#include "ledger/store/event_store.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
class Env;
class WriteBatch;
}  // namespace rocksdb

namespace govledger {

// RocksDB info log files kept: the current LOG and the newest old ones (LOG.old.*).
inline constexpr size_t kInfoLogFilesKept = 5;

struct RocksDbOptions {
  // Shared block cache for all column families, bytes. Default 32 MiB: as-at queries read
  // events scattered over the log, which a larger cache barely helps (the OS page cache holds
  // the files too) while it adds to the daemon's footprint.
  size_t block_cache_bytes = 32 << 20;
  // Memtable size of the events column family, bytes; others use a quarter. Default 32 MiB.
  size_t write_buffer_bytes = 32 << 20;
  // Size at which RocksDB's info log (DIR/LOG, written by InfoLog: flushes, compactions, and
  // statistics every 10 minutes, about 15 KB each) is renamed LOG.old.<time> and a new one
  // begun; old ones beyond kInfoLogFilesKept files in all are deleted. Bounds what a daemon that runs for years
  // keeps of it (otherwise one file growing about 1 GB a year until a restart). Default 16 MiB.
  size_t info_log_max_bytes = 16 << 20;
  // Open read-only (for checking a backup): nothing in the directory is created or written
  // (not even RocksDB's LOG), the directory must hold a govledger database of this format
  // version, and every write (Write, SaveVerified, PutProjection, DeleteProjection,
  // DropProjections) fails.
  // Default false.
  bool read_only = false;
  // Whether a directory that holds no database (missing, or empty) gets a new, empty ledger.
  // False (govledgerd --no-create): such a directory is refused (a wrong directory), and
  // nothing is made, so that a data volume not mounted, or a restore done out of order, never
  // starts a second history. Default true.
  bool create = true;
};

class RocksDbEventStore final : public EventStore {
 public:
  // The storage format this build writes (FORMAT.md; the `meta` key format_version).
  static constexpr char kFormatVersion[] = "2";

  // Whether Open's `status` refuses a database of a storage format this build neither reads nor
  // upgrades (a newer govledger's): every later open by this build fails alike.
  static bool IsOtherFormat(const absl::Status& status);
  // Whether Open's `status` refuses a path that is no data directory: empty, a file, a backup
  // (which is restored, not opened), another program's database, a directory holding other
  // things but no database, one that cannot be made, or one govledgerd's user may not read or
  // write. The path (or its owner) is the operator's to change: a restart would fail alike.
  static bool IsWrongDirectory(const absl::Status& status);

  // Opens the database in `dir`, creating it (and `dir`) if missing. Refuses a database of
  // another format version (FAILED_PRECONDITION, IsOtherFormat) and one another process holds
  // open.
  static absl::StatusOr<std::unique_ptr<RocksDbEventStore>> Open(
      const std::string& dir, const RocksDbOptions& options = {});
  ~RocksDbEventStore() override;

  // The storage format Open upgraded the database from ("1"; one way: FORMAT.md, "Versioning
  // policy"), or empty if it was already of this format or new.
  const std::string& upgraded_from() const { return upgraded_from_; }
  // Whether Open made the database: the directory held none.
  bool created() const { return created_; }
  // The head Open made DIR/ACKNOWLEDGED_HEAD from when a database holding events had none
  // (removed, or not copied with the database): a log cut short before this open could not be
  // found. Position 0 when the file was there (or the log empty, or the open read-only).
  uint64_t acknowledged_head_missing_at() const { return acknowledged_head_missing_at_; }
  // For a start refused after Open (its ledger's checks): removes the ACKNOWLEDGED_HEAD file Open
  // made when it was missing (acknowledged_head_missing_at() > 0), so that the next start still
  // says it was missing; nothing otherwise. No more appends are acknowledged through this store.
  void RemoveAcknowledgedHeadMadeAtOpen();

  absl::Status Write(const std::vector<EventWrite>& events, const ChainPoint& head) override;
  absl::Status Sync() override;
  absl::StatusOr<ChainPoint> LoadHead() override;
  absl::StatusOr<ChainPoint> LoadVerified() override;
  absl::Status SaveVerified(const ChainPoint& point) override;
  absl::StatusOr<std::optional<std::string>> Get(uint64_t position) override;
  absl::StatusOr<uint64_t> LastPosition() override;
  absl::Status ScanLog(uint64_t from, bool forward, const LogVisitor& fn) override;
  absl::StatusOr<uint64_t> StreamVersion(absl::string_view stream_id) override;
  absl::Status ScanStream(absl::string_view stream_id, uint64_t from, bool forward,
                          const StreamVisitor& fn) override;
  absl::StatusOr<std::vector<std::optional<uint64_t>>> FindEventIds(
      const std::vector<UuidBytes>& event_ids) override;
  absl::Status GetMany(const std::vector<uint64_t>& positions, const LogVisitor& fn) override;
  absl::StatusOr<std::optional<std::string>> GetProjection(absl::string_view key) override;
  absl::Status PutProjection(absl::string_view key, absl::string_view value, bool sync) override;
  absl::Status DeleteProjection(absl::string_view key) override;
  absl::Status DropProjections(absl::string_view prefix) override;

  // Takes a RocksDB checkpoint into `dir`, which must not exist (on the same file system as the
  // store: table files are hard-linked, the rest copied). The checkpoint is an openable
  // database holding every column family as of one point of the commit sequence, so it holds
  // whole commits only, and its `head` names its last event. Appends may run concurrently.
  absl::Status CreateCheckpoint(const std::string& dir);

  // OK while the store takes writes: a synced write of nothing. After a background flush or
  // compaction failed (a full disk), RocksDB may refuse every write until the database is
  // reopened; then that error.
  absl::Status CheckWrites();

  // Reads every block of every table file, of every column family (the indexes and
  // projections too, which a chain check never reads whole), and checks its checksum.
  // DATA_LOSS (STORAGE_CORRUPT) naming the file when one does not match.
  absl::Status VerifyChecksums();

  // Rebuilding the `streams` and `event_ids` indexes from the log (govledgerd
  // --rebuild-indexes; FORMAT.md, "Rebuilding the indexes"). The caller reads the log and puts
  // each event's entries, between Begin and End, with no append in between.
  //
  // Whether a rebuild was begun and not ended (the `meta` key `indexes-rebuilding`): the
  // indexes are incomplete until one is.
  absl::StatusOr<bool> IndexRebuildUnfinished();
  // Marks a rebuild begun and empties both indexes (synced).
  absl::Status BeginIndexRebuild();
  // One event's entries; an empty stream_id, or no event_id, puts none in that index.
  struct IndexEntry {
    uint64_t position = 0;
    std::string stream_id;
    uint64_t stream_version = 0;
    std::optional<UuidBytes> event_id;
  };
  // Puts entries (not synced: EndIndexRebuild's sync covers them).
  absl::Status PutIndexEntries(const std::vector<IndexEntry>& entries);
  // Removes the mark (synced, with every entry put before it).
  absl::Status EndIndexRebuild();

  // Orders a failed write-ahead-log append before later syncs (rocksdb_event_store.cc).
  struct WalGate;

 private:
  RocksDbEventStore() = default;
  absl::StatusOr<ChainPoint> LoadPoint(absl::string_view key);
  // Writes `batch` unsynced, then Sync(): RocksDB's own synced writes would sync the WAL
  // outside the gate.
  absl::Status WriteSynced(rocksdb::WriteBatch* batch, absl::string_view operation);

  // The head of the last batch written, which the next Sync() covers.
  std::mutex written_mu_;
  ChainPoint written_;  // guarded by written_mu_
  // DIR/ACKNOWLEDGED_HEAD, given each head a Sync() covers; null when read-only.
  std::unique_ptr<AcknowledgedHead> acknowledged_;

  // The file system RocksDB uses for this database (its write-ahead logs' gate), and the
  // gate; declared before db_, so destroyed after the database.
  std::unique_ptr<rocksdb::Env> env_;
  std::shared_ptr<WalGate> gate_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // owned; destroyed before db_
  rocksdb::ColumnFamilyHandle* events_ = nullptr;
  rocksdb::ColumnFamilyHandle* streams_ = nullptr;
  rocksdb::ColumnFamilyHandle* event_ids_ = nullptr;
  rocksdb::ColumnFamilyHandle* meta_ = nullptr;
  rocksdb::ColumnFamilyHandle* projections_ = nullptr;  // null: read-only, older database
  std::string upgraded_from_;
  bool created_ = false;
  uint64_t acknowledged_head_missing_at_ = 0;
  std::string dir_;  // the data directory, as Open was given it
  int dir_lock_ = -1;  // the data directory opened and flock()ed while writable; -1: none
};

}  // namespace govledger

#endif  // GOVLEDGER_LEDGER_STORE_ROCKSDB_EVENT_STORE_H_
