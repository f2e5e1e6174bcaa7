#include "common/util/base64.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace streamtrack {
namespace {

TEST(Base64, StandardAlphabetMatchesRfc4648Vectors) {
  // RFC 4648 section 10.
  const std::pair<std::string, std::string> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64_encode(plain, Base64Alphabet::standard), encoded);
    EXPECT_EQ(base64_decode(encoded, Base64Alphabet::standard), plain) << encoded;
  }
}

TEST(Base64, UrlAlphabetIsUnpaddedAndUsesDashAndUnderscore) {
  EXPECT_EQ(base64_encode("\xfb\xff", Base64Alphabet::url), "-_8");
  EXPECT_EQ(base64_decode("-_8", Base64Alphabet::url), "\xfb\xff");
  EXPECT_FALSE(base64_decode("+/8=", Base64Alphabet::url));  // the other alphabet
  EXPECT_FALSE(base64_decode("-_8=", Base64Alphabet::url));  // url form carries no padding
  EXPECT_FALSE(base64_decode("-_8", Base64Alphabet::standard));
}

TEST(Base64, StandardAcceptsMissingPaddingButNotMisplacedPadding) {
  EXPECT_EQ(base64_decode("YQ", Base64Alphabet::standard), "a");
  EXPECT_FALSE(base64_decode("Y=Q=", Base64Alphabet::standard));
  EXPECT_FALSE(base64_decode("YQ===", Base64Alphabet::standard));
  EXPECT_FALSE(base64_decode("YQ=", Base64Alphabet::standard));  // padded, so a multiple of 4
}

TEST(Base64, RejectsWhatNoEncoderProduces) {
  for (const auto alphabet : {Base64Alphabet::standard, Base64Alphabet::url}) {
    EXPECT_FALSE(base64_decode("Y", alphabet));      // a lone 6-bit group holds no byte
    EXPECT_FALSE(base64_decode("YR", alphabet));     // unused low bits set ("YQ" is "a")
    EXPECT_FALSE(base64_decode("Zm9vY", alphabet));  // 4n+1 characters
    EXPECT_FALSE(base64_decode("Zm 9v", alphabet));  // whitespace
    EXPECT_FALSE(base64_decode(std::string("Zm\0v", 4), alphabet));
    EXPECT_FALSE(base64_decode("Zm9v\xc3\xa9", alphabet));
  }
}

TEST(Base64, EveryByteStringRoundTripsInBothAlphabets) {
  std::mt19937 rng(20261130);
  for (int n = 0; n < 2000; ++n) {
    std::string plain(static_cast<std::size_t>(rng() % 40), '\0');
    for (auto& c : plain) c = static_cast<char>(rng() & 0xFF);
    for (const auto alphabet : {Base64Alphabet::standard, Base64Alphabet::url}) {
      ASSERT_EQ(base64_decode(base64_encode(plain, alphabet), alphabet), plain);
    }
  }
}

}  // namespace
}  // namespace streamtrack
