#include "ledger/store/rocksdb_event_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "ledger/common/big_endian.h"
#include "ledger/common/errors.h"
#include "ledger/common/files.h"
#include "ledger/common/status_macros.h"
#include "ledger/store/acknowledged_head.h"
#include "ledger/store/backup.h"
#include "ledger/store/id_memtable.h"
#include "ledger/store/info_log.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"
#include "rocksdb/file_system.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/slice_transform.h"
#include "rocksdb/table.h"
#include "rocksdb/utilities/checkpoint.h"
#include "rocksdb/write_batch.h"

namespace govledger {
namespace {

// FORMAT.md: the column families, in this order, and the meta keys. Never renumber or rename.
constexpr char kEventsCf[] = "events";
constexpr char kStreamsCf[] = "streams";
constexpr char kEventIdsCf[] = "event_ids";
constexpr char kMetaCf[] = "meta";
constexpr char kProjectionsCf[] = "projections";
constexpr char kFormatVersionKey[] = "format_version";
constexpr char kHeadKey[] = "head";
constexpr char kVerifiedKey[] = "verified";
constexpr char kIndexesRebuildingKey[] = "indexes-rebuilding";
constexpr const char* kFormatVersion = RocksDbEventStore::kFormatVersion;
// Format 1 is format 2 without the projections column family: a writable open creates the
// column family and records format 2; a read-only open reads it as it is.
constexpr char kPreviousFormatVersion[] = "1";

}  // namespace

// Orders a failed append to a write-ahead log before every later sync of the store.
//
// Debian's RocksDB is built with its assertions on, and one of them aborts the process when
// a WAL that an append has failed on (a full disk, a file size limit) is synced afterwards,
// where a release build returns the earlier error. The ledger writes the next group while
// the last ones sync, so without this a failed write could be followed by a sync at any
// moment. Every sync holds `mu` from its check of `failed` until RocksDB has returned, and
// an append that fails records itself in `failed` under `mu` before RocksDB sees the
// failure, so it waits for a sync in progress to end and every later sync refuses. Appends
// that succeed never take `mu`.
struct RocksDbEventStore::WalGate {
  std::timed_mutex mu;
  std::string failed;  // guarded by mu: the first failed WAL append, empty before one
};

namespace {

// Marks the refusals of a path that is no data directory (RocksDbEventStore::IsWrongDirectory).
constexpr char kWrongDirectoryPayload[] = "type.googleapis.com/govledger.WrongDataDirectory";

absl::Status MarkedWrongDirectory(absl::Status status) {
  status.SetPayload(kWrongDirectoryPayload, absl::Cord());
  return status;
}

// The most a failed append waits for a sync in progress. Only RocksDB's own waits inside a
// sync could make it longer (no sync of ours waits for an append); then the append goes on
// rather than hang.
constexpr std::chrono::seconds kFailedAppendWait(10);

// A write-ahead log file: reports a failed append to the store's gate.
class GatedWalFile final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  GatedWalFile(std::unique_ptr<rocksdb::FSWritableFile> file,
               std::shared_ptr<RocksDbEventStore::WalGate> gate)
      : FSWritableFileOwnerWrapper(std::move(file)), gate_(std::move(gate)) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
    return Checked(target()->Append(data, options, dbg));
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& info,
                           rocksdb::IODebugContext* dbg) override {
    return Checked(target()->Append(data, options, info, dbg));
  }

 private:
  rocksdb::IOStatus Checked(rocksdb::IOStatus s) {
    if (s.ok()) return s;
    std::unique_lock lock(gate_->mu, std::defer_lock);
    const bool locked = lock.try_lock_for(kFailedAppendWait);
    if (locked && gate_->failed.empty()) gate_->failed = s.ToString();
    return s;
  }

  const std::shared_ptr<RocksDbEventStore::WalGate> gate_;
};

// The local file system, with the database's write-ahead logs (files named *.log in its
// directory; not the copies a checkpoint makes elsewhere) reporting a failed append to the
// store's WalGate. The logs keep RocksDB's preallocation, which leaves the file's size at what
// was written (FALLOC_FL_KEEP_SIZE): a crash in the middle of a record leaves the log ending
// there, which the replay drops as a cut-short last record. (Preallocating with the size
// made each sync cheaper, with no size to record, but left zeros after such a cut, which
// RocksDB takes for damage in the middle of the log: the store would not open again.)
class WalFileSystem final : public rocksdb::FileSystemWrapper {
 public:
  WalFileSystem(std::shared_ptr<rocksdb::FileSystem> base, const std::string& dir,
                std::shared_ptr<RocksDbEventStore::WalGate> gate)
      : FileSystemWrapper(std::move(base)), wal_prefix_(dir + "/"), gate_(std::move(gate)) {}
  const char* Name() const override { return "GovledgerWal"; }
  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = target()->NewWritableFile(name, options, result, dbg);
    if (s.ok() && absl::StartsWith(name, wal_prefix_) && absl::EndsWith(name, ".log") &&
        name.find('/', wal_prefix_.size()) == std::string::npos) {
      *result = std::make_unique<GatedWalFile>(std::move(*result), gate_);
    }
    return s;
  }

 private:
  const std::string wal_prefix_;  // the database's directory and a slash
  const std::shared_ptr<RocksDbEventStore::WalGate> gate_;
};

// FAILED_PRECONDITION for a data directory, or a file in it, that govledgerd's user may not
// read or write (`detail` says which), saying how to mend it.
absl::Status MayNotReadOrWrite(const std::string& dir, absl::string_view detail) {
  return MarkedWrongDirectory(absl::FailedPreconditionError(absl::StrCat(
      "govledgerd may not read or write data directory ", dir, " (", detail,
      "): run it as the directory's owner, make every file there that user's (a start "
      "as root leaves root's files: chown -R the directory to the service's user), and "
      "let the owner read and write them (chmod -R u+rwX the directory)")));
}

// FAILED_PRECONDITION when `dir` is a backup (it holds a backup's manifest): a daemon run on
// it would change it so that it no longer restores.
absl::Status RefuseBackup(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::path(dir) / backup::kManifestFile, ec)) {
    return absl::OkStatus();
  }
  return MarkedWrongDirectory(absl::FailedPreconditionError(absl::StrCat(
      "data directory ", dir, " is a backup (it holds ", backup::kManifestFile,
      "): restore it into a new data directory with `govledger admin restore ", dir,
      " --data-dir NEW_DIR` and start govledgerd there; a daemon run on a backup would change it so that "
      "it no longer restores")));
}

