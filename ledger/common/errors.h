// What each status code means, everywhere in govledger (the README's table of codes says the
// same to clients), and the constructors of the errors several files return. A file may build
// an absl::Status of its own for a message only it gives, in the code's one meaning:
//   INVALID_ARGUMENT     the request is malformed (fix the request)
//   NOT_FOUND            a named entity or position does not exist
//   ALREADY_EXISTS       an id is taken by different content
//   ABORTED              an expected stream version did not match (re-read and retry)
//   FAILED_PRECONDITION  a domain rule refuses the request in the current state
//   OUT_OF_RANGE         a position or version past the end of the log or stream
//   DATA_LOSS            stored bytes fail their hash or cannot be parsed
//   RESOURCE_EXHAUSTED   a limit is reached: appends waiting, free disk space, subscriptions
//                        (retry after a pause)
//   UNAVAILABLE          the ledger is shutting down or has stopped after a storage failure
//   UNAUTHENTICATED      no valid access token (or its access was withdrawn while the call ran)
//   PERMISSION_DENIED    the token's role does not allow the call, or names another actor
//   CANCELLED            the client went away, or the server ended the call at shutdown
//   INTERNAL             the storage engine failed
#ifndef GOVLEDGER_LEDGER_COMMON_ERRORS_H_
#define GOVLEDGER_LEDGER_COMMON_ERRORS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"

namespace govledger::errors {

inline absl::Status InvalidArgument(absl::string_view message) {
  return absl::InvalidArgumentError(message);
}

inline absl::Status EventInvalid(int index, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat("events[", index, "]: ", message));
}

// One expected version that did not match, for WrongExpectedVersions.
inline std::string VersionMismatch(absl::string_view stream_id, absl::string_view expected,
                                   uint64_t actual) {
  return absl::StrCat("stream '", stream_id, "' expected ", expected,
                      " but its current version is ", actual);
}

// Every expected version of a request that did not match (VersionMismatch each, in request
// order).
inline absl::Status WrongExpectedVersions(const std::vector<std::string>& mismatches) {
  return absl::AbortedError(absl::StrCat(absl::StrJoin(mismatches, "; "),
                                         mismatches.size() == 1
                                             ? "; re-read the stream and retry"
                                             : "; re-read the streams and retry"));
}

inline absl::Status EventIdConflict(absl::string_view event_id, uint64_t position) {
  return absl::AlreadyExistsError(
      absl::StrCat("event id ", event_id, " is already stored at position ", position,
                   " with different content (stream, type, effective time or payload bytes): "
                   "a retry must resend the bytes first sent (read position ", position,
                   " to compare); a new fact needs a new event id"));
}

// A read from `position`, past the head: forwards, head + 1 is still valid (an empty page,
// where a caller waiting for new events reads next); backwards, the head is the last.
inline absl::Status PositionPastHead(uint64_t position, uint64_t head, bool forward) {
  return absl::OutOfRangeError(absl::StrCat(
      "position ", position, " is past the head (", head, "); read ",
      forward ? "forwards from 1 to " : "backwards from ",
      forward ? head + 1 : head,
      forward ? (head == 0 ? " (the ledger is empty)" : "")
              : (head == 0 ? " (the ledger is empty: nothing to read)" : " down to 1")));
}

inline absl::Status CorruptEvent(uint64_t position, absl::string_view what) {
  return absl::DataLossError(absl::StrCat("event at position ", position, ": ", what));
}

inline absl::Status ChainBroken(uint64_t position) {
  return absl::DataLossError(absl::StrCat(
      "hash chain broken at position ", position,
      ": the stored event does not match its hash or its predecessor's hash"));
}

inline absl::Status Storage(absl::string_view operation, absl::string_view detail) {
  return absl::InternalError(absl::StrCat("storage ", operation, " failed: ", detail));
}

inline absl::Status ShuttingDown() {
  return absl::UnavailableError("the ledger is shutting down; retry against a running server");
}

inline absl::Status Overloaded(size_t queued_bytes, size_t max_queued_bytes) {
  return absl::ResourceExhaustedError(absl::StrCat(
      "the ledger is busy: ", queued_bytes, " bytes of appends are waiting to be committed (at "
      "most ", max_queued_bytes, "); nothing was stored, retry after a pause"));
}

inline constexpr absl::string_view kWriterStoppedPrefix =
    "the ledger stopped accepting appends after a storage failure";

inline absl::Status WriterStopped(absl::string_view cause) {
  return absl::UnavailableError(
      absl::StrCat(kWriterStoppedPrefix, " (", cause, "); restart govledgerd"));
}

// Whether a call's UNAVAILABLE `message` is WriterStopped's: the server is up, but refuses
// appends until someone restarts it (not worth retrying on its own, unlike the other
// UNAVAILABLEs: an unreachable server, one shutting down).
inline bool IsWriterStopped(absl::string_view message) {
  return absl::StartsWith(message, kWriterStoppedPrefix);
}

}  // namespace govledger::errors

#endif  // GOVLEDGER_LEDGER_COMMON_ERRORS_H_
