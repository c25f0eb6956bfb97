#include "ledger/common/files.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace govledger {

absl::Status OpenForReading(const std::string& path, std::ifstream* file) {
  auto cannot = [&](absl::string_view reason) {
    return absl::FailedPreconditionError(absl::StrCat("cannot read ", path, ": ", reason));
  };
  if (struct stat st; ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return cannot("it is a directory; name a file");
  }
  errno = 0;
  file->open(path, std::ios::binary);
  if (!*file) return cannot(errno != 0 ? std::strerror(errno) : "open failed");
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in;
  if (absl::Status s = OpenForReading(path, &in); !s.ok()) return s;
  errno = 0;
  std::stringstream bytes;
  bytes << in.rdbuf();
  if (!in) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot read ", path, ": ", errno != 0 ? std::strerror(errno) : "read failed"));
  }
  return bytes.str();
}

}  // namespace govledger