// Before a database is made in `dir`, which has no CURRENT file: DATA_LOSS when it holds data a
// database would (tables, write-ahead logs), saying what to do; FAILED_PRECONDITION for a
// read-only open when it holds no database at all. A MANIFEST, OPTIONS or IDENTITY alone is what a
// first start killed while making the database leaves, and is made again.
absl::Status RefuseLeftovers(const std::string& dir, bool read_only) {
  std::error_code ec;
  std::vector<std::string> found;
  std::vector<std::string> others;    // what neither RocksDB nor govledger makes there
  std::vector<std::string> ledgers;   // subdirectories that hold a database
  // Stepped with increment(ec): a read failing (EIO, a directory removed meanwhile) is an error
  // here, not an exception out of Open. A directory not there yet, not a directory, or not this
  // user's to read is left to Open, which says what to do.
  std::filesystem::directory_iterator it(dir, ec);
  const bool listable = ::access(dir.c_str(), R_OK | X_OK) == 0;
  for (const std::filesystem::directory_iterator end; !ec && it != end; it.increment(ec)) {
    const std::filesystem::directory_entry& entry = *it;
    const std::string name = entry.path().filename().string();
    // RocksDB's tables and write-ahead logs, "000032.sst" and "000086.log" (not a shell's
    // "daemon.log" beside a ledger's directory).
    const auto numbered = [&name](absl::string_view suffix) {
      absl::string_view stem = name;
      return absl::ConsumeSuffix(&stem, suffix) && !stem.empty() &&
             std::all_of(stem.begin(), stem.end(), absl::ascii_isdigit);
    };
    if (numbered(".sst") || numbered(".log")) {
      found.push_back(name);
    } else if (name != "lost+found" && name != "LOCK" && name != "IDENTITY" &&
               !absl::StartsWith(name, "LOG") && !absl::StartsWith(name, "OPTIONS-") &&
               !absl::StartsWith(name, "MANIFEST-") && !absl::EndsWith(name, ".dbtmp") &&
               !absl::StartsWith(name, ".nfs") && name != ".snapshot" &&
               !absl::StartsWith(name, kAcknowledgedHeadFile)) {
      others.push_back(name);
      std::error_code not_there;
      // A backup holds a database too, but is never served, nor is the hidden copy a killed
      // backup or restore left (".NAME.partial-..."): neither is the ledger meant.
      if (std::filesystem::exists(entry.path() / "CURRENT", not_there) &&
          !std::filesystem::exists(entry.path() / backup::kManifestFile, not_there) &&
          !backup::IsPartialCopyName(entry.path().filename().string())) {
        ledgers.push_back(entry.path().string());
      }
    }
  }
  // A listing cut short could have missed the tables a new database would be made beside (a
  // directory not there yet has nothing to miss).
  if (listable && ec && ec != std::errc::no_such_file_or_directory &&
      ec != std::errc::not_a_directory) {
    return FileError("list the data directory", dir, ec.value());
  }
  if (!found.empty()) {
    std::sort(found.begin(), found.end());
    if (found.size() > 4) {
      found.resize(4);
      found.push_back("...");
    }
    return absl::DataLossError(absl::StrCat(
        "data directory ", dir, " holds a database's files (", absl::StrJoin(found, ", "),
        ") but no CURRENT file, which names its MANIFEST: it is damaged or was copied in part. "
        "Restore it from a backup (govledger admin restore), or, if only CURRENT was lost, "
        "write the name of its newest MANIFEST file and a line break into CURRENT"));
  }
  if (read_only) {
    return absl::FailedPreconditionError(
        absl::StrCat("data directory ", dir, " holds no database"));
  }
  if (!others.empty()) {
    // A new ledger is made only in an empty directory: one holding other things is most likely
    // a mistyped --data-dir (the parent of the ledger's, say), where a new, empty ledger would
    // be served in its place.
    std::sort(others.begin(), others.end());
    std::sort(ledgers.begin(), ledgers.end());
    if (others.size() > 4) {
      others.resize(4);
      others.push_back("...");
    }
    return MarkedWrongDirectory(absl::FailedPreconditionError(absl::StrCat(
        "data directory ", dir, " holds no database but other things (",
        absl::StrJoin(others, ", "), "): a new ledger is made only in an empty directory",
        ledgers.empty() ? std::string("; give --data-dir the ledger's own directory, or an "
                                      "empty or missing one for a new ledger")
                        : absl::StrCat("; did you mean --data-dir ", ledgers.front(),
                                       ", which holds a database?"))));
  }
  return absl::OkStatus();
}

std::string PositionKey(uint64_t position) {
  std::string key(8, '\0');
  PutBigEndian<uint64_t>(position, key.data());
  return key;
}

// stream_id 0x00 version(8, big-endian). Stream ids never contain 0x00.
std::string StreamKey(absl::string_view stream_id, uint64_t version) {
  std::string key;
  key.reserve(stream_id.size() + 9);
  key.append(stream_id.data(), stream_id.size());
  key.push_back('\0');
  key.resize(key.size() + 8);
  PutBigEndian<uint64_t>(version, key.data() + key.size() - 8);
  return key;
}

std::string EncodePoint(const ChainPoint& p) {
  std::string out(8 + crypto::kHashSize, '\0');
  PutBigEndian<uint64_t>(p.position, out.data());
  std::memcpy(out.data() + 8, p.hash.data(), crypto::kHashSize);
  return out;
}

// The point meta key `key` holds as `value`.
absl::StatusOr<ChainPoint> DecodePoint(absl::string_view key, absl::string_view value) {
  if (value.size() != 8 + crypto::kHashSize) {
    return absl::DataLossError(absl::StrCat("meta key '", key, "' has ", value.size(),
                                            " bytes; expected ", 8 + crypto::kHashSize));
  }
  ChainPoint p;
  p.position = GetBigEndian<uint64_t>(value.data());
  std::memcpy(p.hash.data(), value.data() + 8, crypto::kHashSize);
  return p;
}

// The stream part of a streams key ("stream_id\0"): consecutive versions of one stream are
// inserted next to each other, so the memtable can insert with a per-stream hint.
class StreamPrefix final : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "govledger.StreamPrefix"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return rocksdb::Slice(key.data(), key.size() - 8);
  }
  bool InDomain(const rocksdb::Slice& key) const override { return key.size() > 8; }
};

absl::Status FromRocks(const rocksdb::Status& s, absl::string_view operation) {
  if (s.ok()) return absl::OkStatus();
  if (s.IsCorruption()) return errors::StorageCorrupt(operation, s.ToString());
  return errors::Storage(operation, s.ToString());
}

// RocksDB's info log for a read-only open: discards everything, so the open writes no file.
class NullLogger final : public rocksdb::Logger {
 public:
  using rocksdb::Logger::Logv;
  void Logv(const char* /*format*/, va_list /*ap*/) override {}
};

rocksdb::Slice AsSlice(const UuidBytes& id) {
  return rocksdb::Slice(reinterpret_cast<const char*>(id.data()), id.size());
}

}  // namespace

