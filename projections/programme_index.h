// ProgrammeIndex: the read side's compact index of the log. It holds no events:
// for every event, its recorded and effective time and the kind of its stream;
// for every programme, the positions of the events that can concern it; the
// corrections (which position corrects which); the programmes' registrations;
// and a catalogue of snapshots of per-programme folds (their bytes are kept in
// a SnapshotStore, in govledgerd the store's projections). An answer selects
// positions from the index, starts from the nearest usable snapshot, and reads
// only the events after it (EventSource). About 40 bytes an event.
//
// An event concerns a programme when it is on the programme's stream, on the
// stream of a project that has been registered under it, or on the stream of a
// risk or scope item that has belonged to the programme or to a project that has
// been registered under it (every event of that stream, including those from
// before it came to the programme). A project registered again under another
// programme (its registration voided by a correction, which the rules no longer
// accept but a log written by an earlier version may hold) so concerns both, as
// answers as at a cut before the correction need. Events on
// decision streams concern no programme (the programme answers do not read
// decisions; they are listed apart, for the decision register). Every other
// event (organisations, keys, delegation rules, unknown streams and types)
// concerns every programme. Folding a programme's events gives the same
// programme, project, risk and scope state for that programme as folding the
// whole log, because the fold of one entity reads only its own stream and the
// registrations of projects.
//
// Snapshots (see queries.cc, which takes and uses them): per programme and
// mode, the state folded from the programme's events.
// - AS_RECORDED, at position P: the events up to P in position order, less
//   those corrected by a correction up to P. Usable for a cut at or after P
//   unless a correction after P (and visible at the cut) names an event at or
//   before P.
// - AS_KNOWN, at effective time T, taken when the log's head was H: the events
//   up to H effective at or before T, in effective order, less those corrected
//   by any correction up to H. Usable for a cut at or after T unless an event
//   recorded after H is effective at or before T, or a correction recorded after
//   H names one of its events (both would change what folds before T).
// When a risk or scope item joins a programme its earlier events join the
// programme's list: the programme's snapshots that could have included them are
// dropped from the catalogue.
//
// Not thread-safe: callers serialize Add and the reads.
#ifndef GOVLEDGER_PROJECTIONS_PROGRAMME_INDEX_H_
#define GOVLEDGER_PROJECTIONS_PROGRAMME_INDEX_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "govledger/internal/snapshot.pb.h"
#include "govledger/v1/events.pb.h"
#include "govledger/v1/ledger.pb.h"
#include "ledger/store/event_store.h"
#include "projections/as_at.h"
#include "projections/event_source.h"

namespace govledger::projections {

// Where snapshot bytes live. Thread-safety: as the implementation.
class SnapshotStore {
 public:
  virtual ~SnapshotStore() = default;
  virtual absl::StatusOr<std::optional<std::string>> Get(
      absl::string_view key) = 0;
  virtual absl::Status Put(absl::string_view key, absl::string_view value) = 0;
  // Deletes the snapshot under `key`, if any.
  virtual absl::Status Delete(absl::string_view key) = 0;
};

// In memory (tests, the benchmark). Not thread-safe.
class MemorySnapshotStore final : public SnapshotStore {
 public:
  absl::StatusOr<std::optional<std::string>> Get(
      absl::string_view key) override;
  absl::Status Put(absl::string_view key, absl::string_view value) override;
  absl::Status Delete(absl::string_view key) override;
  size_t bytes() const { return bytes_; }
  size_t size() const { return values_.size(); }

 private:
  std::map<std::string, std::string, std::less<>> values_;
  size_t bytes_ = 0;
};

// What the index makes of the stream an event is on (ParseEntityStream, streams.h): the kinds
// that can concern one programme, and kOther for the rest. Stored in the index's snapshot as
// these numbers: never renumber.
enum class StreamKind : uint8_t {
  kOther,
  kProgramme,
  kProject,
  kRisk,
  kScope,
  kDecision,
};
StreamKind KindOfStream(absl::string_view stream_id);

class ProgrammeIndex final : public Timeline {
 public:
  // Appends the next event of the log. `source` (the same log) finds the
  // event a correction names, and the earlier events of a risk or scope
  // stream that joins a programme. Errors are the source's; the index is then
  // unusable (discard it). REQUIRES: event.position() == size() + 1.
  absl::Status Add(const v1::Event& event, EventSource& source);

