#include "ledger/common/errors.h"

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/rpc/status.pb.h"

namespace govledger::errors {

absl::Status WithReason(absl::Status status, absl::string_view reason,
                        const Metadata& metadata) {
  google::rpc::ErrorInfo info;
  info.set_reason(std::string(reason));
  info.set_domain(std::string(kDomain));
  for (const auto& [key, value] : metadata) (*info.mutable_metadata())[key] = value;
  status.SetPayload(kErrorInfoTypeUrl, absl::Cord(info.SerializeAsString()));
  return status;
}

std::optional<google::rpc::ErrorInfo> ErrorInfoOf(const absl::Status& status) {
  auto payload = status.GetPayload(kErrorInfoTypeUrl);  // absl::optional in Debian's abseil
  google::rpc::ErrorInfo info;
  if (!payload || !info.ParseFromString(std::string(*payload))) return std::nullopt;
  return info;
}

std::optional<google::rpc::ErrorInfo> ErrorInfoOfDetails(absl::string_view details) {
  google::rpc::Status status;
  if (details.empty() || !status.ParseFromString(std::string(details))) return std::nullopt;
  for (const google::protobuf::Any& any : status.details()) {
    google::rpc::ErrorInfo info;
    if (any.type_url() == kErrorInfoTypeUrl && info.ParseFromString(any.value()) &&
        info.domain() == kDomain) {
      return info;
    }
  }
  return std::nullopt;
}

absl::Status WithContext(const absl::Status& status, absl::string_view prefix,
                         const Metadata& metadata) {
  absl::Status out(status.code(), absl::StrCat(prefix, status.message()));
  status.ForEachPayload([&out](absl::string_view type_url, const absl::Cord& payload) {
    out.SetPayload(type_url, payload);
  });
  if (metadata.empty()) return out;
  if (std::optional<google::rpc::ErrorInfo> info = ErrorInfoOf(out)) {
    for (const auto& [key, value] : metadata) {
      (*info->mutable_metadata())[key] = value;
    }
    out.SetPayload(kErrorInfoTypeUrl, absl::Cord(info->SerializeAsString()));
  }
  return out;
}

absl::Status EventInvalid(int index, absl::string_view message) {
  return WithReason(absl::InvalidArgumentError(absl::StrCat("events[", index, "]: ", message)),
                    reason::kInvalidEvent, {{"event_index", absl::StrCat(index)}});
}

absl::Status WrongExpectedVersions(const std::vector<VersionMismatch>& mismatches) {
  std::vector<std::string> parts;
  // ErrorInfo's metadata keys are fixed names ([a-z][a-zA-Z0-9-_]*), so the streams go in one
  // value, a JSON object, of as many as fit: ToGrpcStatus would cut a longer value anywhere,
  // leaving no JSON. A stream id holds no character JSON escapes (names.h), and one stream
  // always fits (an id is at most 200 bytes).
  std::string current = "{";
  size_t left_out = 0;
  for (const VersionMismatch& m : mismatches) {
    parts.push_back(absl::StrCat("stream '", m.stream_id, "' expected ", m.expected,
                                 " but its current version is ", m.actual));
    const std::string entry =
        absl::StrCat(current.size() > 1 ? "," : "", "\"", m.stream_id, "\":", m.actual);
    if (left_out == 0 && current.size() + entry.size() + 1 <= kMaxErrorMetadataBytes) {
      current += entry;
    } else {
      ++left_out;
    }
  }
  current += "}";
  Metadata metadata = {{"current_versions", current}};
  if (left_out > 0) metadata.emplace_back("streams_left_out", absl::StrCat(left_out));
  return WithReason(
      absl::AbortedError(absl::StrCat(absl::StrJoin(parts, "; "),
                                      mismatches.size() == 1 ? "; re-read the stream and retry"
                                                             : "; re-read the streams and retry")),
      reason::kWrongExpectedVersion, metadata);
}

absl::Status EventIdConflict(absl::string_view event_id, uint64_t position,
                             absl::string_view differing_part) {
  return WithReason(
      absl::AlreadyExistsError(absl::StrCat(
          "event id ", event_id, " is already stored at position ", position,
          " with different content: its ", differing_part,
          " differs. A retry must resend the bytes first sent (read position ", position,
          " to compare); a new fact needs a new event id")),
      reason::kEventIdConflict,
      {{"event_id", std::string(event_id)},
       {"position", absl::StrCat(position)},
       {"differs", std::string(differing_part)}});
}

absl::Status PositionPastHead(absl::string_view field, uint64_t position, uint64_t head,
                              absl::string_view valid) {
  return WithReason(absl::OutOfRangeError(absl::StrCat(field, " ", position,
                                                       " is past the head (", head, "); ", valid)),
                    reason::kPositionPastHead, {{"head", absl::StrCat(head)}});
}

absl::Status VersionPastStreamEnd(absl::string_view stream_id, uint64_t version,
                                  uint64_t stream_version) {
  return WithReason(
      absl::OutOfRangeError(absl::StrCat(
          "version ", version, " is past the end of stream '", stream_id, "' (version ",
          stream_version, "); read it forwards from 1 to ", stream_version + 1, " (",
          stream_version + 1, ": its next event, once there is one) or backwards from 1 to ",
          stream_version, " (0: from its start forwards, its end backwards)")),
      reason::kVersionPastStreamEnd,
      {{"stream", std::string(stream_id)}, {"stream_version", absl::StrCat(stream_version)}});
}

absl::Status CorruptEvent(uint64_t position, absl::string_view what) {
  return WithReason(
      absl::DataLossError(absl::StrCat("event at position ", position, ": ", what)),
      reason::kEventCorrupt, {{"position", absl::StrCat(position)}});
}

namespace {
// What an index damage message ends with: the remedy.
constexpr absl::string_view kRebuildIndexes =
    "the log itself may be whole (govledger verify checks it): stop govledgerd and start it "
    "once with --rebuild-indexes, which rebuilds the indexes from the log";
}  // namespace

absl::Status IndexEntryWrong(absl::string_view index, uint64_t position, absl::string_view what) {
  return WithReason(absl::DataLossError(absl::StrCat("event at position ", position, ": ", what,
                                                     ": the ledger's ", index,
                                                     " index is damaged; ", kRebuildIndexes)),
                    reason::kIndexDamaged,
                    {{"index", std::string(index)}, {"position", absl::StrCat(position)}});
}

absl::Status StreamVersionMissing(absl::string_view stream_id, uint64_t missing,
                                  uint64_t last_version) {
  return WithReason(absl::DataLossError(absl::StrCat(
                        "version ", missing, " of stream '", stream_id,
                        "' is missing from the stream index, whose last version is ", last_version,
                        ": the ledger's streams index is damaged; ", kRebuildIndexes)),
                    reason::kIndexDamaged,
                    {{"index", "streams"}, {"stream_id", std::string(stream_id)}});
}

absl::Status ChainBroken(uint64_t position, absl::string_view why) {
  return WithReason(
      absl::DataLossError(absl::StrCat("hash chain broken at position ", position, ": ", why)),
      reason::kChainBroken, {{"position", absl::StrCat(position)}});
}

absl::Status Storage(absl::string_view operation, absl::string_view detail) {
  return WithReason(
      absl::InternalError(absl::StrCat("storage ", operation, " failed: ", detail)),
      reason::kStorageFailed, {{"operation", std::string(operation)}});
}

absl::Status StorageCorrupt(absl::string_view operation, absl::string_view detail) {
  // RocksDB repeats its code as it passes a status on ("Corruption: Corruption: ...").
  std::string said(detail);
  while (absl::StartsWith(said, "Corruption: Corruption: ")) said.erase(0, 12);
  return WithReason(
      absl::DataLossError(absl::StrCat("storage ", operation, " found the database corrupt: ", said,
                                       kCorruptDataDirAdvice)),
      reason::kStorageCorrupt, {{"operation", std::string(operation)}});
}

absl::Status ShuttingDown() {
  return WithReason(
      absl::UnavailableError("the ledger is shutting down; retry against a running server"),
      reason::kShuttingDown);
}

absl::Status Overloaded(size_t queued_bytes, size_t max_queued_bytes) {
  return WithReason(
      absl::ResourceExhaustedError(absl::StrCat(
          "the ledger is busy: ", queued_bytes,
          " bytes of appends are waiting to be committed (at most ", max_queued_bytes,
          "); nothing was stored, retry after a pause")),
      reason::kAppendsBacklogged,
      {{"queued_bytes", absl::StrCat(queued_bytes)},
       {"max_queued_bytes", absl::StrCat(max_queued_bytes)}});
}

absl::Status WriterStopped(absl::string_view cause) {
  return WithReason(absl::UnavailableError(absl::StrCat(
                        "the ledger stopped accepting appends after a storage failure (", cause,
                        CarriesItsOwnAdvice(cause) ? ")" : "); restart govledgerd")),
                    reason::kWriterStopped, {{"cause", std::string(cause)}});
}

bool CarriesItsOwnAdvice(absl::string_view cause) {
  return absl::StrContains(cause, kDoNotStop) || absl::StrContains(cause, kDoNotJustRestart);
}

}  // namespace govledger::errors
