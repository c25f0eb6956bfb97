#include "ledger/store/acknowledged_head.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ledger/common/files.h"
#include "ledger/common/numbers.h"
#include "ledger/common/status_macros.h"
#include "ledger/crypto/sha256.h"
#include "ledger/store/rocksdb_crc32c.h"

namespace govledger {
namespace {

// FORMAT.md, "Acknowledged head": four lines, the last a CRC32C of the three before it.
constexpr absl::string_view kFirstLine = "govledger acknowledged head v1\n";
constexpr size_t kPositionDigits = 20;  // every uint64_t
constexpr size_t kRecordSize = kFirstLine.size() + (9 + kPositionDigits + 1) +
                               (5 + 2 * crypto::kHashSize + 1) + (7 + 8 + 1);

// How often a thread syncs a record written since the last sync.
constexpr std::chrono::seconds kSyncInterval(1);

std::string PathIn(const std::string& dir) {
  return (std::filesystem::path(dir) / kAcknowledgedHeadFile).string();
}

// What to do about a file that cannot be believed.
std::string RemoveAdvice(const std::string& dir, bool directory = false) {
  return absl::StrCat("remove ", PathIn(dir), directory ? " (a directory: `rm -r`)" : "",
                      " only once you accept that, and start again");
}

}  // namespace

std::string EncodeAcknowledgedHead(const ChainPoint& head) {
  std::string out = absl::StrCat(kFirstLine, "position ",
                                 absl::StrFormat("%020u", head.position), "\nhash ",
                                 crypto::ToHex(crypto::AsBytes(head.hash)), "\n");
  const uint32_t crc = rocksdb::crc32c::Extend(0, out.data(), out.size());
  absl::StrAppend(&out, "crc32c ", absl::StrFormat("%08x", crc), "\n");
  return out;
}

absl::StatusOr<ChainPoint> DecodeAcknowledgedHead(absl::string_view bytes) {
  if (bytes.size() != kRecordSize || !absl::StartsWith(bytes, kFirstLine)) {
    return absl::DataLossError(absl::StrCat(
        "it is not a record this govledgerd writes (", bytes.size(), " bytes; a record is ",
        kRecordSize, " starting \"govledger acknowledged head v1\")"));
  }
  const size_t crc_at = bytes.size() - (7 + 8 + 1);
  uint32_t crc = 0;
  if (bytes.substr(crc_at, 7) != "crc32c " || bytes.back() != '\n' ||
      !absl::SimpleHexAtoi(bytes.substr(crc_at + 7, 8), &crc) ||
      crc != rocksdb::crc32c::Extend(0, bytes.data(), crc_at)) {
    return absl::DataLossError("its checksum does not match its contents");
  }
  absl::string_view rest = bytes.substr(kFirstLine.size());
  ChainPoint head;
  absl::StatusOr<std::string> hash;
  if (!absl::StartsWith(rest, "position ") ||
      !ParseWholeNumber(std::string_view(rest.data(), rest.size()).substr(9, kPositionDigits),
                        UINT64_MAX, &head.position) ||
      rest.substr(9 + kPositionDigits, 6) != "\nhash " ||
      !(hash = crypto::FromHex(rest.substr(15 + kPositionDigits, 2 * crypto::kHashSize))).ok() ||
      hash->size() != crypto::kHashSize) {
    return absl::DataLossError("its position or hash line is malformed");
  }
  std::memcpy(head.hash.data(), hash->data(), crypto::kHashSize);
  return head;
}

absl::StatusOr<std::optional<ChainPoint>> ReadAcknowledgedHead(const std::string& dir) {
  const std::string path = PathIn(dir);
  std::error_code ec;
  const std::filesystem::file_status status = std::filesystem::status(path, ec);
  if (status.type() == std::filesystem::file_type::not_found) return std::nullopt;
  absl::StatusOr<ChainPoint> head =
      absl::DataLossError("it is not a file (a directory or another kind of entry)");
  if (ec || std::filesystem::is_regular_file(status)) {
    ASSIGN_OR_RETURN(std::string bytes, ReadWholeFile(path, kSmallFileBytes));
    head = DecodeAcknowledgedHead(bytes);
  }
  if (!head.ok()) {
    return absl::DataLossError(absl::StrCat(
        path, " is damaged: ", head.status().message(),
        ". It records the last head "
        "govledgerd acknowledged, which a start checks the database against, and is written "
        "only by govledgerd; nothing in the data directory was changed. Check the database "
        "against a witness's tree heads or a backup (on a copy of the directory without the "
        "file, served by a govledgerd on another address: `govledger verify`, `govledger "
        "witness`), and ",
        RemoveAdvice(dir, std::filesystem::is_directory(status))));
  }
  return *head;
}

absl::Status AcknowledgedWithoutDatabase(const std::string& dir, const ChainPoint& acknowledged) {
  return absl::DataLossError(absl::StrCat(
      "data directory ", dir, " holds ", PathIn(dir), ", which records that govledgerd "
      "acknowledged every event up to position ", acknowledged.position, ", but no database: "
      "its files were removed or not copied with it, or --data-dir names the wrong directory. "
      "Nothing in it was changed. Give the directory that holds the ledger, or restore a "
      "backup that holds position ", acknowledged.position, " (govledger admin restore), or "
      "put back the files it came from (removing ", PathIn(dir), " would start a new, empty "
      "ledger here)"));
}

absl::Status CheckAcknowledgedHead(const std::string& dir, const ChainPoint& acknowledged,
                                   const ChainPoint& head,
                                   const std::optional<std::string>& stored) {
  const std::string restore = absl::StrCat(
      "nothing in it was changed. Restore the data directory from a backup that holds position ",
      acknowledged.position, " (govledger admin restore), or put back the files it came from");
  const std::string recorded = crypto::ToHex(crypto::AsBytes(acknowledged.hash));
  const absl::string_view hash = stored.has_value() ? StoredEventHash(*stored) : "";
  if (acknowledged.position == 0 ? acknowledged.hash == crypto::kGenesisHash
                                 : hash == crypto::AsBytes(acknowledged.hash)) {
    return absl::OkStatus();  // a head set back below it is the chain check's to report
  }
  if (head.position < acknowledged.position) {
    return absl::DataLossError(absl::StrCat(
        "data directory ", dir, " has lost acknowledged events: its log ends at position ",
        head.position, ", but govledgerd acknowledged every event up to position ",
        acknowledged.position, " (", PathIn(dir),
        "). Its write-ahead log (a *.log file) was "
        "cut short, or files of an older copy were put in its place; ",
        restore,
        ". To go on "
        "without ",
        head.position + 1 == acknowledged.position
            ? absl::StrCat("position ", acknowledged.position)
            : absl::StrCat("positions ", head.position + 1, " to ", acknowledged.position),
        " (their clients were told they were stored, and new events will take their "
        "positions), ",
        RemoveAdvice(dir)));
  }
  const std::string found =
      !stored.has_value() ? std::string("no event")
      : hash.empty()      ? std::string("an event too short to hold a hash")
                          : absl::StrCat("an event with hash ", crypto::ToHex(hash));
  return absl::DataLossError(absl::StrCat(
      "data directory ", dir, " does not hold the log govledgerd acknowledged: at position ",
      acknowledged.position, " it has ", found, ", but ", PathIn(dir),
      " records the event acknowledged there with hash ", recorded,
      ". Its files were replaced by another ledger's or rewritten; ", restore,
      ". If the directory is meant to hold this other log, ", RemoveAdvice(dir)));
}

absl::StatusOr<std::unique_ptr<AcknowledgedHead>> AcknowledgedHead::Create(
    const std::string& dir, const ChainPoint& head) {
  const std::string path = PathIn(dir);
  if (absl::Status written =
          WriteFileAtomically(path, EncodeAcknowledgedHead(head), 0600, IfExists::kReplace);
      !written.ok()) {
    // Out of space (or over a file size limit) at start: say what to do, as the store's open
    // does.
    std::string advice;
    if (absl::IsResourceExhausted(written)) {
      advice = absl::StrContains(written.message(), "File too large")
                   ? ". A file size limit stopped it: raise or remove the limit (ulimit -f, "
                     "systemd's LimitFSIZE=) and start again; the database is as it was"
                   : ". The data directory's file system is full: free space there and start "
                     "again; the database is as it was";
    }
    return absl::Status(written.code(), absl::StrCat("record the acknowledged head: ",
                                                     written.message(), advice));
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return FileError("open", path, errno);
  return std::unique_ptr<AcknowledgedHead>(new AcknowledgedHead(path, fd, head.position));
}

AcknowledgedHead::AcknowledgedHead(std::string path, int fd, uint64_t recorded)
    : path_(std::move(path)), fd_(fd), recorded_(recorded), syncer_([this] { SyncLoop(); }) {}

AcknowledgedHead::~AcknowledgedHead() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  syncer_.join();  // it syncs a last unsynced record before it ends
  ::close(fd_);
}

absl::Status AcknowledgedHead::Record(const ChainPoint& head) {
  std::lock_guard lock(mu_);
  if (!error_.ok()) return error_;
  if (head.position <= recorded_) return absl::OkStatus();
  const std::string record = EncodeAcknowledgedHead(head);
  // One write at offset 0, of a record as long as the one it replaces: a crash leaves the old
  // record or the new one (a record is far smaller than a disk sector).
  const ssize_t n = ::pwrite(fd_, record.data(), record.size(), 0);
  if (n != static_cast<ssize_t>(record.size())) {
    error_ = n < 0 ? FileError("write", path_, errno)
                   : FileError("write", path_, EIO);  // short: the file system failed
    return error_;
  }
  recorded_ = head.position;
  unsynced_ = true;
  return absl::OkStatus();
}

void AcknowledgedHead::SyncLoop() {
  std::unique_lock lock(mu_);
  while (true) {
    const bool stopping = wake_.wait_for(lock, kSyncInterval, [this] { return stop_; });
    if (unsynced_ && error_.ok()) {
      unsynced_ = false;
      // Unlocked: a record written meanwhile is synced by the next round.
      lock.unlock();
      const int failed = ::fdatasync(fd_) == 0 ? 0 : errno;
      lock.lock();
      if (failed != 0 && error_.ok()) error_ = FileError("sync", path_, failed);
    }
    if (stopping) return;
  }
}

}  // namespace govledger
