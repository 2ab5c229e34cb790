// Small text helpers shared by the store and its callers.
#pragma once
#include <string>

namespace cl {

// ASCII letters lowered, every other byte (UTF-8 sequences included) kept: the same rule as
// SQLite's lower() and the byte comparison instr() makes, so a search text and a query lowered
// here match as SQLite would match them.
std::string lower_ascii(std::string s);

}  // namespace cl
