// Reading small whole files (keys, certificates, the tokens file, JSON documents).
#ifndef GOVLEDGER_LEDGER_COMMON_FILES_H_
#define GOVLEDGER_LEDGER_COMMON_FILES_H_

#include <string>

#include "absl/status/statusor.h"

namespace govledger {

// The bytes of the file at `path`, as they are. FAILED_PRECONDITION "cannot read PATH: REASON"
// (the system's reason, e.g. "No such file or directory") when it cannot be opened or read.
absl::StatusOr<std::string> ReadWholeFile(const std::string& path);

}  // namespace govledger

#endif  // GOVLEDGER_LEDGER_COMMON_FILES_H_
