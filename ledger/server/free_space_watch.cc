#include "ledger/server/free_space_watch.h"

#include <pthread.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace govledger {

FreeSpaceWatch::FreeBytes FreeSpaceWatch::Of(std::string path) {
  return [path = std::move(path)]() -> absl::StatusOr<uint64_t> {
    struct statvfs fs;
    if (::statvfs(path.c_str(), &fs) != 0) {
      return absl::UnavailableError(absl::StrCat("statvfs ", path, ": ", std::strerror(errno)));
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

void FreeSpaceWatch::Check() {
  absl::StatusOr<uint64_t> free = free_bytes_();
  if (!free.ok()) return;
  if (*free < min_free_bytes_) {
    // The message changes with the figure, so it is set on every check while paused.
    std::string why = absl::StrCat(
        "the disk holding the ledger is nearly full: ", *free, " bytes free on the file system "
        "of ", path_, ", below govledgerd's --min-free-bytes (", min_free_bytes_,
        "); nothing was stored. Free space there: appends resume by themselves");
    ledger_->PauseAppends(why);
    if (!paused_ && on_change_) on_change_(absl::StrCat("appends paused: ", why));
    paused_ = true;
  } else if (paused_) {
    ledger_->ResumeAppends();
    paused_ = false;
    if (on_change_) {
      on_change_(absl::StrCat("appends resumed: ", *free, " bytes free on the file system of ",
                              path_, " (--min-free-bytes ", min_free_bytes_, ")"));
    }
  }
}

}  // namespace govledger
