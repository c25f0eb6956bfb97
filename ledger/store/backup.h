// Backups of a govledger store (ledger/store/FORMAT.md, "Backups"):
//   - the server's side, CheckpointReader: a RocksDB checkpoint of the live
//   store, read as
//     chunks of its files and described by a manifest (AdminService.Backup
//     streams these);
//   - the client's side, BackupWriter: a backup directory written from those
//   chunks, every
//     file checked against the manifest before the directory appears;
//   - Restore: a backup directory checked completely (every file's size and
//   SHA-256, the whole
//     hash chain, the head) before it is put in place as a new data directory.
// A directory made by BackupWriter or Restore appears whole or not at all: it
// is written as a hidden sibling ("<parent>/.<name>.partial-<host>-<pid>"), fsynced,
// and renamed into place.
//
// Error codes: INVALID_ARGUMENT for a directory that cannot be used as asked
// (an output that exists and is not empty, or whose parent does not exist; a
// backup directory that does not exist or has no manifest); DATA_LOSS for data
// that fails a check (the message names the file, or the position in the
// chain); FAILED_PRECONDITION for a manifest of another version; for a
// failed file operation (the message names the file), RESOURCE_EXHAUSTED when
// the file system is full or a size limit is reached, else INTERNAL (FileError). Each object is
// used by one thread at a time.
#ifndef GOVLEDGER_LEDGER_STORE_BACKUP_H_
#define GOVLEDGER_LEDGER_STORE_BACKUP_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "govledger/v1/admin.pb.h"
#include "ledger/crypto/sha256.h"
#include "ledger/store/rocksdb_event_store.h"

namespace govledger::backup {

// The manifest's file name in a backup directory (BackupManifest in protobuf's
// JSON mapping).
inline constexpr char kManifestFile[] = "govledger-backup.json";
// Whether `name` (a file name, no '/') is one a backup or restore gives the hidden copy it
// builds beside its target: ".<target>.partial-<host>-<pid>", or ".<target>.partial-<pid>"
// before 2026-12-07. Sets *suffix to what follows ".partial-".
bool IsPartialCopyName(absl::string_view name, absl::string_view* suffix = nullptr);
// The ledger's data directory or backup `path` lies inside, if any: the nearest ancestor
// holding RocksDB's CURRENT file (a data directory, restored or not) or a backup's manifest.
// Nothing of a ledger is made there: a daemon removes what it finds at the names of its own
// checkpoints, and a file a backup's manifest does not list makes the backup unrestorable.
std::optional<std::string> EnclosingDatabase(const std::string& path);
// BackupManifest.manifest_version written and accepted.
inline constexpr uint32_t kManifestVersion = 1;
// Largest BackupFileChunk.data.
inline constexpr size_t kChunkBytes = 1 << 20;
// The checkpoint's directory inside the data directory, while a backup runs.
inline constexpr char kCheckpointDir[] = "backup-checkpoint";

class TempSibling;

// A checkpoint of a live store in `data_dir`/backup-checkpoint, read file by
// file.
class CheckpointReader {
 public:
  // Removes the checkpoint a backup left in `data_dir` when its process died
  // (govledgerd calls it at start, so that the space is not held until the
  // next backup). REQUIRES: no CheckpointReader on `data_dir` exists.
  static absl::Status RemoveStaleCheckpoint(const std::string& data_dir);
  // Removes what an earlier backup left in `data_dir` if its process died
  // (RemoveStaleCheckpoint), takes a
  // checkpoint of `store` (the database in `data_dir`) while appends continue,
  // and opens it read-only to read the head it holds. `created_micros`
  // (microseconds since the epoch) goes in the manifest.
  static absl::StatusOr<std::unique_ptr<CheckpointReader>> Take(
      RocksDbEventStore& store, const std::string& data_dir,
      int64_t created_micros);
  // Removes the checkpoint directory.
  ~CheckpointReader();
  CheckpointReader(const CheckpointReader&) = delete;
  CheckpointReader& operator=(const CheckpointReader&) = delete;

  // Fills `chunk` with the next piece of the checkpoint's files (at most
  // kChunkBytes; files in name order, each from offset 0, an empty file as one
  // empty chunk) and returns true; returns false when every file has been read,
  // and manifest() is then complete. INTERNAL if a file cannot be read.
  absl::StatusOr<bool> Next(v1::BackupFileChunk* chunk);

  // The head and created time from Take(); the files once Next() has returned
  // false.
  const v1::BackupManifest& manifest() const { return manifest_; }

 private:
  CheckpointReader() = default;
  absl::Status OpenNextFile();

