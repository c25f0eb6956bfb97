// What each status code means, everywhere in govledger (the README's table of codes says the
// same to clients), and the constructors of the errors several files return. A file may build
// an absl::Status of its own for a message only it gives, in the code's one meaning:
//   INVALID_ARGUMENT     the request is malformed (fix the request)
//   NOT_FOUND            a named entity or position does not exist
//   ALREADY_EXISTS       an id is taken by different content
//   ABORTED              an expected stream version did not match, or a paged history's
//                        cut moved between its pages (re-read and retry)
//   FAILED_PRECONDITION  a domain rule refuses the request in the current state
//   OUT_OF_RANGE         a position or version past the end of the log or stream
//   DATA_LOSS            stored bytes fail their hash or cannot be parsed, or the storage
//                        engine finds its files corrupt
//   RESOURCE_EXHAUSTED   a limit is reached: appends waiting, free disk space, subscriptions
//                        (retry after a pause); an answer too large to send
//   UNAVAILABLE          the ledger is shutting down or has stopped after a storage failure
//   UNAUTHENTICATED      no valid access token (or its access was withdrawn while the call ran)
//   PERMISSION_DENIED    the token's role does not allow the call (or no longer does: a reload
//                        gave it a lower role while the call ran), or names another actor
//   CANCELLED            the client went away, or the server ended the call at shutdown
//   INTERNAL             the storage engine failed
//
// Errors a program must tell apart within one code also carry a reason: a google.rpc.ErrorInfo
// (domain "govledger", a reason of `reason::` below, metadata as documented there) attached to
// the absl::Status as a payload under kErrorInfoTypeUrl. ToGrpcStatus (ledger/server/
// grpc_status.h) sends it to clients in the standard trailer grpc-status-details-bin.
#ifndef GOVLEDGER_LEDGER_COMMON_ERRORS_H_
#define GOVLEDGER_LEDGER_COMMON_ERRORS_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/rpc/error_details.pb.h"

