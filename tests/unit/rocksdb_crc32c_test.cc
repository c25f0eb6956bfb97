// RocksDB's CRC32C as govledger links it (ledger/store/rocksdb_crc32c.cc): the same values as
// the library's own functions, so the files RocksDB writes are the same bytes.
#include "ledger/store/rocksdb_crc32c.h"

#include <dlfcn.h>

#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace govledger {
namespace {

using crc32c_internal::ExtendPortable;
using crc32c_internal::ExtendSse42;
using crc32c_internal::HasSse42;

// The functions of Debian's shared librocksdb (the package the static library comes with),
// opened beside the static copy linked into this test.
class LibraryCrc32c {
 public:
  LibraryCrc32c() {
    handle_ = dlopen("librocksdb.so", RTLD_NOW | RTLD_LOCAL);
    if (handle_ == nullptr) return;
    extend_ = reinterpret_cast<uint32_t (*)(uint32_t, const char*, size_t)>(
        dlsym(handle_, "_ZN7rocksdb6crc32c6ExtendEjPKcm"));
    combine_ = reinterpret_cast<uint32_t (*)(uint32_t, uint32_t, size_t)>(
        dlsym(handle_, "_ZN7rocksdb6crc32c13Crc32cCombineEjjm"));
  }
  bool ok() const { return extend_ != nullptr && combine_ != nullptr; }
  uint32_t Extend(uint32_t crc, const char* data, size_t n) const { return extend_(crc, data, n); }
  uint32_t Combine(uint32_t a, uint32_t b, size_t n) const { return combine_(a, b, n); }

 private:
  void* handle_ = nullptr;
  uint32_t (*extend_)(uint32_t, const char*, size_t) = nullptr;
  uint32_t (*combine_)(uint32_t, uint32_t, size_t) = nullptr;
};

// The test vectors of RFC 3720 (iSCSI), B.4, and the usual check value.
TEST(RocksDbCrc32cTest, KnownValues) {
  std::string zeros(32, '\0');
  std::string ones(32, '\xff');
  std::string ascending;
  std::string descending;
  for (int i = 0; i < 32; ++i) {
    ascending.push_back(static_cast<char>(i));
    descending.push_back(static_cast<char>(31 - i));
  }
  const std::vector<std::pair<std::string, uint32_t>> cases = {
      {zeros, 0x8a9136aa}, {ones, 0x62a8ab43}, {ascending, 0x46dd794e},
      {descending, 0x113fdb5c}, {"123456789", 0xe3069283}, {"", 0}};
  for (const auto& [data, crc] : cases) {
    EXPECT_EQ(rocksdb::crc32c::Extend(0, data.data(), data.size()), crc) << data.size();
    EXPECT_EQ(ExtendPortable(0, data.data(), data.size()), crc) << data.size();
    if (HasSse42()) {
      EXPECT_EQ(ExtendSse42(0, data.data(), data.size()), crc) << data.size();
    }
  }
}

TEST(RocksDbCrc32cTest, SameValuesAsTheLibrarysOwnFunctions) {
  LibraryCrc32c library;
  ASSERT_TRUE(library.ok()) << "cannot open librocksdb.so: " << dlerror();
  std::mt19937_64 random(20261130);
  std::vector<char> buffer(70000);
  for (char& c : buffer) c = static_cast<char>(random());
  for (int i = 0; i < 20000; ++i) {
    // Every alignment, short and long lengths, any starting CRC.
    const size_t offset = random() % 64;
    const size_t n = i % 4 == 0 ? random() % 65536 : random() % 100;
    const uint32_t init = static_cast<uint32_t>(random());
    const char* data = buffer.data() + offset;
    const uint32_t expected = library.Extend(init, data, n);
    ASSERT_EQ(rocksdb::crc32c::Extend(init, data, n), expected) << offset << " " << n;
    ASSERT_EQ(ExtendPortable(init, data, n), expected) << offset << " " << n;
    if (HasSse42()) {
      ASSERT_EQ(ExtendSse42(init, data, n), expected) << offset << " " << n;
    }

    const uint32_t a = static_cast<uint32_t>(random());
    const uint32_t b = static_cast<uint32_t>(random());
    const size_t length = i % 8 == 0 ? random() : random() % 100000;
    ASSERT_EQ(rocksdb::crc32c::Crc32cCombine(a, b, length), library.Combine(a, b, length))
        << length;
  }
}

// What Crc32cCombine is for: the CRC of a concatenation from the CRCs of its parts.
TEST(RocksDbCrc32cTest, CombineIsTheCrcOfTheConcatenation) {
  const std::string text = "There is a risk that the technology requirements are not affordable";
  const uint32_t whole = rocksdb::crc32c::Extend(0, text.data(), text.size());
  for (size_t cut = 0; cut <= text.size(); ++cut) {
    const uint32_t head = rocksdb::crc32c::Extend(0, text.data(), cut);
    const uint32_t tail = rocksdb::crc32c::Extend(0, text.data() + cut, text.size() - cut);
    EXPECT_EQ(rocksdb::crc32c::Crc32cCombine(head, tail, text.size() - cut), whole) << cut;
    // And Extend continues a CRC.
    EXPECT_EQ(rocksdb::crc32c::Extend(head, text.data() + cut, text.size() - cut), whole);
  }
}

// The linked functions are these, not the library's portable ones, which say they are slow.
TEST(RocksDbCrc32cTest, TheLinkedFunctionsAreOurs) {
  EXPECT_EQ(rocksdb::crc32c::IsFastCrc32Supported(),
            HasSse42() ? "Supported on x86" : "Not supported on x86");
  void* library = dlopen("librocksdb.so", RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(library, nullptr) << dlerror();
  auto library_says = reinterpret_cast<std::string (*)()>(
      dlsym(library, "_ZN7rocksdb6crc32c20IsFastCrc32SupportedB5cxx11Ev"));
  ASSERT_NE(library_says, nullptr);
  if (HasSse42()) {
    EXPECT_NE(library_says(), rocksdb::crc32c::IsFastCrc32Supported());
  }
}

}  // namespace
}  // namespace govledger