namespace {

// Marks OtherFormat's and NewerFormat's refusals (RocksDbEventStore::IsOtherFormat).
constexpr char kOtherFormatPayload[] = "type.googleapis.com/govledger.OtherStorageFormat";

absl::Status MarkedOtherFormat(absl::Status status) {
  status.SetPayload(kOtherFormatPayload, absl::Cord());
  return status;
}


// FAILED_PRECONDITION for a database of storage format `version`, which this one neither
// writes nor upgrades.
absl::Status OtherFormat(const std::string& dir, const std::string& version) {
  // Formats are whole numbers from 1, written without leading zeros: anything else is damage,
  // not a newer govledger's database.
  if (version.empty() || version[0] == '0' ||
      !std::all_of(version.begin(), version.end(), absl::ascii_isdigit)) {
    return absl::DataLossError(absl::StrCat(
        "data directory ", dir, " holds a storage format version that is not a format number (\"",
        absl::CHexEscape(version.substr(0, 32)), "\"): the database's meta record is damaged; "
        "keep the directory for inspection, and restore the ledger from a backup (govledger "
        "admin restore)"));
  }
  return MarkedOtherFormat(absl::FailedPreconditionError(absl::StrCat(
      "data directory ", dir, " holds storage format version ", version,
      "; this govledgerd reads format ", kFormatVersion, " (and upgrades format ",
      kPreviousFormatVersion, "): nothing in it was changed. Run a govledgerd at least as new "
      "as the one that wrote it")));
}

// DATA_LOSS for a database that was there before this open without a storage format version.
// It is written right after the database is made, before any event: such a database is not
// govledger's, or lost it with its write-ahead log (which held every event not yet in a
// table), or was made by a first start killed before writing it; an empty database cannot tell
// the last two apart, so it is refused too.
absl::Status NoFormatVersion(const std::string& dir) {
  return absl::DataLossError(absl::StrCat(
      "data directory ", dir,
      " holds a RocksDB database without a govledger storage format "
      "version: it is not a govledger data directory, or it is damaged (restore it from a "
      "backup), or a first start was stopped before it could write one (if the directory "
      "has never held events, remove it and start again); nothing in it was changed"));
}

// What a read-only open of `dir`'s database (its default, meta and events column families)
// shows, before a writable open, which would replay the write-ahead log into a table, start a
// new log and rewrite MANIFEST and OPTIONS. A read-only open writes nothing, and may leave
// column families out.
struct ReadOnlyView {
  bool opened = false;
  std::optional<std::string> version;  // none when it holds none
  std::string head;                   // meta's head, encoded; "" when it holds none
  std::optional<std::string> stored;  // the event at the position asked for, if any
  // A read that failed other than for a missing key (a damaged table block): what it read is
  // unknown, so none of the above is an answer.
  absl::Status error;
};

ReadOnlyView ReadOnly(const rocksdb::DBOptions& db_options, const std::string& dir,
                      uint64_t position) {
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
      {kMetaCf, rocksdb::ColumnFamilyOptions()},
      {kEventsCf, rocksdb::ColumnFamilyOptions()}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::DBOptions quiet = db_options;
  quiet.info_log = std::make_shared<NullLogger>();
  ReadOnlyView view;
  if (!rocksdb::DB::OpenForReadOnly(quiet, dir, families, &handles, &raw).ok()) return view;
  std::unique_ptr<rocksdb::DB> db(raw);
  view.opened = true;
  // Whether `key` of `family` is found, into `*value`; a failed read is kept in view.error.
  auto get = [&](rocksdb::ColumnFamilyHandle* family, const rocksdb::Slice& key,
                 std::string* value, absl::string_view what) {
    const rocksdb::Status got = db->Get(rocksdb::ReadOptions(), family, key, value);
    if (!got.ok()) value->clear();
    if (!got.ok() && !got.IsNotFound() && view.error.ok()) view.error = FromRocks(got, what);
    return got.ok();
  };
  if (std::string version;
      get(handles[1], kFormatVersionKey, &version, "read the storage format version")) {
    view.version = std::move(version);
  }
  get(handles[1], kHeadKey, &view.head, "read the head");
  if (std::string stored; get(handles[2], PositionKey(position), &stored,
                              absl::StrCat("read the event at position ", position))) {
    view.stored = std::move(stored);
  }
  for (rocksdb::ColumnFamilyHandle* h : handles) db->DestroyColumnFamilyHandle(h);
  return view;
}

// FAILED_PRECONDITION for a database with column families this version does not know
// (`unknown`, of `existing`): its storage format version and the families.
absl::Status NewerFormat(const rocksdb::DBOptions& db_options, const std::string& dir,
                         const std::vector<std::string>& existing,
                         const std::vector<std::string>& unknown) {
  std::string version = ReadOnly(db_options, dir, 0).version.value_or("");
  if (version.empty()) version = "unknown";
  // Its own format's number beside families it does not know: not a newer format's, but
  // families another program (or a newer govledger's mistake) added.
  const bool same = version == kFormatVersion;
  return MarkedOtherFormat(absl::FailedPreconditionError(absl::StrCat(
      "data directory ", dir, " holds storage format version ", version,
      " with column families this govledgerd does not know (", absl::StrJoin(unknown, ", "),
      same ? "), which format " : "), written by a newer govledger; this govledgerd reads format ",
      kFormatVersion,
      same ? " does not have: nothing in it was changed. Find out what added them"
           : ": nothing in it was changed. Run a govledgerd at least as new as "
             "the one that wrote it")));
}

}  // namespace

bool RocksDbEventStore::IsOtherFormat(const absl::Status& status) {
  return status.GetPayload(kOtherFormatPayload).has_value();
}

bool RocksDbEventStore::IsWrongDirectory(const absl::Status& status) {
  return status.GetPayload(kWrongDirectoryPayload).has_value();
}