  std::string dir_;
  std::vector<std::string> names_;  // the checkpoint's files, sorted
  size_t next_name_ = 0;            // index in names_ of the file to open next
  int fd_ = -1;                     // the file being read
  uint64_t offset_ = 0;             // bytes of it read so far
  uint64_t size_ = 0;               // bytes of it to send
  std::unique_ptr<crypto::Sha256Stream> hash_;
  v1::BackupManifest manifest_;
};

// Writes a backup directory from a Backup stream.
class BackupWriter {
 public:
  // Checks `dir` (absent, or an empty directory; its parent must exist:
  // INVALID_ARGUMENT otherwise) and creates the hidden sibling the backup is
  // written into.
  static absl::StatusOr<std::unique_ptr<BackupWriter>> Create(
      const std::string& dir);
  // Removes the hidden sibling unless Finish() succeeded.
  ~BackupWriter();
  BackupWriter(const BackupWriter&) = delete;
  BackupWriter& operator=(const BackupWriter&) = delete;

  // Writes one chunk. DATA_LOSS for a chunk that does not continue the stream:
  // a name that is not a plain file name (or is the manifest's), a file sent
  // again after another one began, an offset other than the bytes of the file
  // received so far.
  absl::Status Add(const v1::BackupFileChunk& chunk);

  // Checks that the files received are exactly the manifest's, with its sizes
  // and SHA-256 (DATA_LOSS naming the file otherwise) and that the manifest is
  // well formed, writes the manifest file, fsyncs, checks the database as
  // Restore() does (it opens read-only, its head is the manifest's, the whole
  // chain verifies: DATA_LOSS naming the position otherwise), and renames the
  // directory into place. Returns the bytes of the files (without the manifest).
  absl::StatusOr<uint64_t> Finish(const v1::BackupManifest& manifest);

 private:
  BackupWriter() = default;
  absl::Status CloseCurrent();

  std::string dir_;
  std::unique_ptr<TempSibling>
      temp_;  // where the backup is written; removed unless renamed
  struct Received {
    std::string name;
    uint64_t size = 0;
    std::string sha256;  // hex
  };
  std::vector<Received> files_;
  std::set<std::string> names_;
  int fd_ = -1;  // the file being written (files_.back())
  std::unique_ptr<crypto::Sha256Stream> hash_;
};

// What Restore() checked and put in place.
struct RestoreResult {
  v1::BackupManifest manifest;
  uint64_t bytes = 0;  // of the files copied
};

// Restores the backup in `backup_dir` as the data directory `target`, which
// must not exist or be an empty directory, and must not be in use by a
// govledgerd. Copies the manifest's files into a hidden sibling of `target`,
// checking each one's size and SHA-256 as it is copied (a file missing, or
// present but not in the manifest, is refused too), opens the copy read-only,
// checks its head against the manifest's and verifies the whole hash chain from
// position 1 to the head; drops its projections (derived from the log and covered by no
// hash: the first start rebuilds them); only then fsyncs it and renames it to `target`. On
// any failure `target` is left as it was and the sibling is removed.
absl::StatusOr<RestoreResult> Restore(const std::string& backup_dir,
                                      const std::string& target);

// Which of the backups in `older` the backup in `newer` does not hold whole, for a rotation
// that removes older backups only when a newer one keeps their events: for each, an empty
// string when the newer backup's head is at or past its head's position and the newer log's
// event there has its head's hash (the chain then fixes every earlier event), else why not
// ("it holds 536001 events, the new backup 0", or "its manifest cannot be read: ..." for one
// whose manifest is missing, a directory, over 16 MiB or does not parse). Reads the manifests
// and opens `newer`'s database read-only; each backup was checked whole when it was written.
// FAILED_PRECONDITION for `newer`'s manifest that cannot be read, DATA_LOSS for one that does
// not parse or a database that does not open.
absl::StatusOr<std::vector<std::string>> UncontainedBackups(
    const std::string& newer, const std::vector<std::string>& older);

// The manifest of the backup in `backup_dir`, parsed and checked (its version, its head, each
// file listed once): FAILED_PRECONDITION for one that cannot be read (missing, a directory,
// over 16 MiB), DATA_LOSS for one that does not parse or is not well formed. It does not check
// the files against it (Restore does).
absl::StatusOr<v1::BackupManifest> ReadManifest(const std::string& backup_dir);

// ---- Timed backups (`govledger admin backup --into PARENT`) ----

// The name `--into` gives the backup taken at `micros` (since the epoch, UTC):
// backup-YYYYMMDDTHHMMSS.mmmZ, so that names sort by time.
std::string TimedBackupName(int64_t micros);

// The names of the complete timed backups in `parent`, oldest first: its directories (not
// links to one) named as TimedBackupName names them that hold a manifest file (the CLI moves a
// backup to its name only once it is complete and checked). FAILED_PRECONDITION if `parent`
// cannot be listed, or an entry named as a backup cannot be examined (no permission to enter it).
absl::StatusOr<std::vector<std::string>> ListTimedBackups(const std::string& parent);

}  // namespace govledger::backup

#endif  // GOVLEDGER_LEDGER_STORE_BACKUP_H_
