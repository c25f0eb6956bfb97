#include "projections/programme_index.h"

#include <algorithm>
#include <memory>
#include <optional>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "govledger/v1/events.pb.h"
#include "ledger/common/status_macros.h"
#include "projections/corrections.h"
#include "projections/governance_state.h"
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

absl::Status MemorySnapshotStore::Delete(absl::string_view key) {
  if (auto it = values_.find(key); it != values_.end()) {
    bytes_ -= it->second.size();
    values_.erase(it);
  }
  return absl::OkStatus();
}

StreamKind KindOfStream(absl::string_view stream_id) {
  const std::optional<EntityStream> entity = ParseEntityStream(stream_id);
  if (!entity) return StreamKind::kOther;
  switch (entity->kind) {
    case EntityKind::kProgramme:
      return StreamKind::kProgramme;
    case EntityKind::kProject:
      return StreamKind::kProject;
    case EntityKind::kRisk:
      return StreamKind::kRisk;
    case EntityKind::kScope:
      return StreamKind::kScope;
    case EntityKind::kDecision:
      return StreamKind::kDecision;
    case EntityKind::kOrganisation:
    case EntityKind::kKey:
    case EntityKind::kDelegation:
      return StreamKind::kOther;
  }
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
  const auto stale =
      std::lower_bound(recorded.begin(), recorded.end(), first_position);
  for (auto r = stale; r != recorded.end(); ++r) {
    DropKey(RecordedSnapshotKey(programme, *r));
  }
  recorded.erase(stale, recorded.end());
  std::vector<KnownSnapshot>& known = it->second.known;
  known.erase(std::remove_if(known.begin(), known.end(),
                             [&](const KnownSnapshot& s) {
                               if (s.effective_micros < first_effective) return false;
                               DropKey(KnownSnapshotKey(programme, s));
                               return true;
                             }),
              known.end());
  return absl::OkStatus();
}

absl::Status ProgrammeIndex::Add(const v1::Event& event,
                                 EventSource& source) {
  static const std::string kProgramme =
      v1::ProgrammeRegistered::descriptor()->full_name();
  static const std::string kReplanned =
      v1::ProgrammeReplanned::descriptor()->full_name();
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
      const std::string id(ParseEntityStream(stream)->id);
      // Which registration and re-plans stand is settled when asked (StandingPlan).
      PlanEvent plan;
      plan.position = position;
      if (type == kProgramme) {
        if (plan.registered.ParseFromString(event.payload()) &&
            plan.registered.programme_id() == id) {
          plans_[id].push_back(std::move(plan));
        }
      } else if (type == kReplanned) {
        v1::ProgrammeReplanned m;
        if (m.ParseFromString(event.payload())) {
          plan.replan = true;
          plan.registered.set_planned_weeks(m.planned_weeks());
          plans_[id].push_back(std::move(plan));
        }
      }
      Assign(id, position);
      break;
    }
    case StreamKind::kProject: {
      const std::string id(ParseEntityStream(stream)->id);
      absl::InlinedVector<uint32_t, 1>& programmes = stream_programmes_[stream];
      for (uint32_t programme : programmes) Assign(programme_names_[programme], position);
      v1::ProjectRegistered m;
      if (type != kProject || !m.ParseFromString(event.payload()) || m.project_id() != id ||
          m.programme_id().empty()) {
        // Before its registration a project's events concern every programme.
        if (programmes.empty()) global_.push_back(position);
        break;
      }
      const bool registered_before = !programmes.empty();
      project_programme_[id] = m.programme_id();
      RETURN_IF_ERROR(Join(stream, position, /*first=*/!registered_before, m.programme_id(),
                           programmes, source));
      if (registered_before) {
        // Registered again (its earlier registration voided): its risks and scope join too.
        for (const std::string& named : project_streams_[id]) {
          RETURN_IF_ERROR(Join(named, position, /*first=*/false, m.programme_id(),
                               stream_programmes_[named], source));
        }
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
      // (A stream transferred back to a project is listed again: joining is idempotent.)
      if (to.kind() == v1::WORK_KIND_PROJECT) project_streams_[to.id()].push_back(stream);
      RETURN_IF_ERROR(Join(stream, position, first, ProgrammeOf(to),
                           programmes, source));
      break;
    }
    case StreamKind::kDecision:
      decisions_.push_back(position);
      break;
    case StreamKind::kOther:
      // Organisations, keys, delegation rules concern every programme; an opaque event on
      // another system's stream ("case/42") changes no state, and is not folded.
      if (IsGovernanceType(type)) global_.push_back(position);
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
  auto it = plans_.find(programme_id);
  if (it != plans_.end()) {
    const absl::flat_hash_set<uint64_t> voided = VoidedEvents(corrections_);
    std::optional<v1::ProgrammeRegistered> plan =
        StandingPlan(it->second, [&](uint64_t p) { return voided.contains(p); });
    if (plan) return *std::move(plan);
  }
  return ProgrammeNotRegistered(programme_id, Programmes());
}