absl::StatusOr<std::unique_ptr<RocksDbEventStore>> RocksDbEventStore::Open(
    const std::string& dir, const RocksDbOptions& options) {
  std::error_code ec;
  if (dir.empty()) {
    return MarkedWrongDirectory(absl::InvalidArgumentError(
        "the data directory's path is empty (an empty string): give one"));
  }
  if (const auto link = std::filesystem::symlink_status(dir, ec);
      std::filesystem::is_symlink(link) && !std::filesystem::exists(dir, ec)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "data directory ", dir, " is a symbolic link to ",
        std::filesystem::read_symlink(dir, ec).string(),
        ", which does not exist (a volume not mounted?): mount or create its target"));
  }
  ec.clear();
  if (std::filesystem::exists(dir, ec) && !std::filesystem::is_directory(dir, ec)) {
    return MarkedWrongDirectory(absl::FailedPreconditionError(absl::StrCat(
        "data directory ", dir, " is a file, not a directory: give a directory (created if "
        "missing)")));
  }
  if (options.read_only && !std::filesystem::is_directory(dir, ec)) {
    return absl::FailedPreconditionError(absl::StrCat("data directory ", dir, " does not exist"));
  }
  if (!options.read_only && !options.create &&
      !std::filesystem::exists(std::filesystem::path(dir) / "CURRENT", ec)) {
    return MarkedWrongDirectory(absl::FailedPreconditionError(absl::StrCat(
        "data directory ", dir,
        " holds no ledger, and --no-create was given: nothing was made. Mount the ledger's "
        "volume, restore it, or check --data-dir (to start a new ledger there, start once "
        "without --no-create)")));
  }
  // Nor made inside another ledger's directory or a backup (checked before the directory is
  // made; an operator's trial: a ledger made at DIR/backup-checkpoint of a served one took an
  // append, and the served one's next backup deleted it).
  if (!options.read_only && !std::filesystem::exists(std::filesystem::path(dir) / "CURRENT", ec)) {
    if (std::optional<std::string> database = backup::EnclosingDatabase(dir)) {
      return MarkedWrongDirectory(absl::FailedPreconditionError(absl::StrCat(
          "data directory ", dir, " is inside ", *database,
          ", a ledger's data directory or a backup: a new ledger is not made there (a daemon "
          "removes what it finds at the names of its own files, and a backup's manifest does "
          "not list it); give a directory outside it")));
    }
  }
  // A directory made here is its owner's alone (0700): the log holds decisions' confidential
  // parts, which no other user of the machine should read, whatever the umask. One that exists
  // keeps its mode (the system service's is 0700 too: StateDirectoryMode).
  if (!options.read_only && std::filesystem::create_directories(dir, ec)) {
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace, ec);
  }
  if (ec) {
    // A full or read-only file system may pass (exit 1, retried); anything else is the path's.
    const bool passing = ec == std::errc::no_space_on_device ||
                         ec == std::errc::read_only_file_system;
    absl::Status cannot = absl::FailedPreconditionError(
        absl::StrCat("cannot create data directory ", dir, ": ", ec.message(),
                     "; choose a directory govledgerd's user may create, or make it yourself "
                     "and give it to that user (mkdir, then chown)"));
    return passing ? cannot : MarkedWrongDirectory(std::move(cannot));
  }

  // The directory itself is locked (flock) for as long as the store is open, besides RocksDB's
  // LOCK file: an operator's drill removed a "stale" LOCK, and a second govledgerd served the
  // same database beside the first, both acknowledging the same positions, and left it
  // corrupt. The directory's lock goes with the directory, whatever is removed in it. Where the
  // file system has no flock,
  // RocksDB's lock alone guards it.
  int dir_lock = -1;
  if (!options.read_only) {
    dir_lock = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_lock >= 0 && ::flock(dir_lock, LOCK_EX | LOCK_NB) != 0) {
      const int error = errno;
      ::close(dir_lock);
      dir_lock = -1;
      if (error == EWOULDBLOCK) {
        return absl::FailedPreconditionError(absl::StrCat(
            "data directory ", dir,
            " is in use by another process (it holds the directory's "
            "lock): a govledgerd is running on it. Stop that one first, or give this one "
            "another --data-dir; a backup of a running daemon's directory is `govledger admin "
            "backup`"));
      }
    }
  }
  absl::Cleanup unlock = [&dir_lock] {
    if (dir_lock >= 0) ::close(dir_lock);
  };

  // A database is made only in a directory that holds none: one whose CURRENT file is lost
  // (damage, a partial copy) would otherwise be made anew beside the old files, and served
  // empty while RocksDB deleted the old tables as obsolete.
  if (!options.read_only) RETURN_IF_ERROR(RefuseBackup(dir));  // a backup is read to verify it
  const bool exists = std::filesystem::exists(std::filesystem::path(dir) / "CURRENT", ec);
  if (!exists) RETURN_IF_ERROR(RefuseLeftovers(dir, options.read_only));
  // The head last acknowledged here, read before the database: whatever a daemon running on
  // it acknowledges after this read is in the log read below (FORMAT.md, "Acknowledged head").
  absl::StatusOr<std::optional<ChainPoint>> read = ReadAcknowledgedHead(dir);
  if (!read.ok() && absl::StrContains(read.status().message(), "Permission denied")) {
    return MayNotReadOrWrite(dir, read.status().message());
  }
  ASSIGN_OR_RETURN(std::optional<ChainPoint> acknowledged, std::move(read));
  if (!exists && acknowledged.has_value()) {
    // RefuseLeftovers found none of a database's files either.
    return AcknowledgedWithoutDatabase(dir, *acknowledged);
  }
  bool acknowledged_checked = !acknowledged.has_value();
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = !exists && !options.read_only;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  // RocksDB's clean-up of obsolete files deletes old info logs past this count too.
  db_options.keep_log_file_num = kInfoLogFilesKept;
  db_options.max_total_wal_size = 256 << 20;
  // After a crash only the last record of the write-ahead log may be cut short (a write the
  // crash interrupted, never acknowledged: every acknowledged batch was synced whole), and the
  // replay drops it. A damaged record anywhere before it is damage to acknowledged events: the
  // open fails (DATA_LOSS), where RocksDB's default (kPointInTimeRecovery) would stop the
  // replay there and silently drop every acknowledged batch after it.
  db_options.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  // One thread writes, and the hashed event_ids memtable does not take concurrent inserts.
  db_options.allow_concurrent_memtable_write = false;
  auto gate = std::make_shared<WalGate>();
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(
      std::make_shared<WalFileSystem>(rocksdb::FileSystem::Default(), dir, gate));
  db_options.env = env.get();
  std::shared_ptr<InfoLog> info_log;
  if (options.read_only) {
    db_options.info_log = std::make_shared<NullLogger>();
  } else {
    info_log = std::make_shared<InfoLog>(dir, options.info_log_max_bytes, kInfoLogFilesKept);
    db_options.info_log = info_log;
  }

  std::shared_ptr<rocksdb::Cache> cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  auto table_options = [&](bool bloom) {
    rocksdb::BlockBasedTableOptions t;
    t.block_cache = cache;
    // Index and filter blocks stay in memory with their table (about 3 MB per million
    // events): in the block cache, scans of event blocks evict them and every new-id check
    // would read its filter from disk again.
    t.cache_index_and_filter_blocks = false;
    if (bloom) t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    return t;
  };
  auto cf_options = [&](size_t write_buffer, bool bloom) {
    rocksdb::ColumnFamilyOptions cf;
    cf.write_buffer_size = write_buffer;
    cf.max_write_buffer_number = 2;
    cf.level_compaction_dynamic_level_bytes = true;
    cf.compression = rocksdb::kLZ4Compression;
    cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table_options(bloom)));
    return cf;
  };
  size_t small = options.write_buffer_bytes / 4;
  rocksdb::ColumnFamilyOptions events_cf = cf_options(options.write_buffer_bytes, false);
  {
    // Events are mostly scanned in order: larger blocks mean fewer cache look-ups per event.
    rocksdb::BlockBasedTableOptions t = table_options(false);
    t.block_size = 16 << 10;
    events_cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  }
  // Positions only grow: one empty prefix makes every insert start from the last one.
  events_cf.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(0));
  rocksdb::ColumnFamilyOptions streams_cf = cf_options(small, false);
  // The two indexes take keys all over their key space (stream ids, random event ids), so
  // leveled compaction would rewrite most of a level for every few flushes. Size-tiered
  // (universal) compaction rewrites each entry O(log n) times instead; their reads are point
  // look-ups behind bloom filters or served from the writer's stream-version cache.
  streams_cf.compaction_style = rocksdb::kCompactionStyleUniversal;
  streams_cf.memtable_insert_with_hint_prefix_extractor = std::make_shared<StreamPrefix>();
  // Event ids are random and only ever looked up whole, never scanned: a hashed memtable
  // inserts and finds them without a skiplist search, which takes the writer thread's biggest
  // cost off it; the sort moves to the background flush (id_memtable.h).
  rocksdb::ColumnFamilyOptions ids_cf = cf_options(small, true);
  ids_cf.memtable_factory = std::make_shared<HashedIdMemTableFactory>(1 << 18);
  ids_cf.compaction_style = rocksdb::kCompactionStyleUniversal;
  ids_cf.compression = rocksdb::kNoCompression;  // random ids do not compress
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors = {
      {rocksdb::kDefaultColumnFamilyName, cf_options(small, false)},
      {kEventsCf, events_cf},
      {kStreamsCf, streams_cf},
      {kEventIdsCf, ids_cf},
      {kMetaCf, cf_options(small, false)},
      // Snapshots of folds, a few large values: written rarely, read at startup and per query.
      {kProjectionsCf, cf_options(small, false)},
  };
  std::vector<std::string> existing;
  if (rocksdb::DB::ListColumnFamilies(db_options, dir, &existing).ok()) {
    // Another program's database (it lacks the column families every govledger database has
    // had since format 1) is refused before an open could change it: a writable open would add
    // column families, flush its log and rewrite its OPTIONS.
    std::vector<std::string> missing;
    for (const char* name : {kEventsCf, kStreamsCf, kEventIdsCf, kMetaCf}) {
      if (std::find(existing.begin(), existing.end(), name) == existing.end()) {
        missing.push_back(name);
      }
    }
    std::error_code no_file;
    if (!missing.empty() &&
        std::filesystem::exists(std::filesystem::path(dir) / kAcknowledgedHeadFile, no_file)) {
      // govledger's own file beside it: its MANIFEST, the list of its files, is damaged (a
      // truncated one reads as a database of the default column family alone).
      return absl::DataLossError(absl::StrCat(
          "data directory ", dir, " holds govledger's ", kAcknowledgedHeadFile,
          ", but its "
          "database's MANIFEST lists no column family ",
          absl::StrJoin(missing, ", "), " (it lists ", absl::StrJoin(existing, ", "),
          "): the MANIFEST is damaged. Keep the "
          "directory as it is; restore a copy from a backup elsewhere (govledger admin "
          "restore)"));
    }
    if (!missing.empty()) {
      return MarkedWrongDirectory(absl::FailedPreconditionError(absl::StrCat(
          "data directory ", dir, " holds a RocksDB database that is not govledger's: it has "
          "no column family ", absl::StrJoin(missing, ", "), " (it has ",
          absl::StrJoin(existing, ", "), "); nothing in it was changed. Give govledgerd a "
          "directory of its own (or, if a first start was stopped here before it made its "
          "database, and the directory has never held events, remove it and start again)")));
    }
    // A database from before the projections column family (format 1 without it) opens
    // read-only as it is; a writable open creates the column family.
    if (options.read_only &&
        std::find(existing.begin(), existing.end(), kProjectionsCf) == existing.end()) {
      descriptors.pop_back();
    }
    // Column families this version does not know: a newer govledger's format (FORMAT.md,
    // "Versioning policy"), which RocksDB would refuse to open without naming it.
    std::vector<std::string> unknown;
    for (const std::string& name : existing) {
      if (std::none_of(descriptors.begin(), descriptors.end(),
                       [&](const rocksdb::ColumnFamilyDescriptor& d) { return d.name == name; }) &&
          name != kProjectionsCf) {
        unknown.push_back(name);
      }
    }
    if (!unknown.empty()) return NewerFormat(db_options, dir, existing, unknown);
    // A version this one does not write, and a log that lost acknowledged events, are refused
    // before a writable open, which would replay the write-ahead log into a table, start a new
    // log and rewrite MANIFEST and OPTIONS (again at every restart a service manager makes).
    // The read-only open costs one more read of the write-ahead log at start.
    if (!options.read_only) {
      const ReadOnlyView view =
          ReadOnly(db_options, dir, acknowledged.has_value() ? acknowledged->position : 0);
      // Not taken for a missing record: "lost acknowledged events" would be untrue.
      RETURN_IF_ERROR(view.error);
      if (view.version.has_value() && *view.version != kFormatVersion &&
          *view.version != kPreviousFormatVersion) {
        return OtherFormat(dir, *view.version);
      }
      if (view.opened && !acknowledged_checked) {
        ChainPoint head;
        if (!view.head.empty()) {
          ASSIGN_OR_RETURN(head, DecodePoint(kHeadKey, view.head));
        }
        RETURN_IF_ERROR(CheckAcknowledgedHead(dir, *acknowledged, head, view.stored));
        acknowledged_checked = true;
      }
      // A missing version too (after the lost events, which say more), and an empty one
      // above: the writable open would refuse them after it had changed the files of a
      // directory its message says to keep for inspection.
      if (view.opened && !view.version.has_value()) return NoFormatVersion(dir);
    }
  }

  std::unique_ptr<RocksDbEventStore> store(new RocksDbEventStore());
  store->env_ = std::move(env);
  store->gate_ = std::move(gate);
  store->created_ = !exists && !options.read_only;
  store->dir_lock_ = std::exchange(dir_lock, -1);  // closed with the store, after the database
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s =
      options.read_only
          ? rocksdb::DB::OpenForReadOnly(db_options, dir, descriptors, &store->handles_, &raw)
          : rocksdb::DB::Open(db_options, dir, descriptors, &store->handles_, &raw);
  // The lines of an open refused for the lock are not this process's to write: the LOG is
  // the running daemon's.
  const bool locked_out = s.IsIOError() && s.ToString().find("lock") != std::string::npos;
  if (info_log != nullptr) {
    if (locked_out) {
      info_log->Discard();
    } else {
      info_log->Keep();
    }
  }
  if (!s.ok()) {
    if (s.IsIOError() && s.ToString().find("Read-only file system") != std::string::npos) {
      return absl::FailedPreconditionError(absl::StrCat(
          "data directory ", dir, " is on a read-only file system (", s.ToString(),
          "): govledgerd writes there; give it a writable directory"));
    }
    // RocksDB says IO error for the directory, Invalid argument for a file it may not read.
    if (s.ToString().find("Permission denied") != std::string::npos) {
      return MayNotReadOrWrite(dir, s.ToString());
    }
    // The open writes: what it replays from the write-ahead log goes into a table first.
    if (s.ToString().find("No space left on device") != std::string::npos) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "the file system of data directory ", dir, " is full (", s.ToString(),
          "): opening the database writes what its write-ahead log holds into a table (up to "
          "about 300 MiB). Free space there and start again; the database is as it was"));
    }
    if (s.ToString().find("File too large") != std::string::npos) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "a file size limit stopped the open of data directory ", dir, " (", s.ToString(),
          "): opening the database writes what its write-ahead log holds into a table (up to "
          "about 300 MiB). Raise or remove the limit (ulimit -f, systemd's LimitFSIZE=) and "
          "start again; the database is as it was"));
    }
    if (exists && s.IsIOError() && s.ToString().find("MANIFEST-") != std::string::npos &&
        s.ToString().find("No such file or directory") != std::string::npos) {
      // Damage, as a database without its CURRENT file is (RefuseLeftovers): a restart would
      // meet it again.
      return absl::DataLossError(absl::StrCat(
          "data directory ", dir, " names in its CURRENT file a MANIFEST that is not there (",
          s.ToString(),
          "): the database's list of its files is lost. Keep the directory as it "
          "is; restore a copy from a backup elsewhere (govledger admin restore), or, if the "
          "MANIFEST was moved, put it back"));
    }
    if (exists && s.IsCorruption() && s.ToString().find("CURRENT file") != std::string::npos) {
      // Empty or cut short (RocksDB writes it whole, through a temporary file): damage.
      return absl::DataLossError(absl::StrCat(
          "data directory ", dir, " has a damaged CURRENT file (", s.ToString(),
          "), which names the database's MANIFEST. Keep the directory as it is; restore a copy "
          "from a backup elsewhere (govledger admin restore), or, if only CURRENT was damaged, "
          "write the name of its newest MANIFEST file and a line break into CURRENT"));
    }
    if (locked_out) {
      return absl::FailedPreconditionError(absl::StrCat(
          "data directory ", dir, " is in use by another process (", s.ToString(),
          "): a govledgerd is running on it. Stop that one first, or give this one another "
          "--data-dir; a backup of a running daemon's directory is `govledger admin backup`"));
    }
    return FromRocks(s, "open");
  }
  store->db_.reset(raw);
  store->events_ = store->handles_[1];
  store->streams_ = store->handles_[2];
  store->event_ids_ = store->handles_[3];
  store->meta_ = store->handles_[4];
  if (store->handles_.size() > 5) store->projections_ = store->handles_[5];

  std::string version;
  s = store->db_->Get(rocksdb::ReadOptions(), store->meta_, kFormatVersionKey, &version);
  if (s.IsNotFound() && (options.read_only || exists)) {
    return NoFormatVersion(dir);
  } else if (s.IsNotFound() || (s.ok() && version == kPreviousFormatVersion &&
                                  !options.read_only)) {
    // A new database's version, or an upgrade's.
    if (s.ok()) store->upgraded_from_ = version;
    rocksdb::WriteBatch batch;
    RETURN_IF_ERROR(FromRocks(batch.Put(store->meta_, kFormatVersionKey, kFormatVersion),
                              "write format version"));
    RETURN_IF_ERROR(store->WriteSynced(&batch, "write format version"));
  } else if (!s.ok()) {
    return FromRocks(s, "read format version");
  } else if (version != kFormatVersion &&
             !(version == kPreviousFormatVersion && options.read_only)) {
    return OtherFormat(dir, version);
  }
  ASSIGN_OR_RETURN(ChainPoint head, store->LoadHead());
  if (!acknowledged_checked) {
    ASSIGN_OR_RETURN(std::optional<std::string> stored, store->Get(acknowledged->position));
    RETURN_IF_ERROR(CheckAcknowledgedHead(dir, *acknowledged, head, stored));
  }
  if (!options.read_only) {
    // The head is on disk: RocksDB's recovery writes what it replays from the write-ahead log
    // into synced tables before the open returns. The record never goes back (a head set back
    // by damage is the ledger's start to refuse).
    store->written_ = head;
    store->dir_ = dir;
    if (!acknowledged.has_value()) store->acknowledged_head_missing_at_ = head.position;
    ASSIGN_OR_RETURN(store->acknowledged_,
                     AcknowledgedHead::Create(dir, acknowledged.has_value() &&
                                                           acknowledged->position > head.position
                                                       ? *acknowledged
                                                       : head));
  }
  return store;
}

