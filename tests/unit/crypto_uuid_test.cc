// UUID text form and SHA-256: the two primitives every event id and hash rests on.
#include <set>
#include <string>

#include "absl/strings/string_view.h"
#include "ledger/common/big_endian.h"
#include "ledger/common/uuid.h"
#include "ledger/crypto/sha256.h"
#include "tests/testutil.h"

namespace govledger {
namespace {

using ::testing::Optional;

TEST(BigEndianTest, MostSignificantByteFirstSoBytesSortAsNumbers) {
  std::string bytes;
  AppendBigEndian(uint32_t{0x01020304}, &bytes);
  AppendBigEndian(uint64_t{0x1122334455667788}, &bytes);
  EXPECT_EQ(bytes, std::string("\x01\x02\x03\x04\x11\x22\x33\x44\x55\x66\x77\x88"));
  EXPECT_EQ(GetBigEndian<uint32_t>(bytes.data()), 0x01020304u);
  EXPECT_EQ(GetBigEndian<uint64_t>(bytes.data() + 4), uint64_t{0x1122334455667788});
  std::string low(8, '\0'), high(8, '\0');
  PutBigEndian<uint64_t>(255, low.data());
  PutBigEndian<uint64_t>(256, high.data());
  EXPECT_LT(low, high);
  PutBigEndian<uint64_t>(UINT64_MAX, high.data());
  EXPECT_EQ(high, std::string(8, '\xff'));
}

TEST(UuidTest, ParseThenFormatRoundTrips) {
  const std::string text = "3f2b8c1e-4d6a-4f7b-9c0d-1e2f3a4b5c6d";
  std::optional<UuidBytes> bytes = ParseUuid(text);
  ASSERT_TRUE(bytes.has_value());
  const UuidBytes expected = {0x3f, 0x2b, 0x8c, 0x1e, 0x4d, 0x6a, 0x4f, 0x7b,
                              0x9c, 0x0d, 0x1e, 0x2f, 0x3a, 0x4b, 0x5c, 0x6d};
  EXPECT_EQ(*bytes, expected);
  EXPECT_EQ(FormatUuid(*bytes), text);
}

TEST(UuidTest, FormatThenParseRoundTripsAllByteValues) {
  UuidBytes bytes{};
  for (int start = 0; start < 256; start += 16) {
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(start + i);
    std::string text = FormatUuid(bytes);
    EXPECT_EQ(text.size(), 36u);
    EXPECT_THAT(ParseUuid(text), Optional(bytes)) << text;
  }
}

TEST(UuidTest, UpperCaseIsAcceptedAndNormalisedToLowerCase) {
  std::optional<UuidBytes> upper = ParseUuid("3F2B8C1E-4D6A-4F7B-9C0D-1E2F3A4B5C6D");
  ASSERT_TRUE(upper.has_value());
  EXPECT_EQ(FormatUuid(*upper), "3f2b8c1e-4d6a-4f7b-9c0d-1e2f3a4b5c6d");
  EXPECT_THAT(ParseUuid("3f2b8c1e-4d6a-4f7b-9c0d-1e2f3a4b5c6d"), Optional(*upper));
  // Mixed case too.
  EXPECT_THAT(ParseUuid("3f2B8c1E-4d6A-4f7B-9c0D-1e2F3a4B5c6D"), Optional(*upper));
}

TEST(UuidTest, MalformedTextIsRejected) {
  const char* const kBad[] = {
      "",
      "3f2b8c1e",
      "3f2b8c1e4d6a4f7b9c0d1e2f3a4b5c6d",        // no dashes (32 chars)
      "3f2b8c1e-4d6a-4f7b-9c0d-1e2f3a4b5c6",     // one digit short
      "3f2b8c1e-4d6a-4f7b-9c0d-1e2f3a4b5c6d0",   // one digit long
      "3f2b8c1e-4d6a-4f7b-9c0d-1e2f3a4b5c6g",    // non-hex digit
      "3f2b8c1e_4d6a-4f7b-9c0d-1e2f3a4b5c6d",    // wrong separator
      "3f2b8c1-e4d6a-4f7b-9c0d-1e2f3a4b5c6d",    // dash in the wrong place
      "{3f2b8c1e-4d6a-4f7b-9c0d-1e2f3a4b5c6}",   // braces
      " 3f2b8c1e-4d6a-4f7b-9c0d-1e2f3a4b5c6",    // leading space
      "3f2b8c1e-4d6a-4f7b-9c0d-1e2f3a4b5c6 ",    // trailing space
      "3f2b8c1e--4d6a4f7b-9c0d-1e2f3a4b5c6d",    // doubled dash
  };
  for (const char* text : kBad) {
    EXPECT_EQ(ParseUuid(text), std::nullopt) << "'" << text << "'";
  }
  // An embedded NUL of the right length must not be accepted either.
  std::string with_nul = "3f2b8c1e-4d6a-4f7b-9c0d-1e2f3a4b5c6d";
  with_nul[3] = '\0';
  EXPECT_EQ(ParseUuid(absl::string_view(with_nul.data(), with_nul.size())), std::nullopt);
}

TEST(UuidTest, EveryByteInADigitPlaceIsReadAsItsHexValueOrRefused) {
  const std::string valid = "00000000-0000-4000-8000-000000000000";
  for (int c = 0; c < 256; ++c) {
    int expected = -1;
    if (c >= '0' && c <= '9') expected = c - '0';
    if (c >= 'a' && c <= 'f') expected = c - 'a' + 10;
    if (c >= 'A' && c <= 'F') expected = c - 'A' + 10;
    for (size_t place : {size_t{0}, size_t{35}}) {  // high nibble of byte 0, low of byte 15
      std::string text = valid;
      text[place] = static_cast<char>(c);
      std::optional<UuidBytes> bytes = ParseUuid(text);
      if (expected < 0) {
        EXPECT_EQ(bytes, std::nullopt) << "byte " << c << " at " << place;
        continue;
      }
      ASSERT_TRUE(bytes.has_value()) << "byte " << c << " at " << place;
      EXPECT_EQ(place == 0 ? (*bytes)[0] >> 4 : (*bytes)[15] & 0xF, expected) << c;
    }
  }
}

TEST(UuidTest, NewUuidIsVersion4WithRfc4122Variant) {
  for (int i = 0; i < 100; ++i) {
    std::string text = NewUuid();
    std::optional<UuidBytes> bytes = ParseUuid(text);
    ASSERT_TRUE(bytes.has_value()) << text;
    EXPECT_EQ(FormatUuid(*bytes), text) << "NewUuid must produce the lower-case form";
    EXPECT_EQ((*bytes)[6] >> 4, 4) << text;
    EXPECT_EQ((*bytes)[8] & 0xC0, 0x80) << text;
    EXPECT_EQ(text[14], '4') << text;
  }
}

TEST(UuidTest, NewUuidIsUnique) {
  std::set<std::string> seen;
  constexpr int kCount = 10000;
  for (int i = 0; i < kCount; ++i) seen.insert(NewUuid());
  EXPECT_EQ(seen.size(), static_cast<size_t>(kCount));
}

TEST(Sha256Test, KnownVectors) {
  EXPECT_EQ(crypto::ToHex(crypto::AsBytes(crypto::Sha256("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(crypto::ToHex(crypto::AsBytes(crypto::Sha256(""))),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(crypto::ToHex(crypto::AsBytes(crypto::Sha256(
                "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256Test, TwoPartsHashAsTheirConcatenation) {
  EXPECT_EQ(crypto::Sha256("a", "bc"), crypto::Sha256("abc"));
  EXPECT_EQ(crypto::Sha256("", "abc"), crypto::Sha256("abc"));
  EXPECT_NE(crypto::Sha256("ab"), crypto::Sha256("abc"));
  // Bytes are hashed as bytes: an embedded NUL counts.
  std::string with_nul("a\0c", 3);
  EXPECT_NE(crypto::Sha256(with_nul), crypto::Sha256("ac"));
}

TEST(Sha256Test, ChainHashIsSha256OfPrevThenRecord) {
  crypto::Hash prev = crypto::Sha256("previous");
  EXPECT_EQ(crypto::ChainHash(prev, "record"), crypto::Sha256(crypto::AsBytes(prev), "record"));
  EXPECT_EQ(crypto::ChainHash(crypto::kGenesisHash, "record"),
            crypto::Sha256(std::string(32, '\0') + "record"));
  EXPECT_NE(crypto::ChainHash(prev, "record"), crypto::ChainHash(crypto::kGenesisHash, "record"));
}

TEST(Sha256Test, GenesisHashIs32ZeroBytes) {
  EXPECT_EQ(crypto::AsBytes(crypto::kGenesisHash), std::string(32, '\0'));
  EXPECT_EQ(crypto::ToHex("\x01\xab\xff"), "01abff");
}

}  // namespace
}  // namespace govledger
