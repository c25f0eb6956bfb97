// RocksDB checksums every write-ahead-log record, and its MANIFEST records, with CRC32C
// (util/crc32c.h). Debian's librocksdb is built to run on any x86-64, without SSE 4.2, so it
// computes CRC32C from tables: about 1 GB/s on the project's machine, 14% of the ledger
// writer's time during bulk appends. This file computes it with the CPU's crc32 instruction
// (about 7.7 GB/s there), falling back to a table on a CPU without one.
//
// How it takes RocksDB's place: govledger links RocksDB statically, and the library's
// crc32c.cc.o defines exactly the three functions below. ledger/CMakeLists.txt makes every
// executable that links the write side take this file from libgovledger_core.a before
// librocksdb.a is searched, so every reference to them resolves here and the linker never
// takes the library's member. Its results are the same (the unit test compares both with the
// shared librocksdb's own functions over random inputs), so the files written are the same
// bytes. Should a later RocksDB's crc32c.cc.o define a fourth function that something uses, the
// link fails with "multiple definition", never silently.
#include "ledger/store/rocksdb_crc32c.h"

#include <nmmintrin.h>

#include <array>
#include <cstring>

namespace govledger::crc32c_internal {
namespace {

// CRC32C's polynomial (Castagnoli), bit-reflected.
constexpr uint32_t kPolynomial = 0x82f63b78;

// a * b modulo the polynomial, both reflected (bit 31 is x^0).
uint32_t MultiplyModP(uint32_t a, uint32_t b) {
  uint32_t product = 0;
  for (uint32_t m = 1u << 31; m != 0; m >>= 1) {
    if ((a & m) != 0) product ^= b;
    b = (b & 1) != 0 ? (b >> 1) ^ kPolynomial : b >> 1;
  }
  return product;
}

// x^(8n) modulo the polynomial: the factor that moves a CRC past n zero bytes.
uint32_t ShiftFactor(size_t n) {
  // powers[k] = x^(2^k) mod P, for every bit of 8n (n has 64 bits, 8n 67).
  static const std::array<uint32_t, 67> kPowers = [] {
    std::array<uint32_t, 67> powers{};
    uint32_t p = 1u << 30;  // x^1
    for (uint32_t& power : powers) {
      power = p;
      p = MultiplyModP(p, p);
    }
    return powers;
  }();
  uint32_t factor = 1u << 31;  // x^0
  size_t bits = n;
  for (int k = 3; bits != 0; bits >>= 1, ++k) {  // 8n = n * 2^3
    if ((bits & 1) != 0) factor = MultiplyModP(kPowers[k], factor);
  }
  return factor;
}

}  // namespace

bool HasSse42() { return __builtin_cpu_supports("sse4.2"); }

uint32_t ExtendPortable(uint32_t crc, const char* data, size_t n) {
  static const std::array<uint32_t, 256> kTable = [] {
    std::array<uint32_t, 256> table{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c >> 1) ^ ((c & 1) != 0 ? kPolynomial : 0);
      table[i] = c;
    }
    return table;
  }();
  uint32_t l = ~crc;
  for (size_t i = 0; i < n; ++i) l = kTable[(l ^ static_cast<uint8_t>(data[i])) & 0xff] ^ (l >> 8);
  return ~l;
}

__attribute__((target("sse4.2"))) uint32_t ExtendSse42(uint32_t crc, const char* data,
                                                       size_t n) {
  uint64_t l = ~crc;
  const char* p = data;
  for (; n > 0 && (reinterpret_cast<uintptr_t>(p) & 7) != 0; --n) {
    l = _mm_crc32_u8(static_cast<uint32_t>(l), static_cast<uint8_t>(*p++));
  }
  for (; n >= 8; n -= 8, p += 8) {
    uint64_t word;
    std::memcpy(&word, p, sizeof word);
    l = _mm_crc32_u64(l, word);
  }
  for (; n > 0; --n) l = _mm_crc32_u8(static_cast<uint32_t>(l), static_cast<uint8_t>(*p++));
  return ~static_cast<uint32_t>(l);
}

}  // namespace govledger::crc32c_internal

namespace rocksdb::crc32c {

std::string IsFastCrc32Supported() {
  return govledger::crc32c_internal::HasSse42() ? "Supported on x86" : "Not supported on x86";
}

uint32_t Extend(uint32_t crc, const char* data, size_t n) {
  // Chosen at the first call, which may come during another file's static initialisation.
  static const auto extend = govledger::crc32c_internal::HasSse42()
                                 ? govledger::crc32c_internal::ExtendSse42
                                 : govledger::crc32c_internal::ExtendPortable;
  return extend(crc, data, n);
}

uint32_t Crc32cCombine(uint32_t crc1, uint32_t crc2, size_t crc2len) {
  return govledger::crc32c_internal::MultiplyModP(
             govledger::crc32c_internal::ShiftFactor(crc2len), crc1) ^
         crc2;
}

}  // namespace rocksdb::crc32c
