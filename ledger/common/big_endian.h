// Unsigned integers as big-endian bytes (most significant first), the order in which byte-wise
// comparison sorts them: the store's keys (FORMAT.md), the packed events of a governance
// snapshot, and the length prefixes of a decision's canonical encoding.
#ifndef GOVLEDGER_LEDGER_COMMON_BIG_ENDIAN_H_
#define GOVLEDGER_LEDGER_COMMON_BIG_ENDIAN_H_

#include <cstdint>
#include <string>
#include <type_traits>

namespace govledger {

// Writes `v` to out[0, sizeof(T)).
template <typename T>
void PutBigEndian(T v, char* out) {
  static_assert(std::is_unsigned_v<T>);
  for (int i = static_cast<int>(sizeof(T)) - 1; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xFF);
    v = static_cast<T>(v >> 8);
  }
}

// Reads a T from in[0, sizeof(T)).
template <typename T>
T GetBigEndian(const char* in) {
  static_assert(std::is_unsigned_v<T>);
  T v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v = static_cast<T>((v << 8) | static_cast<uint8_t>(in[i]));
  return v;
}

// Appends `v` to `out`.
template <typename T>
void AppendBigEndian(T v, std::string* out) {
  char bytes[sizeof(T)];
  PutBigEndian(v, bytes);
  out->append(bytes, sizeof(T));
}

}  // namespace govledger

#endif  // GOVLEDGER_LEDGER_COMMON_BIG_ENDIAN_H_
