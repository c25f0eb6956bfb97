// Reading and writing files. Reading: small whole files (keys, certificates, the tokens file,
// JSON documents), and files read line by line (an import, an export to verify). Writing, always
// durably: small whole files that must never be seen half written (keys, kept tree heads, the
// daemon's port file), and the pieces a writer of many files builds from (a backup).
#ifndef GOVLEDGER_LEDGER_COMMON_FILES_H_
#define GOVLEDGER_LEDGER_COMMON_FILES_H_

#include <sys/types.h>

#include <fstream>
#include <istream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace govledger {

// Opens the file at `path` for reading into `*file`. FAILED_PRECONDITION "cannot read PATH:
// REASON" (the system's reason, e.g. "No such file or directory", or "it is a directory", which
// a stream would otherwise open and read as empty) when it cannot be opened.
absl::Status OpenForReading(const std::string& path, std::ifstream* file);

// The bytes of the file at `path`, as they are. FAILED_PRECONDITION as OpenForReading, or
// "cannot read PATH: REASON" when it cannot be read, or holds more than `max_bytes` (read no
// further: /dev/zero, or a wrong file, given for a key would otherwise fill the memory).
absl::StatusOr<std::string> ReadWholeFile(const std::string& path, size_t max_bytes);

// ReadWholeFile's limit for a key, a certificate (bundle), a tree head: each far smaller.
inline constexpr size_t kSmallFileBytes = size_t{1} << 20;

// FAILED_PRECONDITION "WHAT PATH may be read (or: written or run) by every user; restrict it
// (chmod o-rwx PATH)" when
// other users may read, write or run the file at `path`: a private key every user of the
// machine may read is no longer private (PostgreSQL and ssh refuse one the same way). Its group
// may read it, for a key shared with a service group. OK when the file's mode cannot be read
// (reading it says why).
absl::Status CheckKeyIsPrivate(absl::string_view what, const std::string& path);

// std::getline, reading no more than `max_bytes` of one line: false at the end of `in`, and
// false with `*too_long` set when the line holds more (a line of an export, or /dev/zero, is
// then refused rather than read until the memory runs out; `*line` holds its start). A read
// error is false with `in.bad()`, as for std::getline.
bool GetBoundedLine(std::istream& in, size_t max_bytes, std::string* line, bool* too_long);

// "cannot WHAT PATH: REASON", REASON being strerror(`error`): what the writing functions below
// return when the system refuses. RESOURCE_EXHAUSTED for a full file system, a disk quota or a
// file size limit (ENOSPC, EDQUOT, EFBIG), which freeing space mends; otherwise INTERNAL.
absl::Status FileError(absl::string_view what, const std::string& path, int error);

// What WriteFileAtomically does when `path` already exists.
enum class IfExists { kRefuse, kReplace };

// Writes `contents` to the file `path` with permission bits `mode` (exactly: the umask does not
// apply) so that a reader, even after a crash, finds the file as it was (or none) or all of the
// new one, never part: the bytes go to a file of this call's own beside it (PATH.partial-XXXXXX,
// so that concurrent writers of one path do not mix), which is fsynced, then renamed over
// `path` (kReplace) or to `path` only if nothing is there (kRefuse: ALREADY_EXISTS "cannot
// create PATH: it exists", leaving what is there as it was), and the directory is fsynced. An
// error leaves no partial file behind; a crash may (its name says what it is).
absl::Status WriteFileAtomically(const std::string& path, absl::string_view contents, mode_t mode,
                                 IfExists if_exists);

// The pieces, for a writer of many files. WriteAll writes all of `data` to `fd` (short writes and
// EINTR retried); FsyncAndClose fsyncs `fd` and closes it (closed either way); FsyncDirectory
// fsyncs the directory `path`, which makes the names created, renamed or removed in it durable.
// `path` names the file in errors.
absl::Status WriteAll(int fd, absl::string_view data, const std::string& path);
// WriteAll's loop, for a writer that reports errno itself: false, with errno set, if the file
// took less than all of `data` (a full disk, a size limit, an error; a write of 0 bytes is
// ENOSPC).
bool WriteFully(int fd, absl::string_view data);
// The bytes of the open file `fd`, from its offset to its end (EINTR retried): for a reader
// that checks the file it opened (fstat) before it reads it. FAILED_PRECONDITION "cannot read
// PATH: REASON".
absl::StatusOr<std::string> ReadAll(int fd, const std::string& path);
absl::Status FsyncAndClose(int fd, const std::string& path);
absl::Status FsyncDirectory(const std::string& path);

}  // namespace govledger

#endif  // GOVLEDGER_LEDGER_COMMON_FILES_H_