void RocksDbEventStore::RemoveAcknowledgedHeadMadeAtOpen() {
  if (acknowledged_head_missing_at_ == 0 || acknowledged_ == nullptr) return;
  acknowledged_.reset();
  std::error_code ignored;  // the file then says the head it was made from, which is true
  std::filesystem::remove(std::filesystem::path(dir_) / kAcknowledgedHeadFile, ignored);
}

RocksDbEventStore::~RocksDbEventStore() {
  if (db_ != nullptr) {
    for (rocksdb::ColumnFamilyHandle* h : handles_) db_->DestroyColumnFamilyHandle(h);
    db_->Close();
    db_.reset();
  }
  if (dir_lock_ >= 0) ::close(dir_lock_);
}

absl::Status RocksDbEventStore::Write(const std::vector<EventWrite>& events,
                                      const ChainPoint& head) {
  rocksdb::WriteBatch batch;
  char position[8];
  for (const EventWrite& e : events) {
    PutBigEndian<uint64_t>(e.position, position);
    rocksdb::Slice pos(position, 8);
    rocksdb::Status s = batch.Put(events_, pos, e.stored_bytes);
    if (s.ok()) s = batch.Put(streams_, StreamKey(e.stream_id, e.stream_version), pos);
    if (s.ok()) s = batch.Put(event_ids_, AsSlice(e.event_id), pos);
    if (!s.ok()) return FromRocks(s, "batch");
  }
  rocksdb::Status s = batch.Put(meta_, kHeadKey, EncodePoint(head));
  if (!s.ok()) return FromRocks(s, "batch");
  // Not synced here: Sync() syncs the WAL, with every batch written before it, while the
  // ledger writes the next group. Recovery replays the WAL up to its last intact record (a
  // record cut short at its end is dropped: kTolerateCorruptedTailRecords), so a crash keeps a
  // prefix of the batches, never a hole.
  RETURN_IF_ERROR(FromRocks(db_->Write(rocksdb::WriteOptions(), &batch), "commit"));
  std::lock_guard lock(written_mu_);
  written_ = head;
  return absl::OkStatus();
}

