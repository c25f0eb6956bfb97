// Which events corrections void (README, "Rules checked on append", the bullet on corrections).
//
// A CorrectionRecorded names an earlier governance event of the log. The named
// event is voided: the rules checked on append and every answer whose cut sees
// the correction leave it out, as if it had never been recorded (it stays in
// the log, and in its stream's history). A log written before the rule that a
// correction is not corrected (governance_validator.cc, CheckCorrected) may hold
// a correction of a correction; that voids the correction, and the event it named
// counts again. So an event is voided when at least one of the corrections naming
// it is not voided.
// Folds (the rules' state, every answer) leave out the voided events other
// than corrections: a correction always folds, since all it does is record the
// event it names, and that record is what lets a later correction of it
// restore the event.
//
// Pure functions; thread-compatible.
#ifndef GOVLEDGER_PROJECTIONS_CORRECTIONS_H_
#define GOVLEDGER_PROJECTIONS_CORRECTIONS_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"

namespace govledger::projections {

// The voided events of `corrections`: (correcting, corrected) pairs in log
// order, each naming an event recorded before it (as the rules require). Key:
// an event's position, or its lower-case id.
template <typename Key>
absl::flat_hash_set<Key> VoidedEvents(
    const std::vector<std::pair<Key, Key>>& corrections) {
  // Newest first: a correction's own corrections all come after it, so
  // whether it is voided is settled before it is reached.
  absl::flat_hash_set<Key> voided;
  for (auto it = corrections.rbegin(); it != corrections.rend(); ++it) {
    if (!voided.contains(it->first)) voided.insert(it->second);
  }
  return voided;
}

// The events a fold leaves out: VoidedEvents less the corrections.
template <typename Key>
absl::flat_hash_set<Key> LeftOutEvents(
    const std::vector<std::pair<Key, Key>>& corrections) {
  absl::flat_hash_set<Key> out = VoidedEvents(corrections);
  for (const auto& [correcting, corrected] : corrections) out.erase(correcting);
  return out;
}

// The same from a state's record of corrections (GovernanceState::corrections:
// lower-case id of a corrected event -> lower-case ids of the corrections
// naming it), which does not keep their order.
absl::flat_hash_set<std::string> VoidedEvents(
    const absl::node_hash_map<std::string, std::vector<std::string>>&
        corrections);

}  // namespace govledger::projections

#endif  // GOVLEDGER_PROJECTIONS_CORRECTIONS_H_
