#include "projections/corrections.h"

#include "absl/container/flat_hash_map.h"

namespace govledger::projections {

absl::flat_hash_set<std::string> VoidedEvents(
    const absl::node_hash_map<std::string, std::vector<std::string>>&
        corrections) {
  // voided(e) = some correction c naming e has !voided(c); an event no
  // correction names is not voided. Corrections name earlier events, so the
  // recursion ends; it runs on an explicit stack, since chains of corrections
  // of corrections may be long.
  absl::flat_hash_map<std::string, bool> settled;
  struct Frame {
    const std::string* id;
    const std::vector<std::string>* by;  // the corrections naming it
    size_t next = 0;                     // the next of them to look at
    bool voided = false;
  };
  for (const auto& [root, root_by] : corrections) {
    if (settled.contains(root)) continue;
    std::vector<Frame> stack{Frame{&root, &root_by}};
    while (!stack.empty()) {
      Frame& f = stack.back();
      if (f.voided || f.next == f.by->size()) {
        settled.emplace(*f.id, f.voided);
        const bool voided = f.voided;
        stack.pop_back();
        // The frame below asked about this correction: a correction that
        // stands voids the event it names.
        if (!stack.empty() && !voided) stack.back().voided = true;
        continue;
      }
      const std::string& c = (*f.by)[f.next++];
      if (auto s = settled.find(c); s != settled.end()) {
        if (!s->second) f.voided = true;
        continue;
      }
      auto named = corrections.find(c);
      if (named == corrections.end()) {
        settled.emplace(c, false);  // nothing corrects the correction
        f.voided = true;
        continue;
      }
      stack.push_back(Frame{&named->first, &named->second});
    }
  }
  absl::flat_hash_set<std::string> voided;
  for (const auto& [id, is_voided] : settled) {
    if (is_voided) voided.insert(id);
  }
  return voided;
}

}  // namespace govledger::projections
