#include "projections/programme_index.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "govledger/v1/events.pb.h"
#include "ledger/common/status_macros.h"
#include "projections/streams.h"

namespace govledger::projections {

absl::StatusOr<std::optional<std::string>> MemorySnapshotStore::Get(
    absl::string_view key) {
  auto it = values_.find(key);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

absl::Status MemorySnapshotStore::Put(absl::string_view key,
                                      absl::string_view value) {
  std::string& v = values_[std::string(key)];
  bytes_ = bytes_ - v.size() + value.size();
  v.assign(value.data(), value.size());
  return absl::OkStatus();
}

StreamKind KindOfStream(absl::string_view stream_id) {
  if (absl::StartsWith(stream_id, "programme/")) return StreamKind::kProgramme;
  if (absl::StartsWith(stream_id, "project/")) return StreamKind::kProject;
  if (absl::StartsWith(stream_id, "risk/")) return StreamKind::kRisk;
  if (absl::StartsWith(stream_id, "scope/")) return StreamKind::kScope;
  if (absl::StartsWith(stream_id, "decision/")) return StreamKind::kDecision;
  return StreamKind::kOther;
}

std::string ProgrammeIndex::ProgrammeOf(const v1::WorkRef& ref) const {
  if (ref.kind() == v1::WORK_KIND_PROGRAMME) return ref.id();
  if (ref.kind() == v1::WORK_KIND_PROJECT) {
    auto it = project_programme_.find(ref.id());
    if (it != project_programme_.end()) return it->second;
  }
  return "";
}

void ProgrammeIndex::Assign(const std::string& programme, uint64_t position) {
  Positions& p = by_programme_[programme];
  if (!p.positions.empty() && p.positions.back() >= position) p.sorted = false;
  p.positions.push_back(position);
}

uint32_t ProgrammeIndex::ProgrammeNumber(const std::string& programme) {
  auto [it, inserted] = programme_numbers_.try_emplace(
      programme, static_cast<uint32_t>(programme_names_.size()));
  if (inserted) programme_names_.push_back(programme);
  return it->second;
}

absl::Status ProgrammeIndex::Join(const std::string& stream, uint64_t position,
                                  bool first, const std::string& programme,
                                  absl::InlinedVector<uint32_t, 1>& programmes,
                                  EventSource& source) {
  if (programme.empty()) return absl::OkStatus();
  const uint32_t number = ProgrammeNumber(programme);
  if (std::find(programmes.begin(), programmes.end(), number) !=
      programmes.end())
    return absl::OkStatus();
  std::vector<uint64_t> backfill = {position};
  if (!first) {
    absl::StatusOr<std::vector<uint64_t>> earlier =
        source.StreamPositions(stream);
    if (!earlier.ok()) return earlier.status();
    backfill = *std::move(earlier);
    backfill.erase(
        std::upper_bound(backfill.begin(), backfill.end(), position),
        backfill.end());
  }
  programmes.push_back(number);
  uint64_t first_position = UINT64_MAX;
  int64_t first_effective = INT64_MAX;
  for (uint64_t p : backfill) {
    Assign(programme, p);
    first_position = std::min(first_position, p);
    first_effective = std::min(first_effective, effective_[p - 1]);
  }
  // Snapshots that could have folded one of these events did not: drop them.
  auto it = snapshots_.find(programme);
  if (it == snapshots_.end()) return absl::OkStatus();
  std::vector<uint64_t>& recorded = it->second.recorded;
  recorded.erase(
      std::lower_bound(recorded.begin(), recorded.end(), first_position),
      recorded.end());
  std::vector<KnownSnapshot>& known = it->second.known;
  known.erase(std::remove_if(known.begin(), known.end(),
                             [&](const KnownSnapshot& s) {
                               return s.effective_micros >= first_effective;
                             }),
              known.end());
  return absl::OkStatus();
}

absl::Status ProgrammeIndex::Add(const v1::Event& event,
                                 EventSource& source) {
  static const std::string kProgramme =
      v1::ProgrammeRegistered::descriptor()->full_name();
  static const std::string kProject =
      v1::ProjectRegistered::descriptor()->full_name();
  static const std::string kRiskOpened =
      v1::RiskOpened::descriptor()->full_name();
  static const std::string kRiskTransferred =
      v1::RiskTransferred::descriptor()->full_name();
  static const std::string kScopeAdded =
      v1::ScopeItemAdded::descriptor()->full_name();
  static const std::string kScopeTransferred =
      v1::ScopeItemTransferred::descriptor()->full_name();
  static const std::string kCorrection =
      v1::CorrectionRecorded::descriptor()->full_name();
  const uint64_t position = event.position();
  const std::string& stream = event.stream_id();
  const std::string& type = event.event_type();
  const StreamKind kind = KindOfStream(stream);
  if (type == kCorrection) {
    v1::CorrectionRecorded m;
    if (m.ParseFromString(event.payload())) {
      absl::StatusOr<std::optional<uint64_t>> target =
          source.FindEvent(m.corrected_event_id());
      if (!target.ok()) return target.status();
      if (*target && **target < position) {
        corrections_.emplace_back(position, **target);
      }
    }
  }
  recorded_.push_back(ToMicros(event.recorded_time()));
  effective_.push_back(projections::EffectiveMicros(event));
  kinds_.push_back(kind);
  switch (kind) {
    case StreamKind::kProgramme: {
      const std::string id = stream.substr(10);
      if (type == kProgramme && !programmes_.contains(id)) {
        v1::ProgrammeRegistered m;
        if (m.ParseFromString(event.payload()) && m.programme_id() == id) {
          programmes_.emplace(id, std::move(m));
        }
      }
      Assign(id, position);
      break;
    }
    case StreamKind::kProject: {
      const std::string id = stream.substr(8);
      if (type == kProject && !project_programme_.contains(id)) {
        v1::ProjectRegistered m;
        if (m.ParseFromString(event.payload()) && m.project_id() == id) {
          project_programme_[id] = m.programme_id();
        }
      }
      auto it = project_programme_.find(id);
      if (it != project_programme_.end()) {
        Assign(it->second, position);
      } else {
        global_.push_back(position);
      }
      break;
    }
    case StreamKind::kRisk:
    case StreamKind::kScope: {
      auto [entry, first] = stream_programmes_.try_emplace(stream);
      absl::InlinedVector<uint32_t, 1>& programmes = entry->second;
      for (uint32_t programme : programmes)
        Assign(programme_names_[programme], position);
      v1::WorkRef to;
      if (type == kRiskOpened) {
        v1::RiskOpened m;
        if (m.ParseFromString(event.payload())) to = m.subject();
      } else if (type == kRiskTransferred) {
        v1::RiskTransferred m;
        if (m.ParseFromString(event.payload())) to = m.to();
      } else if (type == kScopeAdded) {
        v1::ScopeItemAdded m;
        if (m.ParseFromString(event.payload())) to = m.owner();
      } else if (type == kScopeTransferred) {
        v1::ScopeItemTransferred m;
        if (m.ParseFromString(event.payload())) to = m.to();
      }
      RETURN_IF_ERROR(Join(stream, position, first, ProgrammeOf(to),
                           programmes, source));
      break;
    }
    case StreamKind::kDecision:
      decisions_.push_back(position);
      break;
    case StreamKind::kOther:
      global_.push_back(position);
      break;
  }
  return absl::OkStatus();
}

uint64_t ProgrammeIndex::LastRecordedAtOrBefore(int64_t micros) const {
  return std::upper_bound(recorded_.begin(), recorded_.end(), micros) -
         recorded_.begin();
}

absl::StatusOr<v1::ProgrammeRegistered>
ProgrammeIndex::FindProgrammeRegistration(
    absl::string_view programme_id) const {
  auto it = programmes_.find(programme_id);
  if (it != programmes_.end()) return it->second;
  const std::vector<std::string> known = Programmes();
  return absl::NotFoundError(
      absl::StrCat("programme '", programme_id,
                   "' is not registered in the ledger; registered programmes: ",
                   known.empty() ? "(none)" : absl::StrJoin(known, ", ")));
}

std::vector<std::string> ProgrammeIndex::Programmes() const {
  std::vector<std::string> out;
  for (const auto& [id, unused] : programmes_) out.push_back(id);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<uint64_t> ProgrammeIndex::PositionsFor(
    absl::string_view programme_id) const {
  auto it = by_programme_.find(programme_id);
  if (it == by_programme_.end()) return global_;
  Positions& p = it->second;
  if (!p.sorted) {
    std::sort(p.positions.begin(), p.positions.end());
    p.positions.erase(std::unique(p.positions.begin(), p.positions.end()),
                      p.positions.end());
    p.sorted = true;
  }
  std::vector<uint64_t> merged;
  merged.reserve(global_.size() + p.positions.size());
  std::merge(global_.begin(), global_.end(), p.positions.begin(),
             p.positions.end(), std::back_inserter(merged));
  return merged;
}

std::vector<uint64_t> ProgrammeIndex::DecisionPositions() const {
  std::vector<uint64_t> merged;
  merged.reserve(global_.size() + decisions_.size());
  std::merge(global_.begin(), global_.end(), decisions_.begin(),
             decisions_.end(), std::back_inserter(merged));
  return merged;
}

const ProgrammeIndex::Snapshots* ProgrammeIndex::SnapshotsOf(
    absl::string_view programme_id) const {
  auto it = snapshots_.find(programme_id);
  return it == snapshots_.end() ? nullptr : &it->second;
}

void ProgrammeIndex::AddRecordedSnapshot(const std::string& programme_id,
                                         uint64_t position) {
  std::vector<uint64_t>& v = snapshots_[programme_id].recorded;
  auto it = std::lower_bound(v.begin(), v.end(), position);
  if (it == v.end() || *it != position) v.insert(it, position);
}

void ProgrammeIndex::AddKnownSnapshot(const std::string& programme_id,
                                      KnownSnapshot s) {
  std::vector<KnownSnapshot>& v = snapshots_[programme_id].known;
  auto it = std::lower_bound(v.begin(), v.end(), s,
                             [](const KnownSnapshot& a, const KnownSnapshot& b) {
                               return a.effective_micros < b.effective_micros;
                             });
  if (it != v.end() && it->effective_micros == s.effective_micros) {
    *it = s;  // the newer one: valid for longer
  } else {
    v.insert(it, s);
  }
}

std::string ProgrammeIndex::RecordedSnapshotKey(absl::string_view programme_id,
                                                uint64_t position) {
  return absl::StrCat(kSnapshotKeyPrefix, programme_id, "/recorded/", position);
}

std::string ProgrammeIndex::KnownSnapshotKey(absl::string_view programme_id,
                                             const KnownSnapshot& s) {
  return absl::StrCat(kSnapshotKeyPrefix, programme_id, "/known/", s.effective_micros,
                      "/", s.head);
}

}  // namespace govledger::projections
