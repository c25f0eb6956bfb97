#include "ledger/common/uuid.h"

#include <openssl/rand.h>

#include <array>
#include <cstdint>
#include <cstdlib>

namespace govledger {
namespace {

// The value of each hex digit (either case) by byte, -1 for any other byte. A table, not
// comparisons: with the random digits of ids every comparison would be a coin toss for the
// branch predictor, and ids are parsed for every event appended or replayed.
constexpr std::array<int8_t, 256> kHexValues = [] {
  std::array<int8_t, 256> values{};
  for (int8_t& v : values) v = -1;
  for (int d = 0; d < 10; ++d) values['0' + d] = static_cast<int8_t>(d);
  for (int d = 0; d < 6; ++d) {
    values['a' + d] = static_cast<int8_t>(10 + d);
    values['A' + d] = static_cast<int8_t>(10 + d);
  }
  return values;
}();

int HexValue(char c) { return kHexValues[static_cast<uint8_t>(c)]; }

}  // namespace

std::optional<UuidBytes> ParseUuid(absl::string_view text) {
  if (text.size() != 36) return std::nullopt;
  UuidBytes out{};
  size_t byte = 0;
  for (size_t i = 0; i < text.size();) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return std::nullopt;
      ++i;
      continue;
    }
    const int hi = HexValue(text[i]);
    const int lo = HexValue(text[i + 1]);
    if ((hi | lo) < 0) return std::nullopt;
    out[byte++] = static_cast<uint8_t>(hi << 4 | lo);
    i += 2;
  }
  return out;
}

std::string FormatUuid(const UuidBytes& bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(36, '-');
  char* o = out.data();
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) ++o;  // over a dash
    *o++ = kHex[bytes[i] >> 4];
    *o++ = kHex[bytes[i] & 0xF];
  }
  return out;
}

std::string NewUuid() {
  UuidBytes bytes;
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) std::abort();
  bytes[6] = (bytes[6] & 0x0F) | 0x40;  // version 4
  bytes[8] = (bytes[8] & 0x3F) | 0x80;  // RFC 4122 variant
  return FormatUuid(bytes);
}

}  // namespace govledger