namespace govledger::errors {

// The most of each ErrorInfo metadata value govledgerd sends (ToGrpcStatus, ledger/server/
// grpc_status.h, cuts a longer one; see there why).
inline constexpr size_t kMaxErrorMetadataBytes = 256;

// The reasons govledgerd gives, in ErrorInfo.reason. Released names never change; the README's
// "Error reasons" lists them for clients. Metadata keys are given with each.
namespace reason {
// INVALID_ARGUMENT: one event of an Append is malformed or breaks a field's rule.
// Metadata: "event_index" (its index in the request); and "event_id" too when the governance
// rules found it.
inline constexpr absl::string_view kInvalidEvent = "INVALID_EVENT";
// INVALID_ARGUMENT: an Append holds more events, or more bytes, than one call may; split it.
// Metadata: "events" and "max_events", or "request_bytes" and "max_request_bytes".
inline constexpr absl::string_view kRequestTooLarge = "REQUEST_TOO_LARGE";
// ABORTED: expected versions did not match. Metadata: "current_versions", a JSON object of
// each such stream's id and its current version (0 for a stream with no events), in request
// order and as many streams as fit in kMaxErrorMetadataBytes (always whole JSON); and, when
// streams are left out of it, "streams_left_out", how many (their versions are in the message,
// as long as it is not cut).
inline constexpr absl::string_view kWrongExpectedVersion = "WRONG_EXPECTED_VERSION";
// INVALID_ARGUMENT: a request (outside its events, which INVALID_EVENT covers) holds a field
// this govledgerd does not know, from a newer client: it would be ignored. Metadata: "field"
// (where, as "as_at" or "expected_versions[1]"; "" for the request itself), "field_number".
inline constexpr absl::string_view kUnknownField = "UNKNOWN_FIELD";
// ALREADY_EXISTS: an event id is stored with different content. Metadata: "event_id",
// "position" (where it is stored).
inline constexpr absl::string_view kEventIdConflict = "EVENT_ID_CONFLICT";
// FAILED_PRECONDITION: a governance rule refuses an event. Metadata: "entity" (as "risk
// LPP-R07"), "rule" (the rule's sentence), "event_id", "event_index" (in the request).
inline constexpr absl::string_view kRuleRefused = "RULE_REFUSED";
// NOT_FOUND: a programme the ledger holds, but registered after the query's cut (an earlier
// cut has nothing of it). Metadata: "programme".
inline constexpr absl::string_view kNotYetRegistered = "NOT_YET_REGISTERED";
// OUT_OF_RANGE: a position past the head. Metadata: "head".
inline constexpr absl::string_view kPositionPastHead = "POSITION_PAST_HEAD";
// OUT_OF_RANGE: a version past a stream's end. Metadata: "stream", "stream_version".
inline constexpr absl::string_view kVersionPastStreamEnd = "VERSION_PAST_STREAM_END";
// DATA_LOSS: an event's stored bytes are missing or do not parse. Metadata: "position".
inline constexpr absl::string_view kEventCorrupt = "EVENT_CORRUPT";
// DATA_LOSS: the `streams` or `event_ids` index names another event than the log holds, or
// lacks one: the index is damaged, the log may be whole (govledgerd --rebuild-indexes rebuilds
// the indexes from it). Metadata: "index" ("streams" or "event_ids"), and "position" (the event
// an entry names) or "stream_id" (the stream missing a version).
inline constexpr absl::string_view kIndexDamaged = "INDEX_DAMAGED";
// DATA_LOSS: the hash chain does not verify. Metadata: "position".
inline constexpr absl::string_view kChainBroken = "CHAIN_BROKEN";
// INTERNAL: the storage engine failed. Metadata: "operation".
inline constexpr absl::string_view kStorageFailed = "STORAGE_FAILED";
// DATA_LOSS: the storage engine found its own files corrupt (a block's checksum does not
// match). Metadata: "operation".
inline constexpr absl::string_view kStorageCorrupt = "STORAGE_CORRUPT";
// RESOURCE_EXHAUSTED: appends already waiting reach --max-queued-bytes; retry after a pause.
// Metadata: "queued_bytes", "max_queued_bytes".
inline constexpr absl::string_view kAppendsBacklogged = "APPENDS_BACKLOGGED";
// RESOURCE_EXHAUSTED: appends are paused (the data directory's free space is below
// --min-free-bytes), and with them backups; retry once an operator has freed space.
inline constexpr absl::string_view kAppendsPaused = "APPENDS_PAUSED";
// RESOURCE_EXHAUSTED: the calls of one kind (reads, queries, audit or admin calls) already
// waiting for their thread reach its limit; retry after a pause. Metadata: "waiting".
inline constexpr absl::string_view kCallsBacklogged = "CALLS_BACKLOGGED";
// RESOURCE_EXHAUSTED: --max-subscriptions subscriptions are open. Metadata:
// "max_subscriptions".
inline constexpr absl::string_view kSubscriptionsFull = "SUBSCRIPTIONS_FULL";
// RESOURCE_EXHAUSTED: a Backup while another is in progress (one runs at a time); retry when it
// has finished.
inline constexpr absl::string_view kBackupInProgress = "BACKUP_IN_PROGRESS";
// UNAVAILABLE: the server is shutting down; retry against a running server. A subscription
// ended by it has metadata "next_position", where to resubscribe.
inline constexpr absl::string_view kShuttingDown = "SHUTTING_DOWN";
// UNAVAILABLE: the writer stopped after a storage failure; appends fail until govledgerd is
// restarted (not worth retrying on its own). Metadata: "cause".
inline constexpr absl::string_view kWriterStopped = "WRITER_STOPPED";
// RESOURCE_EXHAUSTED: a query's answer is larger than a gRPC message may be (64 MiB); an
// entity's history can be asked for in pages. Metadata: "answer_bytes".
inline constexpr absl::string_view kAnswerTooLarge = "ANSWER_TOO_LARGE";
}  // namespace reason

inline constexpr absl::string_view kDomain = "govledger";
inline constexpr absl::string_view kErrorInfoTypeUrl = "type.googleapis.com/google.rpc.ErrorInfo";

// ErrorInfo metadata: keys and values, in the order given.
using Metadata = std::vector<std::pair<std::string, std::string>>;

// `status` (not OK) with an ErrorInfo of `reason` and `metadata` attached, replacing any
// attached before.
absl::Status WithReason(absl::Status status, absl::string_view reason,
                        const Metadata& metadata = {});

// The ErrorInfo attached to `status`, if any.
std::optional<google::rpc::ErrorInfo> ErrorInfoOf(const absl::Status& status);

// The ErrorInfo of govledger's domain (kDomain) in a serialized google.rpc.Status (what
// grpc::Status::error_details() holds on a client), if any: another's (a proxy's) is not
// read as govledger's reason.
std::optional<google::rpc::ErrorInfo> ErrorInfoOfDetails(absl::string_view details);

// `status` with its message prefixed by `prefix` and `metadata` added to its ErrorInfo (if it
// has one): context added on the way out, nothing else lost.
absl::Status WithContext(const absl::Status& status, absl::string_view prefix,
                         const Metadata& metadata = {});

// Event `index` of an Append (INVALID_EVENT).
absl::Status EventInvalid(int index, absl::string_view message);

// One expected version that did not match.
struct VersionMismatch {
  std::string stream_id;
  std::string expected;  // as the request put it ("version 3", "no stream yet")
  uint64_t actual;
};

// Every expected version of a request that did not match, in request order.
absl::Status WrongExpectedVersions(const std::vector<VersionMismatch>& mismatches);

// ALREADY_EXISTS (EVENT_ID_CONFLICT, metadata "event_id", "position", "differs"): the event id
// is stored at `position` with other content; `differing_part` names the first field of Event
// that differs ("stream_id", "event_type", "effective_time", "payload", "source").
absl::Status EventIdConflict(absl::string_view event_id, uint64_t position,
                             absl::string_view differing_part);

// OUT_OF_RANGE (POSITION_PAST_HEAD, metadata "head"): `field` (as the request names it) is
// `position`, past the head; `valid` says what the caller may give instead. The message is
// "<field> <position> is past the head (<head>); <valid>".
absl::Status PositionPastHead(absl::string_view field, uint64_t position, uint64_t head,
                              absl::string_view valid);

// A read of `stream_id` from `version`, past its end (`stream_version`).
absl::Status VersionPastStreamEnd(absl::string_view stream_id, uint64_t version,
                                  uint64_t stream_version);

absl::Status CorruptEvent(uint64_t position, absl::string_view what);

// DATA_LOSS (INDEX_DAMAGED): the entry of `index` ("streams" or "event_ids") names the event at
// `position`, which `what` says is not the one it names ("the stream index gives it as ...").
absl::Status IndexEntryWrong(absl::string_view index, uint64_t position, absl::string_view what);
// DATA_LOSS (INDEX_DAMAGED): version `missing` of `stream_id`, whose last is `last_version`,
// has no entry in the stream index (an entry lost on disk; the log itself may be whole).
absl::Status StreamVersionMissing(absl::string_view stream_id, uint64_t missing,
                                  uint64_t last_version);

// The event at `position` does not verify; `why` says which check failed, in words an auditor
// can act on ("its content does not give the hash stored with it: ...").
absl::Status ChainBroken(uint64_t position, absl::string_view why);

absl::Status Storage(absl::string_view operation, absl::string_view detail);

// The storage engine's files are corrupt (DATA_LOSS, kStorageCorrupt): restore from a backup.
absl::Status StorageCorrupt(absl::string_view operation, absl::string_view detail);
// How StorageCorrupt's message ends: what to do about a ledger's own data directory (not about a
// backup, whose checks take it out).
inline constexpr absl::string_view kCorruptDataDirAdvice =
    "; keep this data directory as it is (while a daemon still serves it, what it can read, the "
    "events since the last backup, can be saved first: README, \"Saving what a damaged ledger "
    "still holds\"), and restore the data directory from a backup into another directory";

absl::Status ShuttingDown();

absl::Status Overloaded(size_t queued_bytes, size_t max_queued_bytes);

absl::Status WriterStopped(absl::string_view cause);

// How a storage failure's cause begins its advice when a plain restart is the wrong thing to
// do: a stop would lose events (the data directory removed while govledgerd holds its files
// open), or a start would not find the ledger (the data directory moved). Such a cause carries
// its own advice, and nothing adds "restart govledgerd" to it (CarriesItsOwnAdvice).
inline constexpr absl::string_view kDoNotStop = "Do not stop govledgerd:";
inline constexpr absl::string_view kDoNotJustRestart = "Do not just restart govledgerd:";
bool CarriesItsOwnAdvice(absl::string_view cause);

}  // namespace govledger::errors

#endif  // GOVLEDGER_LEDGER_COMMON_ERRORS_H_
