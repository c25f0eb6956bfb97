// The hash chain of an export (`govledger export`'s lines) read back in file order, as
// `verify --file` checks it and `import` checks an export before storing its events.
#ifndef GOVLEDGER_CLI_EXPORT_CHAIN_H_
#define GOVLEDGER_CLI_EXPORT_CHAIN_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "cli/event_json.h"
#include "ledger/crypto/sha256.h"

namespace govledger::cli {

class ExportChain {
 public:
  // `allow_gaps`: positions may be skipped (an export of one stream), each event after a gap
  // then checked on its own; otherwise a skipped position is damage (a line deleted or moved).
  // With gaps allowed, every event is of the first one's stream (INVALID_ARGUMENT otherwise:
  // the option does not fit the file) and takes the next stream version (versions are dense: a
  // version skipped is an event deleted).
  explicit ExportChain(bool allow_gaps) : allow_gaps_(allow_gaps) {}

  // Checks the next line's event, `e` (read with its server fields; position 1 or more): its
  // hash against its content (or its storedBytes) and the previous hash it states; that its
  // position comes after the last one's; position 1's link to the genesis hash; its link to the
  // event before it when that one is the previous position. Returns its hash; else
  // DATA_LOSS saying why, in words that follow "the export does not verify at position N: "
  // (or INVALID_ARGUMENT, a sentence of its own, for a file of several streams with gaps
  // allowed).
  absl::StatusOr<crypto::Hash> Add(const ExportedEvent& e);

  uint64_t events() const { return events_; }
  uint64_t first() const { return first_; }  // position of the first event; 0 before one
  uint64_t last() const { return last_; }
  uint64_t gaps() const { return gaps_; }
  const crypto::Hash& last_hash() const { return last_hash_; }

 private:
  bool allow_gaps_;
  uint64_t events_ = 0, first_ = 0, last_ = 0, gaps_ = 0;
  std::string stream_;         // with gaps allowed: the first event's stream
  uint64_t last_version_ = 0;  // and the last event's version in it
  crypto::Hash last_hash_{};
};

}  // namespace govledger::cli

#endif  // GOVLEDGER_CLI_EXPORT_CHAIN_H_
