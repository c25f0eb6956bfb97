#include "projections/governance_validator.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "projections/streams.h"

namespace govledger::projections {
namespace {

using google::protobuf::internal::WireFormatLite;

// The event_type (field 3) of a stored event, read without parsing the rest
// (the payload of a large opaque event is skipped, not copied). nullopt if the
// bytes do not parse that far.
std::optional<std::string> StoredEventType(absl::string_view stored) {
  google::protobuf::io::CodedInputStream in(
      reinterpret_cast<const uint8_t*>(stored.data()),
      static_cast<int>(stored.size()));
  for (;;) {
    uint32_t tag = in.ReadTag();
    if (tag == 0) return std::string();  // no type: not a governance event
    if (WireFormatLite::GetTagFieldNumber(tag) == 3 &&
        WireFormatLite::GetTagWireType(tag) ==
            WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      std::string type;
      if (!WireFormatLite::ReadString(&in, &type)) return std::nullopt;
      return type;
    }
    if (!WireFormatLite::SkipField(&in, tag)) return std::nullopt;
  }
}

absl::Status WithContext(const absl::Status& status, const v1::Event& event) {
  return absl::Status(
      status.code(),
      absl::StrCat("event ", event.event_id(), " (", event.event_type(), " on ",
                   event.stream_id(), "): ", status.message()));
}

}  // namespace

GovernanceValidator::GovernanceValidator() { state_.set_journal(&journal_); }

absl::Status GovernanceValidator::Recover(EventStore& store, uint64_t head) {
  if (head == 0) return absl::OkStatus();
  // Replay is not journalled: nothing here is ever rolled back.
  state_.set_journal(nullptr);
  absl::Status status = store.ScanLog(
      1, /*forward=*/true, [&](uint64_t position, absl::string_view stored) {
        std::optional<std::string> type = StoredEventType(stored);
        if (type && !IsGovernanceType(*type)) return position < head;  // opaque
        v1::Event event;
        if (!type || !event.ParseFromArray(stored.data(),
                                           static_cast<int>(stored.size()))) {
          ++skipped_;  // cannot happen for a verified chain; never fatal
          return position < head;
        }
        if (state_.Apply(event, GovernanceState::Mode::kReplay).ok()) {
          ++replayed_;
        } else {
          ++skipped_;
        }
        return position < head;
      });
  state_.set_journal(&journal_);
  return status;
}

void GovernanceValidator::BeginGroup() { journal_.Clear(); }

absl::Status GovernanceValidator::CheckAppend(
    const std::vector<const v1::Event*>& events, const AppendContext& context) {
  const size_t mark = journal_.size();
  for (const v1::Event* event : events) {
    absl::Status status =
        state_.Apply(*event, GovernanceState::Mode::kValidate);
    if (!status.ok()) {
      journal_.RollbackTo(mark);
      return WithContext(status, *event);
    }
  }
  return absl::OkStatus();
}

void GovernanceValidator::CommitGroup() { journal_.Clear(); }

void GovernanceValidator::AbortGroup() { journal_.RollbackTo(0); }

}  // namespace govledger::projections
