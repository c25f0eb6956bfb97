#include "ledger/common/parse_errors.h"

#include <cstdio>

#include "google/protobuf/stubs/logging.h"

namespace govledger {
namespace {

thread_local ParseErrors* current = nullptr;

void Handle(google::protobuf::LogLevel level, const char* filename, int line,
            const std::string& message) {
  // Only errors: a warning is the operator's, and a fatal message is the last thing a dying
  // process says.
  if (current != nullptr && level == google::protobuf::LOGLEVEL_ERROR) {
    current->Add(message);
    return;
  }
  static const char* const kLevels[] = {"INFO", "WARNING", "ERROR", "FATAL"};
  const int n = static_cast<int>(level);
  std::fprintf(stderr, "[libprotobuf %s %s:%d] %s\n", n >= 0 && n < 4 ? kLevels[n] : "LOG",
               filename, line, message.c_str());
  std::fflush(stderr);
}

}  // namespace

void InstallParseErrorCapture() { google::protobuf::SetLogHandler(&Handle); }

ParseErrors::ParseErrors() : outer_(current) { current = this; }

ParseErrors::~ParseErrors() { current = outer_; }

void ParseErrors::Add(const std::string& message) {
  if (!text_.empty()) text_ += "; ";
  text_ += message;
}

std::string ParseErrors::Suffix() const { return text_.empty() ? "" : ": " + text_; }

}  // namespace govledger