  // Events indexed: the log from position 1 to size().
  uint64_t size() const { return recorded_.size(); }

  // Timeline.
  uint64_t head() const override { return size(); }
  int64_t RecordedMicros(uint64_t position) const override {
    return recorded_[position - 1];
  }
  uint64_t LastRecordedAtOrBefore(int64_t micros) const override;
  absl::StatusOr<v1::ProgrammeRegistered> FindProgrammeRegistration(
      absl::string_view programme_id) const override;
  std::map<std::string, std::set<std::string>> ProgrammesEverRegistered() const override;

  // The ids of the programmes registered (by a registration no correction voids), sorted.
  std::vector<std::string> Programmes() const;

  int64_t EffectiveMicros(uint64_t position) const {
    return effective_[position - 1];
  }
  StreamKind Kind(uint64_t position) const { return kinds_[position - 1]; }

  // The positions that can concern `programme_id`, and those that concern
  // every programme, ascending.
  std::vector<uint64_t> PositionsFor(absl::string_view programme_id) const;
  // Positions on decision streams, and those that concern every programme,
  // ascending.
  std::vector<uint64_t> DecisionPositions() const;
  // How many events are on decision streams (corrections of their events included): while it
  // stays the same, so does everything the decision streams hold.
  size_t decision_events() const { return decisions_.size(); }
  // Positions that concern every programme, ascending.
  const std::vector<uint64_t>& GlobalPositions() const { return global_; }
  // (correction's position, corrected event's position), by the first.
  const std::vector<std::pair<uint64_t, uint64_t>>& corrections() const {
    return corrections_;
  }

  // The snapshot catalogue of one programme.
  struct KnownSnapshot {
    int64_t effective_micros;  // T
    uint64_t head;             // H
  };
  struct Snapshots {
    std::vector<uint64_t> recorded;     // positions P, ascending
    std::vector<KnownSnapshot> known;   // by T ascending
  };
  const Snapshots* SnapshotsOf(absl::string_view programme_id) const;
  void AddRecordedSnapshot(const std::string& programme_id, uint64_t position);
  // A snapshot at the same T as one in the catalogue replaces it (the newer is valid for
  // longer), and the old one's key is dropped.
  void AddKnownSnapshot(const std::string& programme_id, KnownSnapshot s);
  // Leaves `s` out of the catalogue and drops its key: for a snapshot no answer can use any
  // more (an event recorded after its head folds at or before its time, which stays so).
  void DropKnownSnapshot(const std::string& programme_id, const KnownSnapshot& s);
  // Deletes from `snapshots` the bytes of every snapshot left out of the catalogue since the
  // last call (replaced, dropped by DropKnownSnapshot, or dropped when a risk or scope item
  // joined the programme). Whoever folds calls it before saving any snapshot again (a key
  // dropped and then saved anew keeps its new bytes), and whoever persists the catalogue
  // after saving it, so that no snapshot outlives its place in the catalogue. A key whose
  // delete fails stays pending.
  absl::Status DeleteDroppedSnapshots(SnapshotStore& snapshots);
  // The keys DeleteDroppedSnapshots would delete now (tests read them).
  const std::vector<std::string>& dropped_snapshot_keys() const { return dropped_snapshot_keys_; }
  // Keys of snapshot bytes in a SnapshotStore; all start with the prefix.
  static constexpr char kSnapshotKeyPrefix[] = "query/";
  static std::string RecordedSnapshotKey(absl::string_view programme_id,
                                         uint64_t position);
  static std::string KnownSnapshotKey(absl::string_view programme_id,
                                      const KnownSnapshot& s);

  // Persistence (internal::QueryIndexSnapshot): SaveTo writes the index and its
  // snapshot catalogue, all but position and hash (the caller's: the index
  // covers positions 1..size()). LoadFrom replaces this index with `in`'s;
  // DATA_LOSS, leaving this index empty, when `in` does not hold together (or
  // has another index_format). Adding the events after it then gives the index
  // that adding every event from position 1 would have, catalogue included.
  // Format 2: programmes' plans with their positions (a registration or re-plan a correction
  // voids is not used), projects' streams. Format 3: opaque events on streams of no entity are
  // no longer among the global positions (every answer folded them, for nothing).
  static constexpr uint32_t kIndexFormat = 3;
  void SaveTo(internal::QueryIndexSnapshot* out) const;
  absl::Status LoadFrom(const internal::QueryIndexSnapshot& in);

