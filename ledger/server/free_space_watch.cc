#include "ledger/server/free_space_watch.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ledger/common/errors.h"

namespace govledger {

namespace {

// Fewer free files (inodes) than this on the data directory's file system count as a full disk.
constexpr uint64_t kMinFreeFiles = 256;

// The store's files are gone from every directory, but the daemon holds them open and serves
// every acknowledged event from them: a stop (or restart) would lose those since the last
// backup. It begins with errors::kDoNotStop, so that nothing else says to restart.
std::string DirectoryGoneAdvice() {
  return absl::StrCat(
      errors::kDoNotStop,
      " its open files are now the only copy of the events appended since the last backup, and "
      "it still serves them. Export the log first (govledger export --out FILE), then stop "
      "govledgerd, restore the last backup (govledger admin restore), start it and import FILE "
      "(govledger import FILE appends again the events the backup lacks, with new recorded "
      "times, hashes and actors). A start on an empty directory starts a new, empty ledger");
}

// Where the directory open as `fd` is now, if it is still linked into the file system (moved
// or renamed, not removed): Linux names it at /proc/self/fd.
std::optional<std::string> NowAt(int fd) {
  struct stat held {};
  if (fd < 0 || ::fstat(fd, &held) != 0 || held.st_nlink == 0) return std::nullopt;
  std::error_code ec;
  const std::filesystem::path at =
      std::filesystem::read_symlink(absl::StrCat("/proc/self/fd/", fd), ec);
  if (ec) return std::nullopt;
  // Only a name that reaches this very directory (a removed one's name ends " (deleted)"; one
  // on a file system unmounted is named from the detached mount, "/"). A name this user may not
  // look up (moved under a directory it cannot search) is believed: it is what /proc says.
  struct stat there {};
  if (::stat(at.c_str(), &there) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
  } else if (there.st_dev != held.st_dev || there.st_ino != held.st_ino) {
    return std::nullopt;
  }
  return at.string();
}

}  // namespace

FreeSpaceWatch::FreeBytes FreeSpaceWatch::Of(std::string path) {
  struct stat at_start {};
  const bool known = ::stat(path.c_str(), &at_start) == 0;
  // The directory's own name, symlinks resolved: where it stays when only a symlink at `path`
  // is repointed.
  std::error_code unresolved;
  std::string resolved = std::filesystem::canonical(path, unresolved).string();
  // Held open for the daemon's life, to tell a directory moved from one removed.
  std::shared_ptr<const int> held(new int(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)),
                                  [](const int* fd) {
                                    if (*fd >= 0) ::close(*fd);
                                    delete fd;
                                  });
  return [path = std::move(path), resolved = std::move(resolved), known, device = at_start.st_dev,
          inode = at_start.st_ino, held = std::move(held)]() -> absl::StatusOr<uint64_t> {
    struct stat now {};
    const int stat_error = ::stat(path.c_str(), &now) == 0 ? 0 : errno;
    if (known && (stat_error == ENOENT || stat_error == ENOTDIR ||
                  (stat_error == 0 && (now.st_dev != device || now.st_ino != inode)))) {
      if (const std::optional<std::string> moved = NowAt(*held)) {
        return absl::NotFoundError(absl::StrCat(
            "the data directory ", path,
            *moved == resolved
                ? absl::StrCat(" stopped leading to the ledger's directory, ", *moved,
                               ", while govledgerd ran (a symlink repointed, or another "
                               "directory put at its name)")
                : absl::StrCat(" was moved to ", *moved, " while govledgerd ran"),
            ": appends written from then on would not be where a start "
            "looks for them, so none is accepted. ",
            errors::kDoNotJustRestart, " a start on ", path,
            " as it is would begin a new, empty ledger there, or serve whatever is there now. "
            "The ledger's files are whole at ",
            *moved, ": stop govledgerd, move ", *moved, " back to ", path,
            " (setting aside first whatever is at ", path,
            " now), and start it again; or start it with --data-dir ", *moved,
            ". No acknowledged event is lost"));
      }
      return absl::NotFoundError(absl::StrCat(
          "the data directory ", path, " was ", stat_error == 0 ? "replaced" : "removed",
          " while govledgerd ran: appends written from then on would be lost with it, so none "
          "is accepted. ",
          DirectoryGoneAdvice()));
    }
    struct statvfs fs;
    if (::statvfs(path.c_str(), &fs) != 0) {
      return absl::UnavailableError(absl::StrCat("statvfs ", path, ": ", std::strerror(errno)));
    }
    // A file system out of files (inodes) refuses a new table or log as one out of bytes does.
    // Some count none at all (f_files 0: btrfs makes them as needed).
    if (fs.f_files > 0 && fs.f_favail < kMinFreeFiles) {
      return absl::ResourceExhaustedError(
          absl::StrCat(fs.f_favail, " files (inodes) free on the file system of ", path,
                       ", below the ", kMinFreeFiles, " RocksDB may make at once"));
    }
    return static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
  };
}

