// Reading files: small whole files (keys, certificates, the tokens file, JSON documents), and
// files read line by line (an import, an export to verify).
#ifndef GOVLEDGER_LEDGER_COMMON_FILES_H_
#define GOVLEDGER_LEDGER_COMMON_FILES_H_

#include <fstream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace govledger {

// Opens the file at `path` for reading into `*file`. FAILED_PRECONDITION "cannot read PATH:
// REASON" (the system's reason, e.g. "No such file or directory", or "it is a directory", which
// a stream would otherwise open and read as empty) when it cannot be opened.
absl::Status OpenForReading(const std::string& path, std::ifstream* file);

// The bytes of the file at `path`, as they are. FAILED_PRECONDITION as OpenForReading, or
// "cannot read PATH: REASON" when it cannot be read.
absl::StatusOr<std::string> ReadWholeFile(const std::string& path);

}  // namespace govledger

#endif  // GOVLEDGER_LEDGER_COMMON_FILES_H_
