// lower_ascii: eight bytes at a time, checked against the plain rule one byte at a time.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "core/text.h"

using namespace cl;

namespace {
std::string lower_one_byte_at_a_time(std::string s) {
    for (char& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}
}  // namespace

TEST(Text, LowerAsciiLowersOnlyAsciiLetters) {
    EXPECT_EQ(lower_ascii("Broken BOILER at Flat 7"), "broken boiler at flat 7");
    EXPECT_EQ(lower_ascii("@AZ[`az{ @AZ[`az{"), "@az[`az{ @az[`az{");  // the neighbours of both ranges stay
    EXPECT_EQ(lower_ascii("\xC3\x84RGER Stra\xC3\x9F" "E \xC3\xA9T\xC3\x89"), "\xC3\x84rger stra\xC3\x9F" "e \xC3\xA9t\xC3\x89");
    EXPECT_EQ(lower_ascii(""), "");
    // Every byte value at every position of an 8-byte word and of the tail.
    for (int b = 0; b < 256; ++b)
        for (size_t at = 0; at < 19; ++at) {
            std::string s(19, 'Q');
            s[at] = static_cast<char>(b);
            ASSERT_EQ(lower_ascii(s), lower_one_byte_at_a_time(s)) << "byte " << b << " at " << at;
        }
    std::mt19937 rng(11);
    for (int i = 0; i < 2000; ++i) {
        std::string s(rng() % 70, '\0');
        for (char& c : s) c = static_cast<char>(rng() % 256);
        ASSERT_EQ(lower_ascii(s), lower_one_byte_at_a_time(s)) << i;
    }
}
