// The "as at" engine: which events of the log an answer folds, for a selector
// of proto/govledger/v1/query.proto (AsAt), and the fold itself (the same
// GovernanceState, in Mode::kReplay, that the write side validates with).
//
// Pure: takes stored events (server fields set: position, recorded_time,
// effective_time) in position order, and the current time; no gRPC, no
// storage. Thread-compatible: the functions keep no state.
//
// Rules:
// - AS_RECORDED: the events at or before the cut position (for a time cut:
//   recorded at or before it, a prefix of the log since recorded time never
//   goes backwards), in position order.
// - AS_KNOWN: every event of the log (up to known_through, if given) whose
//   effective time is at or before the cut instant, in effective-time order,
//   ties by position.
// - Corrections: an event voided by the CorrectionRecorded events the cut can
//   see (AS_RECORDED: at or before the cut; AS_KNOWN: anywhere in the log
//   read, since they are known) is left out of the fold; corrections
//   themselves are folded like any event. A corrected correction is voided,
//   and the event it named counts again (projections/corrections.h).
#ifndef GOVLEDGER_PROJECTIONS_AS_AT_H_
#define GOVLEDGER_PROJECTIONS_AS_AT_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "govledger/v1/events.pb.h"
#include "govledger/v1/ledger.pb.h"
#include "govledger/v1/query.pb.h"
#include "ledger/common/time.h"
#include "projections/governance_state.h"
#include "projections/plan_dates.h"

namespace govledger::projections {

// A resolved selector.
struct Cut {
  v1::AsAtMode mode = v1::AS_AT_MODE_AS_RECORDED;
  // AS_RECORDED by position: the last position folded. Otherwise unused.
  bool by_position = false;
  uint64_t position = 0;
  // The cut instant, microseconds since the Unix epoch, inclusive (set unless
  // an AS_RECORDED position cut at position 0).
  std::optional<int64_t> micros;
  // AS_KNOWN: the last position read (AsAt.known_through), or 0 for the head.
  uint64_t known_through = 0;
  // AS_KNOWN asked at a position: it (its recorded time is `micros`); otherwise 0.
  uint64_t time_of_position = 0;
};

// The registration of `programme_id` in `log` that stands (the first that no correction in the
// whole log voids: the rules never let a registration be corrected, but a log written by an
// earlier version may hold such a correction), with the longest planned length of the standing
// re-plans after it (what bounds the plan weeks a question may name: a plan
// extended since registration has its later weeks); NOT_FOUND listing the registered
// programmes when there is none.
absl::StatusOr<v1::ProgrammeRegistered> FindProgrammeRegistration(
    const std::vector<v1::Event>& log, absl::string_view programme_id);

// One of a programme's registrations or re-plans, for StandingPlan.
struct PlanEvent {
  uint64_t position = 0;
  bool replan = false;  // a ProgrammeReplanned: of `registered` only planned_weeks is set
  v1::ProgrammeRegistered registered;
};
// What FindProgrammeRegistration answers from a programme's plan events (in log order) and
// which positions corrections void; nullopt when no registration stands.
std::optional<v1::ProgrammeRegistered> StandingPlan(
    const std::vector<PlanEvent>& events, absl::FunctionRef<bool(uint64_t)> voided);
// The one of `known` that differs from `id` only in letter case, if any: what a user who typed
// "mopac" for MOPAC meant (ids are told apart by case, and the rules refuse such twins, so there
// is at most one).
std::optional<std::string> OtherCaseOf(absl::string_view id,
                                       const std::vector<std::string>& known);

// That NOT_FOUND, for a Timeline's FindProgrammeRegistration: `registered` (sorted) are the
// programme ids the log holds; one of them in another letter case is suggested.
absl::Status ProgrammeNotRegistered(absl::string_view programme_id,
                                    const std::vector<std::string>& registered);

// What resolving a selector reads of the log: the whole log's recorded times
// and programme registrations, not its events. Implemented over a vector of
// events (below) and by ProgrammeIndex.
class Timeline {
 public:
  virtual ~Timeline() = default;
  // The last position of the log.
  virtual uint64_t head() const = 0;
  // The recorded time of the event at `position` (1..head()).
  virtual int64_t RecordedMicros(uint64_t position) const = 0;
  // The last position recorded at or before `micros` (0 if none): recorded
  // time never goes backwards, so the events up to it are exactly those
  // recorded by then.
  virtual uint64_t LastRecordedAtOrBefore(int64_t micros) const = 0;
  // As the function FindProgrammeRegistration, over the whole log.
  virtual absl::StatusOr<v1::ProgrammeRegistered> FindProgrammeRegistration(
      absl::string_view programme_id) const = 0;
  // The programmes the whole log holds a registration of (one with its stream's id), by id,
  // each with the organisations its registrations name: those a correction voids since included
  // (a cut before the correction holds them).
  virtual std::map<std::string, std::set<std::string>> ProgrammesEverRegistered() const = 0;
};

// A Timeline over a log held in memory. REQUIRES: `log` outlives it.
class VectorTimeline final : public Timeline {
 public:
  explicit VectorTimeline(const std::vector<v1::Event>& log) : log_(log) {}
  uint64_t head() const override;
  int64_t RecordedMicros(uint64_t position) const override;
  uint64_t LastRecordedAtOrBefore(int64_t micros) const override;
  absl::StatusOr<v1::ProgrammeRegistered> FindProgrammeRegistration(
      absl::string_view programme_id) const override;
  std::map<std::string, std::set<std::string>> ProgrammesEverRegistered() const override;

 private:
  const std::vector<v1::Event>& log_;
};

// Resolves `as_at` against `log` (the whole log up to its head) at
// `now_micros`. INVALID_ARGUMENT: no point or no mode, a time that is not a
// timestamp, a week outside 1..planned_weeks; OUT_OF_RANGE: a time after now, a
// week ending after now (both become valid as time passes), a position past the
// head (reason POSITION_PAST_HEAD, metadata head); NOT_FOUND: an unknown
// programme. Each message says what is valid.
absl::StatusOr<Cut> ResolveAsAt(const v1::AsAt& as_at,
                                const std::vector<v1::Event>& log,
                                int64_t now_micros);
absl::StatusOr<Cut> ResolveAsAt(const v1::AsAt& as_at, const Timeline& log,
                                int64_t now_micros);

// The events the cut folds, in fold order. REQUIRES: `log` in position order.
// The rule written over the whole log, which the query service's answers over
// its index (SelectPositions, queries.cc) are tested against.
std::vector<const v1::Event*> SelectEvents(const std::vector<v1::Event>& log,
                                           const Cut& cut);

// Applies `events` to `state` in Mode::kReplay; returns how many were skipped
// as inapplicable.
uint64_t FoldEvents(const std::vector<const v1::Event*>& events,
                    GovernanceState* state);

// How `cut` resolved, for answers.
v1::ResolvedAsAt DescribeCut(const Cut& cut, const Timeline& log,
                             uint64_t folded);

// The effective time of a stored event (its recorded time if it has none).
int64_t EffectiveMicros(const v1::Event& e);

}  // namespace govledger::projections

#endif  // GOVLEDGER_PROJECTIONS_AS_AT_H_