absl::Status RocksDbEventStore::Sync() {
  // Every sync takes the gate, so syncs from several threads (the ledger's, a projection's)
  // also run one at a time, and none waits inside RocksDB for another while holding it.
  std::lock_guard lock(gate_->mu);
  if (!gate_->failed.empty()) {
    return errors::Storage("sync", absl::StrCat("a write to the write-ahead log failed before "
                                                "it (", gate_->failed, ")"));
  }
  ChainPoint covered;  // every batch written before the sync begins is synced by it
  {
    std::lock_guard written_lock(written_mu_);
    covered = written_;
  }
  RETURN_IF_ERROR(FromRocks(db_->SyncWAL(), "sync"));
  if (acknowledged_ == nullptr) return absl::OkStatus();
  absl::Status recorded = acknowledged_->Record(covered);
  if (!recorded.ok()) return errors::Storage("record the acknowledged head", recorded.message());
  return absl::OkStatus();
}

absl::Status RocksDbEventStore::WriteSynced(rocksdb::WriteBatch* batch,
                                            absl::string_view operation) {
  RETURN_IF_ERROR(FromRocks(db_->Write(rocksdb::WriteOptions(), batch), operation));
  return Sync();
}

absl::Status RocksDbEventStore::CreateCheckpoint(const std::string& dir) {
  rocksdb::Checkpoint* raw = nullptr;
  RETURN_IF_ERROR(FromRocks(rocksdb::Checkpoint::Create(db_.get(), &raw), "checkpoint"));
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  // log_size_for_flush 0: flush the memtables first, so the copied WAL holds only the commits
  // made during the checkpoint.
  RETURN_IF_ERROR(
      FromRocks(checkpoint->CreateCheckpoint(dir, /*log_size_for_flush=*/0), "checkpoint"));
  // The copy may hold a batch written but not yet synced here; once synced it cannot be lost
  // here while the copy keeps it.
  return Sync();
}

