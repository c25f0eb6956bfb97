#include "ledger/stored_event.h"

#include <cstring>

#include "google/protobuf/arena.h"

#include "absl/strings/str_cat.h"
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

absl::StatusOr<crypto::Hash> VerifyStoredEvent(uint64_t position, absl::string_view stored,
                                               const crypto::Hash& prev) {
  if (!HasHashTrailer(stored)) {
    return errors::CorruptEvent(position, "stored bytes lack the hash trailer");
  }
  // Only the position and previous hash are needed: parse them, not the payload, off an arena.
  google::protobuf::Arena arena;
  auto& event = *google::protobuf::Arena::CreateMessage<v1::Event>(&arena);
  if (!event.ParseFromArray(stored.data(), static_cast<int>(stored.size()))) {
    return errors::CorruptEvent(position, "stored bytes do not parse as an event");
  }
  absl::string_view record = stored.substr(0, stored.size() - kHashTrailerSize);
  crypto::Hash hash = crypto::ChainHash(prev, record);
  if (std::memcmp(hash.data(), stored.data() + record.size() + 2, crypto::kHashSize) != 0 ||
      event.position() != position || event.prev_hash() != crypto::AsBytes(prev)) {
    return errors::ChainBroken(position);
  }
  return hash;
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
    return absl::DataLossError(absl::StrCat("event at position ", point.position + 1,
                                            " is missing; the log should reach ", end));
  }
  return point;
}

}  // namespace govledger
