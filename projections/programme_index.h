// ProgrammeIndex: the log held in memory, with the events that can concern each
// programme, so that an "as at" answer about one programme folds only those
// rather than the whole log.
//
// An event concerns a programme when it is on the programme's stream, on the
// stream of one of its projects, or on the stream of a risk or scope item that
// has belonged to the programme or one of its projects (every event of that
// stream, including those from before it came to the programme). Events on
// decision streams concern no programme (the programme answers do not read
// decisions). Every other event (organisations, keys, delegation rules, unknown
// streams and types) concerns every programme. Folding a programme's events
// gives the same programme, project, risk and scope state for that programme as
// folding the whole log, because the fold of one entity reads only its own
// stream and the registrations of projects.
//
// Not thread-safe: callers serialize Add and the reads.
#ifndef GOVLEDGER_PROJECTIONS_PROGRAMME_INDEX_H_
#define GOVLEDGER_PROJECTIONS_PROGRAMME_INDEX_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "govledger/v1/events.pb.h"
#include "govledger/v1/ledger.pb.h"

namespace govledger::projections {

class ProgrammeIndex {
 public:
  // Appends the next event of the log. REQUIRES: event.position() == size()
  // + 1.
  void Add(v1::Event event);

  // Events held: the log from position 1 to size().
  uint64_t size() const { return log_.size(); }
  const std::vector<v1::Event>& log() const { return log_; }

  // The events that can concern `programme_id` and the events that concern
  // every programme, in position order.
  std::vector<const v1::Event*> EventsFor(absl::string_view programme_id) const;

 private:
  // Positions of a programme's events; sorted lazily (backfills append earlier
  // positions).
  struct Positions {
    std::vector<uint64_t> positions;
    bool sorted = true;
  };
  // The programme of a WorkRef ("" when unknown).
  std::string ProgrammeOf(const v1::WorkRef& ref) const;
  // Adds programme `programme` to the programmes of `stream` (backfilling the
  // stream's events).
  void Join(const std::string& stream, const std::string& programme);
  void Assign(const std::string& programme, uint64_t position);

  std::vector<v1::Event> log_;
  absl::flat_hash_map<std::string, std::string>
      project_programme_;  // project id -> programme
  // Risk and scope streams: their events' positions and the programmes they
  // have concerned.
  absl::flat_hash_map<std::string, std::vector<uint64_t>> stream_positions_;
  absl::flat_hash_map<std::string, std::vector<std::string>> stream_programmes_;
  mutable absl::flat_hash_map<std::string, Positions> by_programme_;
  std::vector<uint64_t> global_;  // concern every programme
};

}  // namespace govledger::projections

#endif  // GOVLEDGER_PROJECTIONS_PROGRAMME_INDEX_H_
