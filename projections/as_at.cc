#include "projections/as_at.h"

#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "ledger/common/errors.h"
#include "ledger/common/status_macros.h"
#include "ledger/common/time.h"
#include "projections/corrections.h"
#include "projections/streams.h"

namespace govledger::projections {
namespace {

// The correction `e` is, as (its lower-case id, the lower-case id it names);
// nullopt for any other event.
std::optional<std::pair<std::string, std::string>> CorrectionOf(
    const v1::Event& e) {
  static const std::string kCorrection =
      v1::CorrectionRecorded::descriptor()->full_name();
  if (e.event_type() != kCorrection) return std::nullopt;
  v1::CorrectionRecorded m;
  if (!m.ParseFromString(e.payload())) return std::nullopt;
  return std::make_pair(absl::AsciiStrToLower(e.event_id()),
                        absl::AsciiStrToLower(m.corrected_event_id()));
}

// Lower-case ids of the events a fold leaves out for the corrections among
// `events` (in position order; projections/corrections.h).
absl::flat_hash_set<std::string> VoidedIds(
    std::vector<v1::Event>::const_iterator begin,
    std::vector<v1::Event>::const_iterator end) {
  std::vector<std::pair<std::string, std::string>> corrections;
  for (auto it = begin; it != end; ++it) {
    if (auto c = CorrectionOf(*it)) corrections.push_back(*std::move(c));
  }
  return LeftOutEvents(corrections);
}

}  // namespace

int64_t EffectiveMicros(const v1::Event& e) {
  return ToMicros(e.has_effective_time() ? e.effective_time()
                                         : e.recorded_time());
}

uint64_t VectorTimeline::head() const {
  return log_.empty() ? 0 : log_.back().position();
}

int64_t VectorTimeline::RecordedMicros(uint64_t position) const {
  return ToMicros(log_[position - 1].recorded_time());
}

uint64_t VectorTimeline::LastRecordedAtOrBefore(int64_t micros) const {
  return std::partition_point(log_.begin(), log_.end(),
                              [micros](const v1::Event& e) {
                                return ToMicros(e.recorded_time()) <= micros;
                              }) -
         log_.begin();
}

absl::StatusOr<v1::ProgrammeRegistered>
VectorTimeline::FindProgrammeRegistration(
    absl::string_view programme_id) const {
  return projections::FindProgrammeRegistration(log_, programme_id);
}

std::map<std::string, std::set<std::string>> VectorTimeline::ProgrammesEverRegistered() const {
  static const std::string kType = v1::ProgrammeRegistered::descriptor()->full_name();
  std::map<std::string, std::set<std::string>> out;
  for (const v1::Event& e : log_) {
    if (e.event_type() != kType) continue;
    const std::optional<EntityStream> stream = ParseEntityStream(e.stream_id());
    v1::ProgrammeRegistered m;
    if (!stream || stream->kind != EntityKind::kProgramme || !m.ParseFromString(e.payload()) ||
        m.programme_id() != stream->id) {
      continue;
    }
    out[m.programme_id()].insert(m.organisation_id());
  }
  return out;
}

std::optional<v1::ProgrammeRegistered> StandingPlan(
    const std::vector<PlanEvent>& events, absl::FunctionRef<bool(uint64_t)> voided) {
  std::optional<v1::ProgrammeRegistered> plan;
  for (const PlanEvent& e : events) {
    if (voided(e.position)) continue;
    if (!e.replan) {
      if (!plan) plan = e.registered;
    } else if (plan && e.registered.planned_weeks() > plan->planned_weeks()) {
      plan->set_planned_weeks(e.registered.planned_weeks());
    }
  }
  return plan;
}

absl::StatusOr<v1::ProgrammeRegistered> FindProgrammeRegistration(
    const std::vector<v1::Event>& log, absl::string_view programme_id) {
  static const std::string kType =
      v1::ProgrammeRegistered::descriptor()->full_name();
  static const std::string kReplanned =
      v1::ProgrammeReplanned::descriptor()->full_name();
  std::vector<std::pair<std::string, std::string>> corrections;
  absl::flat_hash_map<uint64_t, std::string> ids;  // of the plan events, lower-case
  std::map<std::string, std::vector<PlanEvent>, std::less<>> plans;  // by programme
  for (const v1::Event& e : log) {
    if (auto c = CorrectionOf(e)) {
      corrections.push_back(*std::move(c));
      continue;
    }
    if (e.event_type() != kType && e.event_type() != kReplanned) continue;
    const std::optional<EntityStream> stream = ParseEntityStream(e.stream_id());
    if (!stream || stream->kind != EntityKind::kProgramme) continue;
    PlanEvent plan;
    plan.position = e.position();
    if (e.event_type() == kReplanned) {
      v1::ProgrammeReplanned m;
      if (!m.ParseFromString(e.payload())) continue;
      plan.replan = true;
      plan.registered.set_planned_weeks(m.planned_weeks());
    } else if (!plan.registered.ParseFromString(e.payload()) ||
               plan.registered.programme_id() != stream->id) {
      continue;
    }
    ids[plan.position] = absl::AsciiStrToLower(e.event_id());
    plans[std::string(stream->id)].push_back(std::move(plan));
  }
  const absl::flat_hash_set<std::string> voided = VoidedEvents(corrections);
  auto is_voided = [&](uint64_t p) { return voided.contains(ids[p]); };
  std::vector<std::string> registered;  // sorted, as `plans`
  for (const auto& [id, events] : plans) {
    std::optional<v1::ProgrammeRegistered> plan = StandingPlan(events, is_voided);
    if (!plan) continue;
    if (id == programme_id) return *std::move(plan);
    registered.push_back(id);
  }
  return ProgrammeNotRegistered(programme_id, registered);
}

std::optional<std::string> OtherCaseOf(absl::string_view id,
                                       const std::vector<std::string>& known) {
  for (const std::string& k : known) {
    if (k != id && absl::EqualsIgnoreCase(k, id)) return k;
  }
  return std::nullopt;
}

absl::Status ProgrammeNotRegistered(absl::string_view programme_id,
                                    const std::vector<std::string>& registered) {
  if (std::optional<std::string> meant = OtherCaseOf(programme_id, registered)) {
    return absl::NotFoundError(absl::StrCat("programme '", programme_id,
                                            "' is not registered in the ledger; did you mean ",
                                            *meant, "? (ids are told apart by letter case)"));
  }
  return absl::NotFoundError(
      absl::StrCat("programme '", programme_id,
                   "' is not registered in the ledger; registered programmes: ",
                   registered.empty() ? "(none)" : absl::StrJoin(registered, ", ")));
}

absl::StatusOr<Cut> ResolveAsAt(const v1::AsAt& as_at,
                                const std::vector<v1::Event>& log,
                                int64_t now_micros) {
  return ResolveAsAt(as_at, VectorTimeline(log), now_micros);
}

absl::StatusOr<Cut> ResolveAsAt(const v1::AsAt& as_at, const Timeline& log,
                                int64_t now_micros) {
  Cut cut;
  if (as_at.mode() != v1::AS_AT_MODE_AS_RECORDED &&
      as_at.mode() != v1::AS_AT_MODE_AS_KNOWN) {
    // Unset (an as_at left out is one), or a value this version does not know: said which.
    return absl::InvalidArgumentError(absl::StrCat(
        as_at.mode() == v1::AS_AT_MODE_UNSPECIFIED
            ? "as_at.mode is unset (AS_AT_MODE_UNSPECIFIED, as in an as_at left out)"
            : absl::StrCat("as_at.mode ", as_at.mode(), " is unknown"),
        ": give AS_AT_MODE_AS_RECORDED (what the ledger held at the cut) or AS_AT_MODE_AS_KNOWN "
        "(what is now known to have been true at the cut)"));
  }
  cut.mode = as_at.mode();
  const uint64_t head = log.head();
  if (as_at.known_through() != 0) {
    if (cut.mode != v1::AS_AT_MODE_AS_KNOWN) {
      return absl::InvalidArgumentError(
          "as_at.known_through goes with AS_AT_MODE_AS_KNOWN (what was known by a position); "
          "AS_AT_MODE_AS_RECORDED reads the log up to its point already");
    }
    if (as_at.known_through() > head) {
      return errors::PositionPastHead("as_at.known_through", as_at.known_through(), head,
                                      absl::StrCat("valid positions are 1 to ", head,
                                                   ", or 0 for the head"));
    }
    cut.known_through = as_at.known_through();
  }
  switch (as_at.point_case()) {
    case v1::AsAt::kPosition: {
      if (as_at.position() > head) {
        return errors::PositionPastHead("as_at.position", as_at.position(), head,
                                        absl::StrCat("valid positions are 0 to ", head));
      }
      if (cut.mode == v1::AS_AT_MODE_AS_RECORDED) {
        cut.by_position = true;
        cut.position = as_at.position();
        if (cut.position > 0) cut.micros = log.RecordedMicros(cut.position);
      } else {
        // The instant the ledger reached that position; before the first event,
        // nothing.
        cut.micros = as_at.position() == 0
                         ? INT64_MIN
                         : log.RecordedMicros(as_at.position());
        cut.time_of_position = as_at.position();
      }
      return cut;
    }
    case v1::AsAt::kTime: {
      // google.protobuf.Timestamp's own range, which ToMicros holds without
      // overflow.
      constexpr int64_t kFirstSecond = -62135596800;  // 0001-01-01T00:00:00Z
      constexpr int64_t kLastSecond = 253402300799;   // 9999-12-31T23:59:59Z
      if (as_at.time().seconds() < kFirstSecond ||
          as_at.time().seconds() > kLastSecond || as_at.time().nanos() < 0 ||
          as_at.time().nanos() > 999999999) {
        return absl::InvalidArgumentError(absl::StrCat(
            "as_at.time (seconds ", as_at.time().seconds(), ", nanos ",
            as_at.time().nanos(),
            ") is not a timestamp: seconds must be from ", kFirstSecond,
            " to ", kLastSecond,
            " (0001-01-01 to 9999-12-31), nanos from 0 to 999999999"));
      }
      const int64_t t = ToMicros(as_at.time());
      if (t > now_micros) {
        // OUT_OF_RANGE, like a position past the head: it becomes valid as time passes.
        return absl::OutOfRangeError(
            absl::StrCat("as_at.time ", FormatRfc3339(t),
                         " is in the future; valid times are up to now (",
                         FormatRfc3339(now_micros), ")"));
      }
      cut.micros = t;
      return cut;
    }
    case v1::AsAt::kProgrammeWeek: {
      const v1::ProgrammeWeek& pw = as_at.programme_week();
      RETURN_IF_ERROR(CheckId("as_at.programme_week.programme_id", pw.programme_id()));
      absl::StatusOr<v1::ProgrammeRegistered> programme =
          log.FindProgrammeRegistration(pw.programme_id());
      if (!programme.ok()) return programme.status();
      // The last week whose last microsecond (EndOfWeekMicros) is at or before now: the week
      // the next microsecond falls in, less one.
      const int64_t next_micros =
          now_micros == std::numeric_limits<int64_t>::max() ? now_micros : now_micros + 1;
      const int last_complete =
          std::min<int64_t>(programme->planned_weeks(),
                            std::max<int64_t>(0, PlanWeekAt(*programme, next_micros) - 1));
      const std::string valid = absl::StrCat(
          "programme ", pw.programme_id(), " mobilised on ",
          FormatDate(programme->mobilisation_date()),
          // A question may name any week of any plan recorded, a re-plan's that a later one
          // shortened included (FindProgrammeRegistration).
          "; its longest plan recorded is ", programme->planned_weeks(), " weeks; ",
          last_complete == 0
              ? "no week of it has ended yet: ask about a time (as_at.time) instead"
              : absl::StrCat("valid weeks are 1 to ", last_complete,
                             last_complete < programme->planned_weeks()
                                 ? " (the last week ended by now)"
                                 : ""));
      if (pw.week() < 1 || pw.week() > programme->planned_weeks()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "as_at.programme_week.week ", pw.week(),
            pw.week() < 1 ? " is before mobilisation" : " is past the plan",
            "; ", valid));
      }
      const int64_t end = EndOfWeekMicros(*programme, pw.week());
      if (end > now_micros) {
        return absl::OutOfRangeError(
            absl::StrCat("as_at.programme_week.week ", pw.week(), " ends at ",
                         FormatRfc3339(end + 1), ", in the future; ", valid));
      }
      cut.micros = end;
      return cut;
    }
    case v1::AsAt::POINT_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError(
      "as_at needs a point: a log position, a time, or a programme week "
      "(programme id and week)");
}

