#include "ledger/stored_event.h"

#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"
#include "ledger/common/errors.h"
#include "ledger/common/status_macros.h"

namespace govledger {
namespace {

constexpr char kHashTag = 0x7A;  // field 15, wire type 2
constexpr char kHashLength = 0x20;

void AppendVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

}  // namespace

bool HasHashTrailer(absl::string_view stored) {
  return stored.size() >= kHashTrailerSize &&
         stored[stored.size() - kHashTrailerSize] == kHashTag &&
         stored[stored.size() - kHashTrailerSize + 1] == kHashLength;
}

void AppendBytesField(int field, absl::string_view bytes, std::string* out) {
  AppendVarint(static_cast<uint64_t>(field) << 3 | 2, out);
  AppendVarint(bytes.size(), out);
  out->append(bytes.data(), bytes.size());
}

void AppendVarintField(int field, uint64_t value, std::string* out) {
  AppendVarint(static_cast<uint64_t>(field) << 3, out);
  AppendVarint(value, out);
}

std::string ChainRecord(std::string record, const crypto::Hash& prev, crypto::Hash* hash) {
  *hash = crypto::ChainHash(prev, record);
  record.reserve(record.size() + kHashTrailerSize);
  record.push_back(kHashTag);
  record.push_back(kHashLength);
  record.append(reinterpret_cast<const char*>(hash->data()), hash->size());
  return record;
}

absl::StatusOr<StoredEventKeys> ReadStoredEventKeys(absl::string_view stored) {
  using google::protobuf::internal::WireFormatLite;
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(stored.data()),
                                            static_cast<int>(stored.size()));
  StoredEventKeys keys;
  for (uint32_t tag = in.ReadTag(); tag != 0; tag = in.ReadTag()) {
    const int field = WireFormatLite::GetTagFieldNumber(tag);
    const auto wire_type = WireFormatLite::GetTagWireType(tag);
    bool ok = true;
    if ((field == 1 || field == 2 || field == 3 || field == 14) &&
        wire_type == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      uint32_t size = 0;
      ok = in.ReadVarint32(&size) && in.Skip(static_cast<int>(size));
      if (ok) {
        const size_t end = static_cast<size_t>(in.CurrentPosition());
        absl::string_view& value = field == 1   ? keys.event_id
                                   : field == 2 ? keys.stream_id
                                   : field == 3 ? keys.event_type
                                                : keys.prev_hash;
        value = stored.substr(end - size, size);
      }
    } else if ((field == 10 || field == 11) && wire_type == WireFormatLite::WIRETYPE_VARINT) {
      ok = in.ReadVarint64(field == 10 ? &keys.position : &keys.stream_version);
    } else {
      ok = WireFormatLite::SkipField(&in, tag);
    }
    if (!ok) return absl::DataLossError("a stored event does not parse");
  }
  // ReadTag gives 0 at the end and on a malformed tag: only the end is a whole message.
  if (static_cast<size_t>(in.CurrentPosition()) != stored.size()) {
    return absl::DataLossError("a stored event does not parse");
  }
  return keys;
}

absl::Status CheckStreamIndexEntry(absl::string_view stream_id, uint64_t version, uint64_t position,
                                   absl::string_view stored) {
  absl::StatusOr<StoredEventKeys> keys = ReadStoredEventKeys(stored);
  if (!keys.ok()) return errors::CorruptEvent(position, "stored bytes do not parse as an event");
  if (keys->stream_id == stream_id && keys->stream_version == version) return absl::OkStatus();
  // The event itself may be what was changed (or moved): that is the log's damage.
  RETURN_IF_ERROR(CheckStoredEvent(position, stored).status());
  return errors::IndexEntryWrong(
      "streams", position,
      absl::StrCat("the stream index gives it as version ", version, " of stream '", stream_id,
                   "', but it is version ", keys->stream_version, " of stream '", keys->stream_id,
                   "'"));
}