  // Since the index was created: snapshots taken and their bytes, and folds
  // that started from a snapshot (AS_RECORDED, AS_KNOWN). Written by the
  // queries (queries.cc). QueryService saves the index when snapshots_taken
  // or snapshots_dropped has grown; tests and the benchmark read them all.
  uint64_t snapshots_taken = 0;
  uint64_t snapshots_dropped = 0;  // left out of the catalogue (the keys above)
  uint64_t snapshot_bytes = 0;
  uint64_t recorded_from_snapshot = 0;
  uint64_t known_from_snapshot = 0;

 private:
  // Positions of a programme's events; sorted lazily (backfills append earlier
  // positions).
  struct Positions {
    std::vector<uint64_t> positions;
    bool sorted = true;
  };
  // Sorts `p` and drops repeats (backfills append earlier positions).
  static void Normalize(Positions& p);
  // The programme of a WorkRef ("" when unknown).
  std::string ProgrammeOf(const v1::WorkRef& ref) const;
  // Adds programme `programme` to `programmes`, the programmes of `stream`
  // (backfilling the stream's events up to `position`, read from `source`
  // unless `position` is the stream's first, and dropping the snapshots they
  // invalidate).
  absl::Status Join(const std::string& stream, uint64_t position, bool first,
                    const std::string& programme,
                    absl::InlinedVector<uint32_t, 1>& programmes,
                    EventSource& source);
  uint32_t ProgrammeNumber(const std::string& programme);
  void Assign(const std::string& programme, uint64_t position);

  std::vector<int64_t> recorded_;   // by position - 1
  std::vector<int64_t> effective_;  // by position - 1
  std::vector<StreamKind> kinds_;   // by position - 1
  // Programme id -> its registrations and re-plans, in log order.
  absl::flat_hash_map<std::string, std::vector<PlanEvent>> plans_;
  absl::flat_hash_map<std::string, std::string>
      project_programme_;  // project id -> programme of its last registration
  // Project id -> the risk and scope streams opened, added or transferred to it (in that order;
  // one transferred to it twice is listed twice).
  absl::flat_hash_map<std::string, std::vector<std::string>> project_streams_;
  // Project, risk and scope streams: the programmes (numbers into programme_names_)
  // they have concerned.
  absl::flat_hash_map<std::string, absl::InlinedVector<uint32_t, 1>>
      stream_programmes_;
  std::vector<std::string> programme_names_;
  absl::flat_hash_map<std::string, uint32_t> programme_numbers_;
  mutable absl::flat_hash_map<std::string, Positions> by_programme_;
  std::vector<uint64_t> global_;     // concern every programme
  std::vector<uint64_t> decisions_;  // on decision streams
  std::vector<std::pair<uint64_t, uint64_t>> corrections_;
  absl::flat_hash_map<std::string, Snapshots> snapshots_;
  // See DeleteDroppedSnapshots; every push counts in snapshots_dropped.
  std::vector<std::string> dropped_snapshot_keys_;
  void DropKey(std::string key) {
    dropped_snapshot_keys_.push_back(std::move(key));
    ++snapshots_dropped;
  }
};

// QueryService's index kept among a store's projections (FORMAT.md, "projections"), anchored
// at the last position it covers (ledger/store/event_store.h, AnchorHash).
inline constexpr char kQueryIndexKey[] = "query-index";

// Replaces `index` with the one saved in `store`, and returns the saved bytes' size. NOT_FOUND
// when none is saved; DATA_LOSS, leaving `index` empty, when it does not parse, hold together
// or match the log up to `head`. The store's per-programme snapshots of another state layout
// (not in the saved catalogue) are dropped.
absl::StatusOr<size_t> LoadIndex(EventStore& store, uint64_t head, ProgrammeIndex* index);

// Saves `index` in `store`, anchored at index.size(); `sync` as EventStore::PutProjection's.
absl::Status SaveIndex(EventStore& store, const ProgrammeIndex& index, bool sync);

}  // namespace govledger::projections

#endif  // GOVLEDGER_PROJECTIONS_PROGRAMME_INDEX_H_
