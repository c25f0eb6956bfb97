#include "cli/export_chain.h"

#include <algorithm>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "ledger/stored_event.h"

namespace govledger::cli {

absl::StatusOr<crypto::Hash> ExportChain::Add(const ExportedEvent& exported) {
  const v1::Event& event = exported.event;
  const uint64_t position = event.position();
  auto broken = [](absl::string_view why) { return absl::DataLossError(why); };
  if (event.hash().size() != crypto::kHashSize || event.prev_hash().size() != crypto::kHashSize) {
    return broken("its hash or previous hash is not 32 bytes");
  }
  crypto::Hash stated_prev{};
  std::copy(event.prev_hash().begin(), event.prev_hash().end(), stated_prev.begin());
  crypto::Hash hash;
  if (const std::string& stored = exported.stored; stored.empty()) {
    v1::Event record = event;
    record.clear_hash();
    hash = crypto::ChainHash(stated_prev, record.SerializeAsString());
    if (crypto::AsBytes(hash) != event.hash()) {
      return broken(
          "its hash does not match its content (an edited field, or an event with "
          "fields this govledger does not know, exported by an older govledger)");
    }
  } else {
    // Fields this version does not know: the hash covers the stored bytes, and the fields the
    // line shows must be theirs.
    absl::StatusOr<v1::Event> decoded = DecodeStoredEvent(position, stored);
    if (!decoded.ok()) return broken("its storedBytes are not a stored event");
    hash = crypto::ChainHash(stated_prev,
                             absl::string_view(stored).substr(0, stored.size() - kHashTrailerSize));
    if (crypto::AsBytes(hash) != event.hash() || decoded->hash() != event.hash()) {
      return broken("its hash does not match its storedBytes");
    }
    decoded->DiscardUnknownFields();
    if (decoded->SerializeAsString() != event.SerializeAsString()) {
      return broken("its fields are not those of its storedBytes (an edited field)");
    }
  }
  if (events_ > 0 && position <= last_) {
    return broken(absl::StrCat("it comes after position ", last_,
                               "; an export lists positions in increasing order"));
  }
  if (position == 1 && stated_prev != crypto::kGenesisHash) {
    return broken("position 1 must follow the genesis hash (32 zero bytes)");
  }
  if (events_ > 0 && position == last_ + 1) {
    if (stated_prev != last_hash_) {
      return broken(absl::StrCat("it does not chain to position ", last_,
                                 " (its previous hash is not that event's hash)"));
    }
  } else if (events_ > 0) {
    if (!allow_gaps_) {
      return broken(absl::StrCat(
          position - 1 == last_ + 1
              ? absl::StrCat("position ", last_ + 1, " is")
              : absl::StrCat("positions ", last_ + 1, " to ", position - 1, " are"),
          " missing here, or out of order (an export of the log lists every position in "
          "increasing order); for an export of one stream, which skips positions, give "
          "--allow-gaps"));
    }
    ++gaps_;
  }
  if (allow_gaps_) {
    if (events_ > 0 && event.stream_id() != stream_) {
      // Not damage: the wrong option for the file (an export of the log, say).
      return absl::InvalidArgumentError(absl::StrCat(
          "position ", position, " is on stream ", event.stream_id(), ", not ", stream_,
          ": --allow-gaps takes an export of one stream; leave it out for an export of the "
          "log"));
    }
    if (events_ > 0 && event.stream_version() != last_version_ + 1) {
      return broken(absl::StrCat("its stream version ", event.stream_version(), " does not follow ",
                                 last_version_,
                                 " (a stream's versions run without a gap: an event of ", stream_,
                                 " is missing here, or out of order)"));
    }
    stream_ = event.stream_id();
    last_version_ = event.stream_version();
  }
  if (events_ == 0) first_ = position;
  last_ = position;
  last_hash_ = hash;
  ++events_;
  return hash;
}

}  // namespace govledger::cli
