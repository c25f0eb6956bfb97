#include "ledger/envelope.h"

#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/unknown_field_set.h"
#include "ledger/common/errors.h"
#include "ledger/common/parse_errors.h"
#include "ledger/common/text.h"
#include "ledger/common/uuid.h"

namespace govledger {

absl::Status CheckEffectiveTime(const google::protobuf::Timestamp& t) {
  if (t.seconds() < kMinEffectiveSeconds || t.seconds() >= kMaxEffectiveSeconds || t.nanos() < 0 ||
      t.nanos() > 999999999) {
    return absl::InvalidArgumentError(
        "is out of range; it must fall between 1900-01-01 and 2199-12-31 (UTC) with nanos in "
        "[0, 999999999]");
  }
  if (t.nanos() % 1000 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("has ", t.nanos() % 1000,
                     " ns below the microsecond; the ledger keeps effective times to the "
                     "microsecond, like recorded times: give whole microseconds"));
  }
  return absl::OkStatus();
}

absl::Status ValidateAppendRequest(const v1::AppendRequest& request, const AppendLimits& limits,
                                   std::vector<UuidBytes>* ids) {
  if (request.events_size() == 0) {
    return absl::InvalidArgumentError("the append request has no events; send at least one");
  }
  if (static_cast<size_t>(request.events_size()) > limits.max_events_per_append) {
    return errors::WithReason(
        absl::InvalidArgumentError(absl::StrCat("the append request has ", request.events_size(),
                                                " events; at most ", limits.max_events_per_append,
                                                " per call (split it into several calls)")),
        errors::reason::kRequestTooLarge,
        {{"events", absl::StrCat(request.events_size())},
         {"max_events", absl::StrCat(limits.max_events_per_append)}});
  }
  size_t request_bytes = request.ByteSizeLong();
  if (request_bytes > limits.max_append_bytes) {
    return errors::WithReason(
        absl::InvalidArgumentError(absl::StrCat("the append request has ", request_bytes,
                                                " bytes; at most ", limits.max_append_bytes,
                                                " per call (split it into several calls)")),
        errors::reason::kRequestTooLarge,
        {{"request_bytes", absl::StrCat(request_bytes)},
         {"max_request_bytes", absl::StrCat(limits.max_append_bytes)}});
  }
  ids->clear();
  ids->reserve(request.events_size());
  absl::flat_hash_set<UuidBytes> seen;
  absl::flat_hash_set<absl::string_view> streams;
  for (int i = 0; i < request.events_size(); ++i) {
    const v1::Event& e = request.events(i);
    // First, since a field sent with the wrong wire type is left unset (an event_id sent as a
    // varint would be reported as an empty id). A field this version's Event does not have (a
    // newer client's) would not be stored. One inside effective_time would be: hashed, but
    // dropped by every JSON export, whose copy would then fail verification for good.
    if (const google::protobuf::UnknownFieldSet& unknown = e.GetReflection()->GetUnknownFields(e);
        !unknown.empty()) {
      if (std::string why = MisencodedField(*v1::Event::descriptor(), unknown.field(0));
          !why.empty()) {
        return errors::EventInvalid(i, absl::StrCat("the event's bytes are malformed: ", why));
      }
      return errors::EventInvalid(
          i, absl::StrCat("holds field number ", unknown.field(0).number(),
                          ", which this govledgerd's Event does not have (from a newer "
                          "client?); it would not be stored, so the event is refused"));
    }
    if (const google::protobuf::UnknownFieldSet& unknown =
            e.effective_time().GetReflection()->GetUnknownFields(e.effective_time());
        e.has_effective_time() && !unknown.empty()) {
      if (std::string why = MisencodedField(*google::protobuf::Timestamp::descriptor(),
                                            unknown.field(0));
          !why.empty()) {
        return errors::EventInvalid(
            i, absl::StrCat("the event's bytes are malformed: effective_time's ", why));
      }
      return errors::EventInvalid(
          i, absl::StrCat("effective_time holds field number ", unknown.field(0).number(),
                          ", which a google.protobuf.Timestamp does not have; give seconds and "
                          "nanos only"));
    }
    std::optional<UuidBytes> id = ParseUuid(e.event_id());
    if (e.event_id().empty()) {
      return errors::EventInvalid(
          i,
          "event_id is empty: give each event a UUID of the client's making (a retry sends "
          "the same one), e.g. 3f2b8c1e-4d6a-4f7b-9c0d-1e2f3a4b5c6d");
    }
    if (!id) {
      return errors::EventInvalid(
          i, absl::StrCat("event_id '", PrintableText(e.event_id()),
                          "' is not a UUID; use the form 3f2b8c1e-4d6a-4f7b-9c0d-1e2f3a4b5c6d"));
    }
    // The nil UUID is what a client that never sets its ids sends: taken as an id, every later
    // such event would be answered as a duplicate of the first and silently not stored.
    if (*id == UuidBytes{}) {
      return errors::EventInvalid(
          i, "event_id is the nil UUID (all zeros), which a client that sets no id sends; give "
             "each event its own UUID (a random, version 4 one)");
    }
    ids->push_back(*id);
    if (!seen.insert(*id).second) {
      return errors::EventInvalid(
          i, absl::StrCat("event_id ", e.event_id(), " appears twice in the request"));
    }
    if (absl::Status s = ValidateStreamId(e.stream_id()); !s.ok()) {
      return errors::EventInvalid(i, s.message());
    }
    streams.insert(e.stream_id());
    if (absl::Status s = ValidateEventType(e.event_type()); !s.ok()) {
      return errors::EventInvalid(i, s.message());
    }
    if (absl::Status s = ValidateSource(e.source()); !s.ok()) {
      return errors::EventInvalid(i, s.message());
    }
    if (e.has_effective_time()) {
      if (absl::Status s = CheckEffectiveTime(e.effective_time()); !s.ok()) {
        return errors::EventInvalid(i, absl::StrCat("effective_time ", s.message()));
      }
    }
    if (e.position() != 0 || e.stream_version() != 0 || e.has_recorded_time() ||
        !e.actor().empty() || !e.prev_hash().empty() || !e.hash().empty()) {
      return errors::EventInvalid(
          i, "position, stream_version, recorded_time, actor, prev_hash and hash are set by "
             "the server; leave them empty");
    }
    size_t event_bytes = e.ByteSizeLong();
    if (event_bytes > limits.max_event_bytes) {
      return errors::EventInvalid(i, absl::StrCat("the event has ", event_bytes,
                                                  " bytes; at most ", limits.max_event_bytes));
    }
  }
  absl::flat_hash_set<absl::string_view> expected;
  for (const v1::ExpectedVersion& ev : request.expected_versions()) {
    if (!streams.contains(ev.stream_id())) {
      return absl::InvalidArgumentError(absl::StrCat("expected_versions names stream '",
                                                  ev.stream_id(),
                                                  "', which no event of the request appends to"));
    }
    if (!expected.insert(ev.stream_id()).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "expected_versions names stream '", ev.stream_id(), "' twice; give one per stream"));
    }
    if (!v1::ExpectedVersion::Kind_IsValid(ev.kind())) {
      return absl::InvalidArgumentError(
          absl::StrCat("expected_versions for '", ev.stream_id(), "' has unknown kind ",
                       static_cast<int>(ev.kind()),
                       "; use KIND_ANY (0), KIND_NO_STREAM (1) or KIND_EXACT (2)"));
    }
    if (ev.kind() != v1::ExpectedVersion::KIND_EXACT && ev.version() != 0) {
      // A version with "any" or "no stream" says two things: which did the caller mean?
      return absl::InvalidArgumentError(absl::StrCat(
          "expected_versions for '", ev.stream_id(), "' gives version ", ev.version(),
          " with kind ", v1::ExpectedVersion::Kind_Name(ev.kind()),
          "; a version goes with KIND_EXACT only"));
    }
  }
  return absl::OkStatus();
}

}  // namespace govledger
