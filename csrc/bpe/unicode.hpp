// Character classes for the pre-tokenizers, and a bounds-checked UTF-8 decoder.
//
// The split patterns only ask which of a few classes a character is in: \s (Unicode
// White_Space), \p{N}, \p{M}, and the letters split as o200k needs them (Lu/Lt, Ll, Lm/Lo).
// The table behind `class_of` is generated from Unicode 16.0, the version of the Rust regex
// engine inside tiktoken 0.14 (tools/gen_unicode_tables.py).
#pragma once

#include <cstddef>
#include <cstdint>

namespace tokenomix::bpe {

enum class CharClass : std::uint8_t {
  kOther = 0,   // punctuation, symbols, controls, unassigned: [^\s\p{L}\p{N}\p{M}]
  kSpace = 1,   // White_Space
  kNumber = 2,  // Nd, Nl, No
  kMark = 3,    // Mn, Mc, Me
  kUpper = 4,   // Lu, Lt
  kLower = 5,   // Ll
  kLetter = 6,  // Lm, Lo: both "upper" and "lower" for o200k
};

namespace detail {
#include "unicode_tables.inc"
}  // namespace detail

constexpr CharClass class_of(char32_t cp) {
  if (cp >= 0x110000) return CharClass::kOther;
  const unsigned block = detail::kBlockIndex[cp >> detail::kBlockShift];
  const unsigned low = cp & ((1u << detail::kBlockShift) - 1);
  return static_cast<CharClass>(detail::kBlockClasses[(block << detail::kBlockShift) | low]);
}

inline bool is_letter(CharClass c) { return c >= CharClass::kUpper; }

// One decoded character: its class and its length in bytes.
struct Char {
  CharClass cls;
  std::uint8_t len;
  char32_t cp;
};

// Decode the character at p. Input is meant to be valid UTF-8 (Python str, or a file checked
// beforehand); a truncated or invalid sequence is read as one byte of class kOther, so that no
// input can make a scanner read past `end` or loop.
inline Char decode(const unsigned char* p, const unsigned char* end) {
  const unsigned b0 = p[0];
  if (b0 < 0x80) return {class_of(b0), 1, b0};
  int len = b0 >= 0xF0 ? 4 : b0 >= 0xE0 ? 3 : b0 >= 0xC0 ? 2 : 0;
  if (len == 0 || end - p < len) return {CharClass::kOther, 1, b0};
  char32_t cp = b0 & (0x7F >> len);
  for (int i = 1; i < len; ++i) {
    if ((p[i] & 0xC0) != 0x80) return {CharClass::kOther, 1, b0};
    cp = (cp << 6) | (p[i] & 0x3F);
  }
  return {class_of(cp), static_cast<std::uint8_t>(len), cp};
}

}  // namespace tokenomix::bpe
