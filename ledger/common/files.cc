#include "ledger/common/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
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

bool GetBoundedLine(std::istream& in, size_t max_bytes, std::string* line, bool* too_long) {
  line->clear();
  *too_long = false;
  // In chunks, with istream::getline, which finds the newline fast and turns a read error
  // (a file's buffer throws on EIO) into badbit.
  char chunk[1 << 16];
  for (;;) {
    in.getline(chunk, sizeof chunk);
    const size_t got = static_cast<size_t>(in.gcount());
    if (in.bad()) return false;
    if (!in.fail()) {
      // A whole line: gcount counts its newline, unless the input ended first.
      const size_t length = in.eof() ? got : got - 1;
      if (line->size() + length > max_bytes) {
        *too_long = true;
        return false;
      }
      line->append(chunk, length);
      return true;
    }
    if (got == 0) {  // nothing more: the end of the input
      if (line->empty()) return false;
      in.clear(in.rdstate() & ~std::ios::failbit);  // the line ended with the input
      return true;
    }
    // The chunk filled up before a newline.
    if (line->size() + got > max_bytes) {
      *too_long = true;
      return false;
    }
    line->append(chunk, got);
    in.clear(in.rdstate() & ~std::ios::failbit);
  }
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path, size_t max_bytes) {
  std::ifstream in;
  if (absl::Status s = OpenForReading(path, &in); !s.ok()) return s;
  errno = 0;
  std::string bytes;
  char buffer[65536];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    bytes.append(buffer, static_cast<size_t>(in.gcount()));
    if (bytes.size() > max_bytes) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot read ", path, ": it holds more than ", max_bytes,
          " bytes, more than such a file can; is it the right file?"));
    }
  }
  if (in.bad() || (in.fail() && !in.eof())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot read ", path, ": ", errno != 0 ? std::strerror(errno) : "read failed"));
  }
  return bytes;
}

absl::Status FileError(absl::string_view what, const std::string& path, int error) {
  std::string message = absl::StrCat("cannot ", what, " ", path, ": ", std::strerror(error));
  if (error == ENOSPC || error == EDQUOT || error == EFBIG) {
    return absl::ResourceExhaustedError(std::move(message));
  }
  return absl::InternalError(std::move(message));
}

absl::StatusOr<std::string> ReadAll(int fd, const std::string& path) {
  std::string bytes;
  char buffer[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
    }
    if (n == 0) return bytes;
    bytes.append(buffer, static_cast<size_t>(n));
  }
}

bool WriteFully(int fd, absl::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) {
      errno = ENOSPC;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

absl::Status WriteAll(int fd, absl::string_view data, const std::string& path) {
  if (!WriteFully(fd, data)) return FileError("write", path, errno);
  return absl::OkStatus();
}

absl::Status FsyncAndClose(int fd, const std::string& path) {
  const int rc = ::fsync(fd);
  const int error = errno;
  if (::close(fd) != 0 && rc == 0) return FileError("close", path, errno);
  if (rc != 0) return FileError("fsync", path, error);
  return absl::OkStatus();
}

absl::Status FsyncDirectory(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return FileError("open", path, errno);
  const int rc = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  if (rc != 0) return FileError("fsync", path, error);
  return absl::OkStatus();
}

absl::Status WriteFileAtomically(const std::string& path, absl::string_view contents, mode_t mode,
                                 IfExists if_exists) {
  // A name of this call's own, so that two writers of `path` never write one file.
  std::string partial = path + ".partial-XXXXXX";
  const int fd = ::mkostemp(partial.data(), O_CLOEXEC);
  // Named as the file asked for: the temporary name is this function's business.
  if (fd < 0) return FileError("create", path, errno);
  absl::Status status;
  if (::fchmod(fd, mode) != 0) status = FileError("set the mode of", partial, errno);
  if (status.ok()) status = WriteAll(fd, contents, partial);
  if (absl::Status closed = FsyncAndClose(fd, partial); status.ok()) status = closed;
  if (status.ok()) {
    if (if_exists == IfExists::kReplace) {
      if (::rename(partial.c_str(), path.c_str()) != 0) status = FileError("replace", path, errno);
    } else {
      // Renamed only where nothing is; a file system without that (some FUSE ones) gets a
      // hard link, which is as exclusive.
      int rc = ::renameat2(AT_FDCWD, partial.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE);
      if (rc != 0 && (errno == EINVAL || errno == ENOSYS)) rc = ::link(partial.c_str(), path.c_str());
      if (rc != 0) {
        status = errno == EEXIST
                     ? absl::AlreadyExistsError(absl::StrCat("cannot create ", path, ": it exists"))
                     : FileError("create", path, errno);
      }
    }
  }
  ::unlink(partial.c_str());  // after a rename, nothing is there
  if (!status.ok()) return status;
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  return FsyncDirectory(parent.empty() ? "." : parent.string());
}

absl::Status CheckKeyIsPrivate(absl::string_view what, const std::string& path) {
  std::error_code ec;
  using std::filesystem::perms;
  const perms mode = std::filesystem::status(path, ec).permissions();
  if (!ec && (mode & perms::others_all) != perms::none) {
    return absl::FailedPreconditionError(
        absl::StrCat(what, " ", path, " may be ",
                     (mode & perms::others_read) != perms::none ? "read" : "written or run",
                     " by every user; restrict it (chmod o-rwx ", path, ")"));
  }
  return absl::OkStatus();
}

}  // namespace govledger
