#include "cli/log_identities.h"

#include <optional>

#include "absl/strings/str_cat.h"

namespace govledger::cli {

absl::Status LogIdentities::Add(const v1::Event& e) {
  if (events_++ == 0) from_start_ = e.position() == 1;
  const std::optional<UuidBytes> id = ParseUuid(e.event_id());
  if (!id) {
    return absl::DataLossError(absl::StrCat("its event id '", e.event_id(), "' is not a UUID"));
  }
  if (const auto [at, added] = ids_.try_emplace(*id, e.position()); !added) {
    return absl::DataLossError(absl::StrCat(
        "its event id ", e.event_id(), " is also the event id of position ", at->second,
        ": an event id is stored once (the ledger's index of event ids was damaged "
        "and a retry stored again, or the log was edited)"));
  }
  const auto [at, added] = streams_.try_emplace(e.stream_id(), e.stream_version(), e.position());
  if (added) {
    if (from_start_ && e.stream_version() != 1) {
      return absl::DataLossError(absl::StrCat("it is version ", e.stream_version(), " of stream '",
                                              e.stream_id(),
                                              "', whose first event it is: a stream starts at "
                                              "version 1"));
    }
    return absl::OkStatus();
  }
  auto& [version, position] = at->second;
  if (e.stream_version() != version + 1) {
    return absl::DataLossError(absl::StrCat(
        "it is version ", e.stream_version(), " of stream '", e.stream_id(),
        "', but that stream's event before it (position ", position, ") is version ", version,
        ": a stream's versions go 1, 2, 3, ... in "
        "position order (the ledger's stream index was damaged, or the log was "
        "edited)"));
  }
  version = e.stream_version();
  position = e.position();
  return absl::OkStatus();
}

}  // namespace govledger::cli