FreeSpaceWatch::FreeSpaceWatch(Ledger* ledger, std::string path, uint64_t min_free_bytes,
                               FreeBytes free_bytes, std::chrono::milliseconds interval,
                               std::function<void(const std::string&)> on_change)
    : ledger_(ledger),
      path_(std::move(path)),
      min_free_bytes_(min_free_bytes),
      free_bytes_(std::move(free_bytes)),
      interval_(interval),
      on_change_(std::move(on_change)) {
  Check();
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "free-space");
    std::unique_lock lock(mu_);
    while (!stop_cv_.wait_for(lock, interval_, [this] { return stopping_; })) {
      lock.unlock();
      Check();
      lock.lock();
    }
  });
}

FreeSpaceWatch::~FreeSpaceWatch() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  thread_.join();
}

int64_t FreeSpaceWatch::ResumeSeconds() const {
  return std::max<int64_t>(
      1, std::chrono::duration_cast<std::chrono::seconds>(interval_ * kResumeChecks).count());
}

void FreeSpaceWatch::Check() {
  absl::StatusOr<uint64_t> free = free_bytes_();
  if (absl::IsNotFound(free.status())) {
    ledger_->StopAppends(free.status());  // logged by the ledger's on_storage_failure
  }
  // Appends stopped by a storage failure resume only with a restart: a pause is lifted without
  // a word (the log's last line had said appends resumed), so that nothing tells a client or
  // an operator that freeing space brings them back.
  if (!ledger_->storage_failure().ok()) {
    if (paused_) ledger_->ResumeAppends();
    paused_ = false;
    free_checks_ = 0;
    return;
  }
  // No floor: the directory alone is watched.
  if (min_free_bytes_ == 0) return;
  if (!free.ok() && !absl::IsResourceExhausted(free.status())) return;
  const bool enough = free.ok() && *free >= min_free_bytes_;
  // Once paused, appends wait for the floor to be free at kResumeChecks checks in a row, so that
  // a disk about the floor (a compaction writing, then deleting) does not flap between the two
  // at every check, each change a line in the log and a health change. Time, not more space:
  // a file system whose data leaves little more than the floor free must still resume.
  free_checks_ = enough ? std::min(free_checks_ + 1, kResumeChecks) : 0;
  if (!enough || (paused_ && free_checks_ < kResumeChecks)) {
    // The message changes with the figure, so it is set on every check while paused. Once the
    // floor is free again, it says so, and when appends resume: not to free space already free
    // (an operator's trial).
    if (enough) {
      ledger_->PauseAppends(absl::StrCat(
          "appends are paused until the disk holding the ledger has had room for ", kResumeChecks,
          " checks in a row: ", *free,
          " bytes are free again on the file system "
          "of ",
          path_, ", at least govledgerd's --min-free-bytes (", min_free_bytes_, "), at ",
          free_checks_, " of the ", kResumeChecks,
          " checks; nothing was stored. Appends resume "
          "by themselves in about ",
          std::max<int64_t>(1, ResumeSeconds() * (kResumeChecks - free_checks_) / kResumeChecks),
          " s: retry then"));
      return;
    }
    const std::string why = absl::StrCat(
        "the disk holding the ledger is nearly full: ",
        !free.ok() ? std::string(free.status().message())
                   : absl::StrCat(*free, " bytes free on the file system of ", path_,
                                  ", below govledgerd's --min-free-bytes (", min_free_bytes_, ")"));
    // Out of files (inodes) rather than bytes: freeing bytes would not do.
    const std::string resume =
        free.ok() ? absl::StrCat(
                        "Free space there: appends resume by themselves once "
                        "--min-free-bytes has been free for ",
                        kResumeChecks, " checks in a row (", ResumeSeconds(), " s)")
                  : absl::StrCat(
                        "Free files there (delete some, or give the file system more "
                        "inodes): appends resume by themselves once it has files and "
                        "--min-free-bytes free for ",
                        kResumeChecks, " checks in a row (", ResumeSeconds(), " s)");
    ledger_->PauseAppends(absl::StrCat(why, "; nothing was stored. ", resume));
    if (!paused_ && on_change_) on_change_(absl::StrCat("appends paused: ", why, ". ", resume));
    paused_ = true;
  } else if (paused_) {
    ledger_->ResumeAppends();
    paused_ = false;
    if (on_change_) {
      on_change_(absl::StrCat("appends resumed: ", *free, " bytes free on the file system of ",
                              path_, " (--min-free-bytes ", min_free_bytes_, ", free at ",
                              kResumeChecks, " checks in a row)"));
    }
  }
}

}  // namespace govledger
