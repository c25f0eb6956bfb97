// Tree heads (proto/govledger/v1/audit.proto): what the ledger states about its log at one
// moment, signed with its tree head key, and how anyone checks one.
//
// The signature is Ed25519 over the tree head's signed text, five lines each ended by "\n":
//   govledger.tree-head.v1
//   <size, decimal>
//   <root hash, 64 lower-case hex digits>
//   <head hash, 64 lower-case hex digits>
//   <time, microseconds since the Unix epoch, decimal>
// Text, not protobuf bytes: protobuf's serializer is not canonical, and the text can be
// rebuilt by a script in any language. Thread-safe: pure functions.
#ifndef GOVLEDGER_LEDGER_TREE_HEAD_H_
#define GOVLEDGER_LEDGER_TREE_HEAD_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "govledger/v1/audit.pb.h"

namespace govledger {

inline constexpr char kTreeHeadFormat[] = "govledger.tree-head.v1";

// The text a tree head's signature covers (above).
std::string TreeHeadSignedText(const v1::TreeHead& tree_head);

// A tree head of `size` events with those hashes at `time_micros`, signed with the 32-byte
// Ed25519 `private_key` (unsigned when it is empty).
absl::StatusOr<v1::TreeHead> MakeTreeHead(uint64_t size, absl::string_view root_hash,
                                              absl::string_view head_hash, int64_t time_micros,
                                              absl::string_view private_key);

// OK when `tree_head` is well formed (its format known, hashes of 32 bytes, the empty log's
// hashes at size 0) and, if
// `public_keys` is not empty, carries a valid signature of its signed text by one of them (a
// ledger's tree heads from before and after its tree head key was replaced). INVALID_ARGUMENT
// saying what is malformed; FAILED_PRECONDITION when it is unsigned, signed by another key, or
// its signature does not verify.
absl::Status VerifyTreeHead(const v1::TreeHead& tree_head,
                            absl::Span<const std::string> public_keys);

}  // namespace govledger

#endif  // GOVLEDGER_LEDGER_TREE_HEAD_H_
