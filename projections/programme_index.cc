#include "projections/programme_index.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "govledger/v1/events.pb.h"

namespace govledger::projections {

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

void ProgrammeIndex::Join(const std::string& stream,
                          const std::string& programme) {
  if (programme.empty()) return;
  std::vector<std::string>& programmes = stream_programmes_[stream];
  if (std::find(programmes.begin(), programmes.end(), programme) !=
      programmes.end())
    return;
  programmes.push_back(programme);
  for (uint64_t position : stream_positions_[stream])
    Assign(programme, position);
}

void ProgrammeIndex::Add(v1::Event event) {
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
  const uint64_t position = event.position();
  const std::string& stream = event.stream_id();
  const std::string& type = event.event_type();
  if (absl::StartsWith(stream, "programme/")) {
    Assign(stream.substr(10), position);
  } else if (absl::StartsWith(stream, "project/")) {
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
  } else if (absl::StartsWith(stream, "risk/") ||
             absl::StartsWith(stream, "scope/")) {
    stream_positions_[stream].push_back(position);
    for (const std::string& programme : stream_programmes_[stream])
      Assign(programme, position);
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
    Join(stream, ProgrammeOf(to));
  } else if (!absl::StartsWith(stream, "decision/")) {
    global_.push_back(position);
  }
  log_.push_back(std::move(event));
}

std::vector<const v1::Event*> ProgrammeIndex::EventsFor(
    absl::string_view programme_id) const {
  std::vector<uint64_t> positions = global_;
  auto it = by_programme_.find(programme_id);
  if (it != by_programme_.end()) {
    Positions& p = it->second;
    if (!p.sorted) {
      std::sort(p.positions.begin(), p.positions.end());
      p.positions.erase(std::unique(p.positions.begin(), p.positions.end()),
                        p.positions.end());
      p.sorted = true;
    }
    std::vector<uint64_t> merged;
    merged.reserve(positions.size() + p.positions.size());
    std::merge(positions.begin(), positions.end(), p.positions.begin(),
               p.positions.end(), std::back_inserter(merged));
    positions = std::move(merged);
  }
  std::vector<const v1::Event*> out;
  out.reserve(positions.size());
  for (uint64_t position : positions) out.push_back(&log_[position - 1]);
  return out;
}

}  // namespace govledger::projections
