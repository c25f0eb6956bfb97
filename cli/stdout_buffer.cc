#include "cli/stdout_buffer.h"

#include <unistd.h>

#include <cerrno>
#include <iostream>
#include <streambuf>

namespace govledger::cli {
namespace {

class StdoutBuffer final : public std::streambuf {
 public:
  StdoutBuffer() { Reset(); }
  int error() const { return error_; }

 protected:
  int_type overflow(int_type c) override {
    if (!Drain()) return traits_type::eof();
    if (!traits_type::eq_int_type(c, traits_type::eof())) {
      *pptr() = traits_type::to_char_type(c);
      pbump(1);
    }
    return traits_type::not_eof(c);
  }
  int sync() override { return Drain() ? 0 : -1; }

 private:
  void Reset() { setp(buffer_, buffer_ + sizeof buffer_); }
  // Writes what is buffered; false (error_ set, if unset) when a write fails. What a failed
  // write left is dropped: the output is incomplete either way, and the command says so.
  bool Drain() {
    const char* p = pbase();
    size_t left = static_cast<size_t>(pptr() - pbase());
    Reset();
    while (left > 0) {
      const ssize_t n = ::write(STDOUT_FILENO, p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        if (error_ == 0) error_ = n < 0 ? errno : EIO;
        return false;
      }
      p += n;
      left -= static_cast<size_t>(n);
    }
    return true;
  }

  char buffer_[1 << 16];
  int error_ = 0;
};

// Never destroyed: std::cout is flushed at exit, after static objects may be gone.
StdoutBuffer* buffer = nullptr;

}  // namespace

void InstallStdoutBuffer() {
  if (buffer != nullptr) return;
  buffer = new StdoutBuffer();
  std::cout.rdbuf(buffer);
  if (::isatty(STDOUT_FILENO) == 1) std::cout.setf(std::ios::unitbuf);
}

int StdoutWriteError() { return buffer == nullptr ? 0 : buffer->error(); }

}  // namespace govledger::cli