std::map<std::string, std::set<std::string>> ProgrammeIndex::ProgrammesEverRegistered() const {
  std::map<std::string, std::set<std::string>> out;
  for (const auto& [id, events] : plans_) {
    for (const PlanEvent& e : events) {
      if (!e.replan) out[id].insert(e.registered.organisation_id());
    }
  }
  return out;
}

std::vector<std::string> ProgrammeIndex::Programmes() const {
  const absl::flat_hash_set<uint64_t> voided = VoidedEvents(corrections_);
  std::vector<std::string> out;
  for (const auto& [id, events] : plans_) {
    if (StandingPlan(events, [&](uint64_t p) { return voided.contains(p); })) {
      out.push_back(id);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

void ProgrammeIndex::Normalize(Positions& p) {
  if (p.sorted) return;
  std::sort(p.positions.begin(), p.positions.end());
  p.positions.erase(std::unique(p.positions.begin(), p.positions.end()),
                    p.positions.end());
  p.sorted = true;
}

std::vector<uint64_t> ProgrammeIndex::PositionsFor(
    absl::string_view programme_id) const {
  auto it = by_programme_.find(programme_id);
  if (it == by_programme_.end()) return global_;
  Positions& p = it->second;
  Normalize(p);
  std::vector<uint64_t> merged;
  merged.reserve(global_.size() + p.positions.size());
  std::merge(global_.begin(), global_.end(), p.positions.begin(),
             p.positions.end(), std::back_inserter(merged));
  // A project registered again after its first registration was voided backfills its stream,
  // whose events from before its first registration are among the global ones.
  merged.erase(std::unique(merged.begin(), merged.end()), merged.end());
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
    if (it->head != s.head) {
      DropKey(KnownSnapshotKey(programme_id, *it));
    }
    *it = s;  // the newer one: valid for longer
  } else {
    v.insert(it, s);
  }
}

void ProgrammeIndex::DropKnownSnapshot(const std::string& programme_id,
                                       const KnownSnapshot& s) {
  auto it = snapshots_.find(programme_id);
  if (it == snapshots_.end()) return;
  std::vector<KnownSnapshot>& v = it->second.known;
  auto at = std::find_if(v.begin(), v.end(), [&](const KnownSnapshot& k) {
    return k.effective_micros == s.effective_micros && k.head == s.head;
  });
  if (at == v.end()) return;
  DropKey(KnownSnapshotKey(programme_id, *at));
  v.erase(at);
}

absl::Status ProgrammeIndex::DeleteDroppedSnapshots(SnapshotStore& snapshots) {
  size_t deleted = 0;
  absl::Status status;
  for (; deleted < dropped_snapshot_keys_.size(); ++deleted) {
    status = snapshots.Delete(dropped_snapshot_keys_[deleted]);
    if (!status.ok()) break;
  }
  dropped_snapshot_keys_.erase(dropped_snapshot_keys_.begin(),
                               dropped_snapshot_keys_.begin() + deleted);
  return status;
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

namespace {

// Ascending positions as differences from the one before.
template <typename Out>
void PutAscending(const std::vector<uint64_t>& positions, Out* out) {
  uint64_t last = 0;
  for (uint64_t p : positions) {
    out->Add(p - last);
    last = p;
  }
}

// The inverse of PutAscending; false when a position is not past the one before
// or past `limit`.
template <typename In>
bool GetAscending(const In& deltas, uint64_t limit, std::vector<uint64_t>* out) {
  out->clear();
  out->reserve(deltas.size());
  uint64_t last = 0;
  for (uint64_t d : deltas) {
    if (d == 0 || d > limit - last) return false;
    last += d;
    out->push_back(last);
  }
  return true;
}

}  // namespace

void ProgrammeIndex::SaveTo(internal::QueryIndexSnapshot* out) const {
  out->Clear();
  out->set_index_format(kIndexFormat);
  out->set_state_format(GovernanceState::kSnapshotFormat);
  int64_t last_recorded = 0;
  int64_t last_effective = 0;
  out->mutable_recorded_deltas()->Reserve(static_cast<int>(recorded_.size()));
  out->mutable_effective_deltas()->Reserve(static_cast<int>(effective_.size()));
  for (size_t i = 0; i < recorded_.size(); ++i) {
    out->add_recorded_deltas(recorded_[i] - last_recorded);
    out->add_effective_deltas(effective_[i] - last_effective);
    last_recorded = recorded_[i];
    last_effective = effective_[i];
  }
  out->mutable_kinds()->assign(reinterpret_cast<const char*>(kinds_.data()), kinds_.size());
  for (const auto& [id, events] : plans_) {
    internal::QueryIndexSnapshot::ProgrammePlan* plan = out->add_plans();
    plan->set_programme_id(id);
    for (const PlanEvent& e : events) {
      internal::QueryIndexSnapshot::PlanEvent* saved = plan->add_events();
      saved->set_position(e.position);
      saved->set_replan(e.replan);
      *saved->mutable_registered() = e.registered;
    }
  }
  for (const auto& [project, streams] : project_streams_) {
    internal::QueryIndexSnapshot::ProjectStreams* p = out->add_project_streams();
    p->set_project_id(project);
    for (const std::string& stream : streams) p->add_streams(stream);
  }
  for (const auto& [project, programme] : project_programme_) {
    (*out->mutable_project_programme())[project] = programme;
  }
  for (const std::string& name : programme_names_) out->add_programme_names(name);
  for (const auto& [stream, programmes] : stream_programmes_) {
    internal::QueryIndexSnapshot::StreamProgrammes* s = out->add_stream_programmes();
    s->set_stream_id(stream);
    for (uint32_t n : programmes) s->add_programmes(n);
  }
  for (auto& [programme, positions] : by_programme_) {
    Normalize(positions);
    internal::QueryIndexSnapshot::ProgrammePositions* p = out->add_by_programme();
    p->set_programme_id(programme);
    PutAscending(positions.positions, p->mutable_position_deltas());
  }
  PutAscending(global_, out->mutable_global_deltas());
  PutAscending(decisions_, out->mutable_decision_deltas());
  for (const auto& [correcting, corrected] : corrections_) {
    out->add_correcting_positions(correcting);
    out->add_corrected_positions(corrected);
  }
  for (const auto& [programme, snaps] : snapshots_) {
    internal::QueryIndexSnapshot::Catalogue* c = out->add_snapshots();
    c->set_programme_id(programme);
    for (uint64_t p : snaps.recorded) c->add_recorded(p);
    for (const KnownSnapshot& k : snaps.known) {
      c->add_known_effective_micros(k.effective_micros);
      c->add_known_heads(k.head);
    }
  }
}

absl::Status ProgrammeIndex::LoadFrom(const internal::QueryIndexSnapshot& in) {
  *this = ProgrammeIndex();
  auto broken = [this](absl::string_view why) {
    *this = ProgrammeIndex();
    return absl::DataLossError(absl::StrCat("the saved query index ", why));
  };
  if (in.index_format() != kIndexFormat) {
    return broken(absl::StrCat("has format ", in.index_format(), "; this version uses ",
                               kIndexFormat));
  }
  const uint64_t n = in.position();
  if (static_cast<uint64_t>(in.recorded_deltas_size()) != n ||
      static_cast<uint64_t>(in.effective_deltas_size()) != n || in.kinds().size() != n) {
    return broken(absl::StrCat("does not hold one entry per event of positions 1..", n));
  }
  recorded_.reserve(n);
  effective_.reserve(n);
  kinds_.reserve(n);
  int64_t recorded = 0;
  int64_t effective = 0;
  for (uint64_t i = 0; i < n; ++i) {
    recorded += in.recorded_deltas(static_cast<int>(i));
    effective += in.effective_deltas(static_cast<int>(i));
    const auto kind = static_cast<uint8_t>(in.kinds()[i]);
    if (kind > static_cast<uint8_t>(StreamKind::kDecision)) return broken("has an unknown kind");
    recorded_.push_back(recorded);
    effective_.push_back(effective);
    kinds_.push_back(static_cast<StreamKind>(kind));
  }
  for (const auto& plan : in.plans()) {
    std::vector<PlanEvent>& events = plans_[plan.programme_id()];
    for (const auto& e : plan.events()) {
      if (e.position() == 0 || e.position() > n ||
          (!events.empty() && e.position() <= events.back().position)) {
        return broken("has a programme's plan out of order or past its end");
      }
      events.push_back({e.position(), e.replan(), e.registered()});
    }
  }
  for (const auto& p : in.project_streams()) {
    project_streams_[p.project_id()].assign(p.streams().begin(), p.streams().end());
  }
  for (const auto& [project, programme] : in.project_programme()) {
    project_programme_.emplace(project, programme);
  }
  for (const std::string& name : in.programme_names()) {
    if (!programme_numbers_.emplace(name, programme_names_.size()).second) {
      return broken("names a programme twice");
    }
    programme_names_.push_back(name);
  }
  for (const auto& s : in.stream_programmes()) {
    absl::InlinedVector<uint32_t, 1>& programmes = stream_programmes_[s.stream_id()];
    for (uint32_t number : s.programmes()) {
      if (number >= programme_names_.size()) return broken("has an unknown programme number");
      programmes.push_back(number);
    }
  }
  for (const auto& p : in.by_programme()) {
    Positions& positions = by_programme_[p.programme_id()];
    if (!GetAscending(p.position_deltas(), n, &positions.positions)) {
      return broken("has positions out of order or past its end");
    }
  }
  if (!GetAscending(in.global_deltas(), n, &global_) ||
      !GetAscending(in.decision_deltas(), n, &decisions_)) {
    return broken("has positions out of order or past its end");
  }
  if (in.correcting_positions_size() != in.corrected_positions_size()) {
    return broken("has a correction without its corrected event");
  }
  for (int i = 0; i < in.correcting_positions_size(); ++i) {
    const uint64_t correcting = in.correcting_positions(i);
    const uint64_t corrected = in.corrected_positions(i);
    if (correcting > n || corrected == 0 || corrected >= correcting) {
      return broken("has a correction out of range");
    }
    corrections_.emplace_back(correcting, corrected);
  }
  if (in.state_format() == GovernanceState::kSnapshotFormat) {
    for (const auto& c : in.snapshots()) {
      if (c.known_effective_micros_size() != c.known_heads_size()) {
        return broken("has a known snapshot without its head");
      }
      Snapshots& snaps = snapshots_[c.programme_id()];
      snaps.recorded.assign(c.recorded().begin(), c.recorded().end());
      for (int i = 0; i < c.known_effective_micros_size(); ++i) {
        snaps.known.push_back({c.known_effective_micros(i), c.known_heads(i)});
      }
    }
  }  // else: snapshots of another state layout are not used (nor catalogued)
  return absl::OkStatus();
}

absl::StatusOr<size_t> LoadIndex(EventStore& store, uint64_t head, ProgrammeIndex* index) {
  ASSIGN_OR_RETURN(std::optional<std::string> bytes, store.GetProjection(kQueryIndexKey));
  if (!bytes) return absl::NotFoundError("no saved index");
  auto saved = std::make_unique<internal::QueryIndexSnapshot>();
  if (!saved->ParseFromString(*bytes)) {
    return absl::DataLossError("the saved query index does not parse");
  }
  RETURN_IF_ERROR(
      CheckAnchor(store, head, saved->position(), saved->hash(), "the saved query index"));
  RETURN_IF_ERROR(index->LoadFrom(*saved));
  if (saved->state_format() != GovernanceState::kSnapshotFormat) {
    // Snapshots of another state layout: not catalogued, so not kept.
    RETURN_IF_ERROR(store.DropProjections(ProgrammeIndex::kSnapshotKeyPrefix));
  }
  return bytes->size();
}

absl::Status SaveIndex(EventStore& store, const ProgrammeIndex& index, bool sync) {
  internal::QueryIndexSnapshot saved;
  index.SaveTo(&saved);
  saved.set_position(index.size());
  ASSIGN_OR_RETURN(*saved.mutable_hash(),
                   AnchorHash(store, index.size(), "the saved query index"));
  return store.PutProjection(kQueryIndexKey, saved.SerializeAsString(), sync);
}

}  // namespace govledger::projections
