// What the hash chain does not cover but every ledger's log holds to: each event id stored
// once, and each stream's versions 1, 2, 3, ... in position order. The ledger keeps both with
// indexes (event_ids, streams: ledger/store/FORMAT.md) that no hash covers, so an index entry
// lost or rewritten in the database could let a retry store its event a second time, or number
// two events of a stream alike, while every hash still chains. `verify` and `verify --file`
// check both over the events they read.
#ifndef GOVLEDGER_CLI_LOG_IDENTITIES_H_
#define GOVLEDGER_CLI_LOG_IDENTITIES_H_

#include <cstdint>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "govledger/v1/ledger.pb.h"
#include "ledger/common/uuid.h"

namespace govledger::cli {

class LogIdentities {
 public:
  // Checks `e`, the next event read in position order. A stream is taken to start at version 1
  // when the first event checked is at position 1; otherwise (an export from a later position)
  // at the version its first event checked has. Returns DATA_LOSS naming the positions, in
  // words that follow "... at position N: ".
  absl::Status Add(const v1::Event& e);

 private:
  bool from_start_ = false;
  uint64_t events_ = 0;
  absl::flat_hash_map<UuidBytes, uint64_t> ids_;  // event id -> its position
  // stream id -> its last version checked and that event's position
  absl::flat_hash_map<std::string, std::pair<uint64_t, uint64_t>> streams_;
};

}  // namespace govledger::cli

#endif  // GOVLEDGER_CLI_LOG_IDENTITIES_H_
