// RocksDB's CRC32C, computed with the CPU's crc32 instruction (see rocksdb_crc32c.cc).
#ifndef GOVLEDGER_LEDGER_STORE_ROCKSDB_CRC32C_H_
#define GOVLEDGER_LEDGER_STORE_ROCKSDB_CRC32C_H_

#include <cstddef>
#include <cstdint>
#include <string>

// The functions of RocksDB's util/crc32c.h that its library defines out of line, defined in
// rocksdb_crc32c.cc instead (same names, same results).
namespace rocksdb::crc32c {
// "Supported on x86" when Extend uses the crc32 instruction, else "Not supported on x86".
std::string IsFastCrc32Supported();
// The CRC32C of `data`, continuing from `crc` (the CRC32C of the bytes before it; 0 for none).
uint32_t Extend(uint32_t crc, const char* data, size_t n);
// The CRC32C of A then B, from crc1 = CRC32C(A), crc2 = CRC32C(B) and B's length.
uint32_t Crc32cCombine(uint32_t crc1, uint32_t crc2, size_t crc2len);
}  // namespace rocksdb::crc32c

namespace govledger::crc32c_internal {
// Extend's two ways, for tests: a byte at a time from a table, and eight bytes at a time with
// the crc32 instruction (REQUIRES: the CPU has SSE 4.2).
uint32_t ExtendPortable(uint32_t crc, const char* data, size_t n);
uint32_t ExtendSse42(uint32_t crc, const char* data, size_t n);
bool HasSse42();
}  // namespace govledger::crc32c_internal

#endif  // GOVLEDGER_LEDGER_STORE_ROCKSDB_CRC32C_H_
