// A one-line progress bar on stderr for long CLI commands (import, export, verify), drawn only
// when stderr is a terminal, so that pipes, files and tests see no control characters.
//
//   Progress bar("verifying", head);   // total 0: no percentage, a running count only
//   bar.Update(done);                  // redraws at most 10 times a second
//   bar.Finish();                      // clears the line
// Not thread-safe.
#ifndef GOVLEDGER_CLI_PROGRESS_H_
#define GOVLEDGER_CLI_PROGRESS_H_

#include <chrono>
#include <cstdint>
#include <string>

namespace govledger::cli {

class Progress {
 public:
  // `unit` names what is counted ("events", "bytes").
  Progress(std::string label, uint64_t total, std::string unit = "events");
  ~Progress();

  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void Update(uint64_t done);
  // Clears the bar from the terminal (drawn again by the next Update).
  void Finish();

  // Clears the bar being shown, if any: Fail calls it, so that an error is never printed on
  // the bar's line.
  static void FinishShown();

 private:
  void Draw(uint64_t done);

  const std::string label_;
  const uint64_t total_;
  const std::string unit_;
  const bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace govledger::cli

#endif  // GOVLEDGER_CLI_PROGRESS_H_