absl::Status RocksDbEventStore::CheckWrites() {
  rocksdb::WriteBatch nothing;
  return WriteSynced(&nothing, "check that the store takes writes");
}

absl::StatusOr<ChainPoint> RocksDbEventStore::LoadPoint(absl::string_view key) {
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), meta_, rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return ChainPoint{};
  if (!s.ok()) return FromRocks(s, "read meta");
  return DecodePoint(key, value);
}

absl::StatusOr<ChainPoint> RocksDbEventStore::LoadHead() { return LoadPoint(kHeadKey); }

absl::StatusOr<ChainPoint> RocksDbEventStore::LoadVerified() { return LoadPoint(kVerifiedKey); }

absl::Status RocksDbEventStore::SaveVerified(const ChainPoint& point) {
  rocksdb::WriteBatch batch;
  RETURN_IF_ERROR(FromRocks(batch.Put(meta_, kVerifiedKey, EncodePoint(point)), "batch"));
  return WriteSynced(&batch, "write verified point");
}

absl::StatusOr<bool> RocksDbEventStore::IndexRebuildUnfinished() {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), meta_, kIndexesRebuildingKey, &value);
  if (s.IsNotFound()) return false;
  RETURN_IF_ERROR(FromRocks(s, "read the index rebuild mark"));
  return true;
}

absl::Status RocksDbEventStore::BeginIndexRebuild() {
  if (projections_ == nullptr) return errors::Storage("rebuild the indexes", "read-only store");
  // The mark and the range deletions in one synced batch: a crash leaves either the old
  // indexes, or empty ones with the mark that says so.
  rocksdb::WriteBatch batch;
  RETURN_IF_ERROR(FromRocks(batch.Put(meta_, kIndexesRebuildingKey, ""), "batch"));
  // Past every key of both: an event id key is 16 bytes, a stream key starts with ASCII.
  const std::string past_every_key(17, '\xFF');
  RETURN_IF_ERROR(FromRocks(batch.DeleteRange(streams_, "", past_every_key), "batch"));
  RETURN_IF_ERROR(FromRocks(batch.DeleteRange(event_ids_, "", past_every_key), "batch"));
  return WriteSynced(&batch, "begin the index rebuild");
}

absl::Status RocksDbEventStore::PutIndexEntries(const std::vector<IndexEntry>& entries) {
  rocksdb::WriteBatch batch;
  char position[8];
  for (const IndexEntry& e : entries) {
    PutBigEndian<uint64_t>(e.position, position);
    const rocksdb::Slice pos(position, 8);
    rocksdb::Status s;
    if (!e.stream_id.empty())
      s = batch.Put(streams_, StreamKey(e.stream_id, e.stream_version), pos);
    if (s.ok() && e.event_id) s = batch.Put(event_ids_, AsSlice(*e.event_id), pos);
    if (!s.ok()) return FromRocks(s, "batch");
  }
  return FromRocks(db_->Write(rocksdb::WriteOptions(), &batch), "write index entries");
}

absl::Status RocksDbEventStore::EndIndexRebuild() {
  rocksdb::WriteBatch batch;
  RETURN_IF_ERROR(FromRocks(batch.Delete(meta_, kIndexesRebuildingKey), "batch"));
  return WriteSynced(&batch, "end the index rebuild");
}

absl::StatusOr<std::optional<std::string>> RocksDbEventStore::Get(uint64_t position) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), events_, PositionKey(position), &value);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) return FromRocks(s, "read event");
  return value;
}

absl::Status RocksDbEventStore::VerifyChecksums() {
  return FromRocks(db_->VerifyChecksum(), "verify table checksums");
}

absl::StatusOr<uint64_t> RocksDbEventStore::LastPosition() {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), events_));
  it->SeekToLast();
  if (!it->Valid()) {
    RETURN_IF_ERROR(FromRocks(it->status(), "read the last position"));
    return 0;
  }
  if (it->key().size() != 8) {
    return absl::DataLossError("the last key of the events column family is not a position");
  }
  return GetBigEndian<uint64_t>(it->key().data());
}

absl::Status RocksDbEventStore::ScanLog(uint64_t from, bool forward, const LogVisitor& fn) {
  rocksdb::ReadOptions options;
  options.readahead_size = 2 << 20;
  options.adaptive_readahead = true;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options, events_));
  std::string start = PositionKey(from);
  uint64_t expected = from;
  if (forward) {
    it->Seek(start);
  } else {
    it->SeekForPrev(start);
  }
  for (; it->Valid(); forward ? it->Next() : it->Prev()) {
    rocksdb::Slice key = it->key();
    if (key.size() != 8) return errors::CorruptEvent(expected, "malformed position key");
    uint64_t position = GetBigEndian<uint64_t>(key.data());
    if (position != expected) break;  // the log is dense; a gap ends the scan
    rocksdb::Slice value = it->value();
    if (!fn(position, absl::string_view(value.data(), value.size()))) break;
    if (!forward && position == 1) break;
    expected = forward ? position + 1 : position - 1;
  }
  return FromRocks(it->status(), "scan log");
}

