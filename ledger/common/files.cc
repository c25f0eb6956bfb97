#include "ledger/common/files.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace govledger {

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  if (in) bytes << in.rdbuf();
  if (!in) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot read ", path, ": ", errno != 0 ? std::strerror(errno) : "read failed"));
  }
  return bytes.str();
}

}  // namespace govledger