std::vector<const v1::Event*> SelectEvents(const std::vector<v1::Event>& log,
                                           const Cut& cut) {
  std::vector<const v1::Event*> out;
  if (cut.mode == v1::AS_AT_MODE_AS_RECORDED) {
    size_t end = 0;
    if (cut.by_position) {
      end = std::min<size_t>(cut.position, log.size());
    } else {
      // Recorded time never goes backwards: the cut is a prefix.
      const int64_t t = *cut.micros;
      end = std::partition_point(log.begin(), log.end(),
                                 [t](const v1::Event& e) {
                                   return ToMicros(e.recorded_time()) <= t;
                                 }) -
            log.begin();
    }
    absl::flat_hash_set<std::string> corrected =
        VoidedIds(log.begin(), log.begin() + end);
    out.reserve(end);
    for (size_t i = 0; i < end; ++i) {
      if (!corrected.empty() &&
          corrected.contains(absl::AsciiStrToLower(log[i].event_id())))
        continue;
      out.push_back(&log[i]);
    }
    return out;
  }
  const size_t read = cut.known_through == 0
                          ? log.size()
                          : std::min<size_t>(cut.known_through, log.size());
  absl::flat_hash_set<std::string> corrected =
      VoidedIds(log.begin(), log.begin() + read);
  const int64_t t = cut.micros.value_or(INT64_MIN);
  for (size_t i = 0; i < read; ++i) {
    const v1::Event& e = log[i];
    if (EffectiveMicros(e) > t) continue;
    if (!corrected.empty() &&
        corrected.contains(absl::AsciiStrToLower(e.event_id())))
      continue;
    out.push_back(&e);
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const v1::Event* a, const v1::Event* b) {
                     return EffectiveMicros(*a) < EffectiveMicros(*b);
                   });
  return out;
}

uint64_t FoldEvents(const std::vector<const v1::Event*>& events,
                    GovernanceState* state) {
  uint64_t skipped = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    if (i + GovernanceState::kPrefetchDistance < events.size()) {
      state->Prefetch(*events[i + GovernanceState::kPrefetchDistance]);
    }
    if (!state->Apply(*events[i], GovernanceState::Mode::kReplay).ok()) ++skipped;
  }
  return skipped;
}

v1::ResolvedAsAt DescribeCut(const Cut& cut, const Timeline& log,
                             uint64_t folded) {
  v1::ResolvedAsAt out;
  out.set_mode(cut.mode);
  if (cut.micros && *cut.micros != INT64_MIN)
    SetMicros(*cut.micros, out.mutable_cut_time());
  if (cut.mode == v1::AS_AT_MODE_AS_RECORDED) {
    out.set_position(cut.by_position ? cut.position
                                     : log.LastRecordedAtOrBefore(*cut.micros));
  } else {
    out.set_position(cut.known_through != 0 ? cut.known_through : log.head());
  }
  out.set_events_folded(folded);
  out.set_time_of_position(cut.time_of_position);
  return out;
}

}  // namespace govledger::projections
