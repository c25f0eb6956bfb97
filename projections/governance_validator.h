// GovernanceValidator: the governance rules, plugged into the ledger's writer
// through the EventValidator hook (ledger/event_validator.h).
//
// It keeps one GovernanceState, the fold of every committed typed event, and
// checks each append's new events against it in Mode::kValidate, applying them
// as it goes so that later events of the same append, and later appends of the
// same group commit, see them. Every change is journalled: a refused append is
// rolled back to where it started, an aborted group to where the group started,
// and a committed group's journal is dropped.
//
// What it accepts (README, "Typed governance events"): events of a govledger.v1
// type this version knows, when their payload is well formed, on their entity's
// stream, and allowed by the rules; events of any type outside package
// govledger.v1 unchecked (opaque, e.g. the benchmark's
// "govledger.bench.Filler"). Refused: INVALID_ARGUMENT for a malformed payload,
// a wrong stream or an unknown govledger.v1 type; FAILED_PRECONDITION naming
// the entity and the rule. Recover replays the stored log without checking
// rules and never fails on content (a log written by a newer version, with
// types this one does not know, still opens).
//
// Thread-safety: as EventValidator (the writer thread only). state() may be
// read only while no append is in progress (tests, or before the ledger
// starts).
#ifndef GOVLEDGER_PROJECTIONS_GOVERNANCE_VALIDATOR_H_
#define GOVLEDGER_PROJECTIONS_GOVERNANCE_VALIDATOR_H_

#include <cstdint>
#include <vector>

#include "ledger/event_validator.h"
#include "projections/governance_state.h"

namespace govledger::projections {

class GovernanceValidator : public EventValidator {
 public:
  GovernanceValidator();

  absl::Status Recover(EventStore& store, uint64_t head) override;
  void BeginGroup() override;
  absl::Status CheckAppend(const std::vector<const v1::Event*>& events,
                           const AppendContext& context) override;
  void CommitGroup() override;
  void AbortGroup() override;

  const GovernanceState& state() const { return state_; }

  // Recover's counts: governance events replayed, and those skipped (unknown
  // type or not applicable; they stay in the log, readable and verified).
  uint64_t replayed_events() const { return replayed_; }
  uint64_t skipped_events() const { return skipped_; }

 private:
  GovernanceState state_;
  UndoJournal journal_;
  uint64_t replayed_ = 0;
  uint64_t skipped_ = 0;
};

}  // namespace govledger::projections

#endif  // GOVLEDGER_PROJECTIONS_GOVERNANCE_VALIDATOR_H_
