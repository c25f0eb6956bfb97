// The envelope rules: what a well-formed append request looks like, checked before the writer
// sees it. Pure functions; thread-safe.
#ifndef GOVLEDGER_LEDGER_ENVELOPE_H_
#define GOVLEDGER_LEDGER_ENVELOPE_H_

#include <cstddef>
#include <cstdint>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include <vector>

#include "govledger/v1/ledger.pb.h"
#include "ledger/common/names.h"
#include "ledger/common/uuid.h"

namespace govledger {

// Limits on what one append may carry. Every limit is documented in the README.
struct AppendLimits {
  // Largest serialized event (payload and envelope fields), bytes. Default 1 MiB.
  size_t max_event_bytes = 1 << 20;
  // Most events in one Append call. Default 10,000.
  size_t max_events_per_append = 10000;
  // Largest serialized Append request, bytes. Default 32 MiB.
  size_t max_append_bytes = 32 << 20;
};

// Effective times must fall in [1900-01-01T00:00:00Z, 2200-01-01T00:00:00Z).
inline constexpr int64_t kMinEffectiveSeconds = -2208988800;
inline constexpr int64_t kMaxEffectiveSeconds = 7258118400;

// OK when `t` is an effective time the ledger keeps: in the range above, in whole microseconds
// (as recorded times are kept). Otherwise why not, as a phrase after the field's name
// ("is out of range; ...").
absl::Status CheckEffectiveTime(const google::protobuf::Timestamp& t);


// Checks the request's shape: at least one event; each event's id is a UUID, unique within the
// request; stream id, event type and source are legal; effective time in range; no server-only field
// set; sizes within `limits`; at most one expected version per stream, each naming a stream of
// the request. OK, with the parsed event ids in *ids (in request order), or INVALID_ARGUMENT
// naming the event index and field.
absl::Status ValidateAppendRequest(const v1::AppendRequest& request, const AppendLimits& limits,
                                   std::vector<UuidBytes>* ids);

}  // namespace govledger

#endif  // GOVLEDGER_LEDGER_ENVELOPE_H_