absl::Status CheckEventIdIndexEntry(absl::string_view event_id, uint64_t position,
                                    absl::string_view stored) {
  absl::StatusOr<StoredEventKeys> keys = ReadStoredEventKeys(stored);
  if (!keys.ok()) return errors::CorruptEvent(position, "stored bytes do not parse as an event");
  if (absl::EqualsIgnoreCase(keys->event_id, event_id)) return absl::OkStatus();
  RETURN_IF_ERROR(CheckStoredEvent(position, stored).status());
  return errors::IndexEntryWrong("event_ids", position,
                                 absl::StrCat("the event id index gives it for event id ", event_id,
                                              ", but its event id is ", keys->event_id));
}

absl::StatusOr<v1::Event> DecodeStoredEvent(uint64_t position, absl::string_view stored) {
  if (!HasHashTrailer(stored)) {
    return errors::CorruptEvent(position, "stored bytes lack the hash trailer");
  }
  v1::Event event;
  if (!event.ParseFromArray(stored.data(), static_cast<int>(stored.size()))) {
    return errors::CorruptEvent(position, "stored bytes do not parse as an event");
  }
  return event;
}

absl::StatusOr<StoredEventHashes> CheckStoredEvent(uint64_t position, absl::string_view stored) {
  if (!HasHashTrailer(stored)) {
    return errors::CorruptEvent(position, "stored bytes lack the hash trailer");
  }
  // Only the position and previous hash are needed: read them, skipping the rest unparsed
  // (bytes whose hash matches are the bytes the writer serialized).
  absl::StatusOr<StoredEventKeys> keys = ReadStoredEventKeys(stored);
  if (!keys.ok()) return errors::CorruptEvent(position, "stored bytes do not parse as an event");
  absl::string_view record = stored.substr(0, stored.size() - kHashTrailerSize);
  // Its own hash first, over the previous hash it states: an edit of the event shows here,
  // and only here (the next event still chains to the hash stored with it).
  const absl::string_view stated_prev = keys->prev_hash;
  StoredEventHashes out{};
  if (stated_prev.size() == crypto::kHashSize) {
    std::memcpy(out.prev.data(), stated_prev.data(), crypto::kHashSize);
  }
  out.hash = crypto::ChainHash(out.prev, record);
  if (stated_prev.size() != crypto::kHashSize ||
      std::memcmp(out.hash.data(), stored.data() + record.size() + 2, crypto::kHashSize) != 0) {
    return errors::ChainBroken(position,
                               "its content does not give the hash stored with it (the event "
                               "was changed after it was written)");
  }
  if (keys->position != position) {
    return errors::ChainBroken(
        position, absl::StrCat("the event stored there names position ", keys->position,
                               " (events were moved or renumbered)"));
  }
  return out;
}

absl::StatusOr<crypto::Hash> VerifyStoredEvent(uint64_t position, absl::string_view stored,
                                               const crypto::Hash& prev) {
  ASSIGN_OR_RETURN(const StoredEventHashes checked, CheckStoredEvent(position, stored));
  if (checked.prev != prev) {
    return errors::ChainBroken(
        position,
        position == 1
            ? std::string("its previous hash is not the genesis hash (32 zero bytes): the "
                          "first event was replaced by one written to follow another, or the "
                          "log's start was cut off")
            : absl::StrCat("the previous hash it holds is not the hash of position ", position - 1,
                           " (that event was replaced, or this one was, after "
                           "this one was written)"));
  }
  return checked.hash;
}

absl::StatusOr<ChainPoint> VerifyChain(EventStore& store, const ChainPoint& start, uint64_t end,
                                       const std::function<void(uint64_t)>& progress) {
  ChainPoint point = start;
  absl::Status failure;
  RETURN_IF_ERROR(store.ScanLog(start.position + 1, /*forward=*/true,
                                [&](uint64_t position, absl::string_view stored) {
                                  if (position > end) return false;
                                  absl::StatusOr<crypto::Hash> hash =
                                      VerifyStoredEvent(position, stored, point.hash);
                                  if (!hash.ok()) {
                                    failure = hash.status();
                                    return false;
                                  }
                                  point = {position, *hash};
                                  if (progress) progress(position);
                                  return true;
                                }));
  RETURN_IF_ERROR(failure);
  if (point.position < end) {
    return errors::CorruptEvent(point.position + 1,
                                absl::StrCat("missing; the log should reach ", end));
  }
  return point;
}

}  // namespace govledger
