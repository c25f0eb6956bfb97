#include "ledger/store/info_log.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ledger/common/clock.h"
#include "ledger/common/files.h"
#include "ledger/common/numbers.h"

namespace govledger {
namespace {

constexpr char kOldPrefix[] = "LOG.old.";

// The wall clock's time, for a human's log: not the ledger's (injected) clock.
uint64_t NowMicros() { return static_cast<uint64_t>(SystemClock().NowMicros()); }

}  // namespace

InfoLog::InfoLog(std::string dir, size_t max_bytes, size_t keep)
    : rocksdb::Logger(rocksdb::InfoLogLevel::INFO_LEVEL),
      dir_(std::move(dir)),
      path_(dir_ + "/LOG"),
      max_bytes_(max_bytes),
      keep_(std::max<size_t>(keep, 1)) {}

InfoLog::~InfoLog() { Close().PermitUncheckedError(); }

rocksdb::Status InfoLog::CloseImpl() {
  std::lock_guard lock(mu_);
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  shut_ = true;
  return rocksdb::Status::OK();
}

void InfoLog::Keep() {
  std::lock_guard lock(mu_);
  if (!holding_) return;
  holding_ = false;
  if (shut_) return;
  OpenFile();
  // Line by line, so that the size limit rolls the file between them as it would have.
  for (const std::string& line : held_) Write(line);
  held_.clear();
}

void InfoLog::Discard() {
  std::lock_guard lock(mu_);
  holding_ = false;
  held_.clear();
  shut_ = true;
}

uint64_t InfoLog::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

void InfoLog::OpenFile() {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  struct stat st;
  size_ = fd_ >= 0 && ::fstat(fd_, &st) == 0 ? static_cast<size_t>(st.st_size) : 0;
}

void InfoLog::Roll() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  // RocksDB's own name for an old info log, which its clean-up of obsolete files knows too.
  uint64_t stamp = NowMicros();
  std::error_code ec;
  while (std::filesystem::exists(absl::StrCat(path_, ".old.", stamp), ec)) ++stamp;
  std::filesystem::rename(path_, absl::StrCat(path_, ".old.", stamp), ec);
  std::vector<std::pair<uint64_t, std::filesystem::path>> old;
  // Without exceptions: a logger throws into no caller of RocksDB's.
  for (std::filesystem::directory_iterator it(dir_, ec), end; !ec && it != end;
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    uint64_t time = 0;
    if (name.rfind(kOldPrefix, 0) == 0 &&
        ParseWholeNumber(std::string_view(name).substr(sizeof(kOldPrefix) - 1), UINT64_MAX,
                         &time)) {
      old.emplace_back(time, it->path());
    }
  }
  if (old.size() > keep_ - 1) {
    std::sort(old.begin(), old.end());
    for (size_t i = 0; i < old.size() - (keep_ - 1); ++i) {
      std::filesystem::remove(old[i].second, ec);
    }
  }
  OpenFile();
}

void InfoLog::Logv(const char* format, va_list ap) {
  const uint64_t now = NowMicros();
  const time_t seconds = static_cast<time_t>(now / 1000000);
  struct tm t;
  gmtime_r(&seconds, &t);
  char prefix[64];
  const int p = std::snprintf(prefix, sizeof(prefix), "%04d/%02d/%02d-%02d:%02d:%02d.%06d %lx ",
                              t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min,
                              t.tm_sec, static_cast<int>(now % 1000000),
                              static_cast<unsigned long>(pthread_self()));
  std::string line(prefix, static_cast<size_t>(std::max(p, 0)));
  va_list copy;
  va_copy(copy, ap);
  char buffer[1024];
  const int n = std::vsnprintf(buffer, sizeof(buffer), format, copy);
  va_end(copy);
  if (n < 0) return;
  if (static_cast<size_t>(n) < sizeof(buffer)) {
    line.append(buffer, static_cast<size_t>(n));
  } else {
    const size_t start = line.size();
    line.resize(start + static_cast<size_t>(n) + 1);
    std::vsnprintf(line.data() + start, static_cast<size_t>(n) + 1, format, ap);
    line.resize(start + static_cast<size_t>(n));
  }
  if (line.back() != '\n') line.push_back('\n');

  std::lock_guard lock(mu_);
  if (shut_) return;
  if (holding_) {
    held_.push_back(std::move(line));
    return;
  }
  Write(line);
}

void InfoLog::Write(const std::string& line) {
  if (fd_ >= 0 && size_ > 0 && size_ + line.size() > max_bytes_) Roll();
  if (fd_ < 0) OpenFile();
  if (fd_ >= 0 && WriteFully(fd_, line)) {
    size_ += line.size();
    failing_ = false;
  } else {
    const int error = errno;
    ++dropped_;
    if (!failing_) {
      failing_ = true;
      std::fprintf(stderr,
                   "govledgerd: the info log %s refused a line (%s); its lines are dropped "
                   "until it takes them again\n",
                   path_.c_str(), std::strerror(error));
    }
    // What did reach the file counts towards the roll.
    struct stat st;
    if (fd_ >= 0 && ::fstat(fd_, &st) == 0) size_ = static_cast<size_t>(st.st_size);
  }
}

}  // namespace govledger
