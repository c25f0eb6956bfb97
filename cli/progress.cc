#include "cli/progress.h"

#include <unistd.h>

#include <cstdio>
#include <utility>

#include "absl/strings/str_format.h"

namespace govledger::cli {
namespace {

Progress* shown = nullptr;  // the bar on the terminal, if any (the CLI has one thread)

}  // namespace

Progress::Progress(std::string label, uint64_t total, std::string unit)
    : label_(std::move(label)),
      total_(total),
      unit_(std::move(unit)),
      enabled_(::isatty(STDERR_FILENO) == 1) {}

Progress::~Progress() { Finish(); }

void Progress::Update(uint64_t done) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  Draw(done);
}

void Progress::Draw(uint64_t done) {
  constexpr int kWidth = 30;
  std::string line;
  if (total_ > 0) {
    const uint64_t shown = done > total_ ? total_ : done;
    const int filled = static_cast<int>(shown * kWidth / total_);
    line = absl::StrFormat("\r%s [%s%s] %3d%% %d/%d %s", label_, std::string(filled, '#'),
                           std::string(kWidth - filled, ' '),
                           static_cast<int>(shown * 100 / total_), done, total_, unit_);
  } else {
    line = absl::StrFormat("\r%s %d %s", label_, done, unit_);
  }
  std::fputs(line.c_str(), stderr);
  std::fputs("\x1b[K", stderr);  // clear what a longer earlier line left
  std::fflush(stderr);
  drawn_ = true;
  shown = this;
}

void Progress::Finish() {
  if (shown == this) shown = nullptr;
  if (!enabled_ || !drawn_) return;
  std::fputs("\r\x1b[K", stderr);
  std::fflush(stderr);
  drawn_ = false;
}

void Progress::FinishShown() {
  if (shown != nullptr) shown->Finish();
}

}  // namespace govledger::cli