absl::StatusOr<uint64_t> RocksDbEventStore::StreamVersion(absl::string_view stream_id) {
  std::string last = StreamKey(stream_id, UINT64_MAX);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), streams_));
  it->SeekForPrev(last);
  if (!it->Valid()) {
    RETURN_IF_ERROR(FromRocks(it->status(), "read stream version"));
    return 0;
  }
  rocksdb::Slice key = it->key();
  if (key.size() != stream_id.size() + 9 ||
      std::memcmp(key.data(), stream_id.data(), stream_id.size()) != 0 ||
      key[stream_id.size()] != '\0') {
    return 0;
  }
  return GetBigEndian<uint64_t>(key.data() + stream_id.size() + 1);
}

absl::Status RocksDbEventStore::ScanStream(absl::string_view stream_id, uint64_t from,
                                           bool forward, const StreamVisitor& fn) {
  std::string prefix(stream_id);
  prefix.push_back('\0');
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), streams_));
  std::string start = StreamKey(stream_id, from);
  if (forward) {
    it->Seek(start);
  } else {
    it->SeekForPrev(start);
  }
  uint64_t expected = from;
  for (; it->Valid(); forward ? it->Next() : it->Prev()) {
    rocksdb::Slice key = it->key();
    if (!key.starts_with(prefix) || key.size() != prefix.size() + 8) break;
    uint64_t version = GetBigEndian<uint64_t>(key.data() + prefix.size());
    // Versions are dense: the scan starts at `from` itself (a version past the end, or 0,
    // visits nothing, as in MemoryEventStore) and ends at a gap.
    if (version == 0 || version != expected) break;
    expected = forward ? version + 1 : version - 1;
    if (it->value().size() != 8) {
      return absl::DataLossError(absl::StrCat("stream index of '", stream_id, "' version ",
                                              version, " is malformed"));
    }
    if (!fn(version, GetBigEndian<uint64_t>(it->value().data()))) break;
  }
  return FromRocks(it->status(), "scan stream");
}

absl::StatusOr<std::vector<std::optional<uint64_t>>> RocksDbEventStore::FindEventIds(
    const std::vector<UuidBytes>& event_ids) {
  const size_t n = event_ids.size();
  std::vector<rocksdb::Slice> keys;
  keys.reserve(n);
  for (const UuidBytes& id : event_ids) keys.push_back(AsSlice(id));
  std::vector<rocksdb::PinnableSlice> values(n);
  std::vector<rocksdb::Status> statuses(n);
  // One MultiGet: the memtables and each table's filter are visited once for all the ids.
  db_->MultiGet(rocksdb::ReadOptions(), event_ids_, n, keys.data(), values.data(),
                statuses.data());
  std::vector<std::optional<uint64_t>> out(n);
  for (size_t i = 0; i < n; ++i) {
    if (statuses[i].IsNotFound()) continue;
    RETURN_IF_ERROR(FromRocks(statuses[i], "read event id"));
    if (values[i].size() != 8) return absl::DataLossError("event id index entry is malformed");
    out[i] = GetBigEndian<uint64_t>(values[i].data());
  }
  return out;
}

absl::Status RocksDbEventStore::GetMany(const std::vector<uint64_t>& positions,
                                        const LogVisitor& fn) {
  // MultiGet in slices: one call per slice shares the block look-ups of neighbouring keys.
  constexpr size_t kSlice = 256;
  std::vector<std::string> keys;
  std::vector<rocksdb::Slice> slices;
  std::vector<rocksdb::PinnableSlice> values(kSlice);
  std::vector<rocksdb::Status> statuses(kSlice);
  for (size_t begin = 0; begin < positions.size(); begin += kSlice) {
    const size_t n = std::min(kSlice, positions.size() - begin);
    keys.clear();
    slices.clear();
    for (size_t i = 0; i < n; ++i) keys.push_back(PositionKey(positions[begin + i]));
    for (const std::string& k : keys) slices.emplace_back(k);
    db_->MultiGet(rocksdb::ReadOptions(), events_, n, slices.data(), values.data(),
                  statuses.data(), /*sorted_input=*/true);
    for (size_t i = 0; i < n; ++i) {
      const uint64_t position = positions[begin + i];
      if (statuses[i].IsNotFound()) return errors::CorruptEvent(position, "missing");
      RETURN_IF_ERROR(FromRocks(statuses[i], "read event"));
      const bool more = fn(position, absl::string_view(values[i].data(), values[i].size()));
      values[i].Reset();
      if (!more) {
        for (size_t j = i + 1; j < n; ++j) values[j].Reset();
        return absl::OkStatus();
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> RocksDbEventStore::GetProjection(
    absl::string_view key) {
  if (projections_ == nullptr) return std::nullopt;  // read-only, older database
  // A snapshot is read once per answer or start: keep it out of the block cache, which is
  // the events' (a few hundred kilobytes each would evict thousands of event blocks).
  rocksdb::ReadOptions options;
  options.fill_cache = false;
  std::string value;
  rocksdb::Status s = db_->Get(options, projections_,
                               rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) return FromRocks(s, "read projection");
  return value;
}

absl::Status RocksDbEventStore::PutProjection(absl::string_view key, absl::string_view value,
                                              bool sync) {
  if (projections_ == nullptr) return errors::Storage("write projection", "read-only store");
  rocksdb::WriteBatch batch;
  RETURN_IF_ERROR(FromRocks(batch.Put(projections_, rocksdb::Slice(key.data(), key.size()),
                                      rocksdb::Slice(value.data(), value.size())),
                            "batch"));
  if (!sync) return FromRocks(db_->Write(rocksdb::WriteOptions(), &batch), "write projection");
  return WriteSynced(&batch, "write projection");
}

absl::Status RocksDbEventStore::DeleteProjection(absl::string_view key) {
  if (projections_ == nullptr) return errors::Storage("delete projection", "read-only store");
  return FromRocks(db_->Delete(rocksdb::WriteOptions(), projections_,
                               rocksdb::Slice(key.data(), key.size())),
                   "delete projection");
}

absl::Status RocksDbEventStore::DropProjections(absl::string_view prefix) {
  if (projections_ == nullptr) return errors::Storage("drop projections", "read-only store");
  // [prefix, prefix + 0xFF): every key that starts with the prefix (keys are ASCII). Synced: a
  // rebuild that starts after this never sees a projection of the old fold.
  std::string end(prefix);
  end.push_back('\xFF');
  rocksdb::WriteBatch batch;
  RETURN_IF_ERROR(FromRocks(
      batch.DeleteRange(projections_, rocksdb::Slice(prefix.data(), prefix.size()), end),
      "batch"));
  return WriteSynced(&batch, "drop projections");
}

}  // namespace govledger
