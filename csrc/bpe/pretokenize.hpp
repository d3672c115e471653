// Hand-written pre-tokenizers: the pieces of the reference split regexes, without a regex.
//
// Each scanner returns the end of the piece that starts at `p`, giving exactly the match of
// the reference pattern under leftmost-first alternation (fancy-regex, as tiktoken runs it):
//
//   r50k / p50k  '(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s
//   cl100k       '(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+
//                | ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s
//   o200k        [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+C?
//                |[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*C?
//                |\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
//                where C = (?i:'s|'t|'re|'ve|'m|'ll|'d)
//
// The whitespace rules reduce to one decision on the run of \s that starts the piece:
//   run reaches the end of the text            -> the whole run      (\s++$; o200k: \s+(?!\S))
//   run holds CR or LF (cl100k, o200k)         -> up to the last one (\s*[\r\n], \s*[\r\n]+)
//   run is two or more characters              -> all but the last   (\s+(?!\S))
//   otherwise                                  -> one character      (\s, \s+)
// For cl100k the end-of-text rule comes first, for o200k the CR/LF rule does:
// "x\n  " ends in the pieces "\n  " (cl100k) but "\n", "  " (o200k).
//
// Open models use variants of these, each a template instance here:
//   llama3   the earlier spelling of cl100k (Llama 3, and Hugging Face files that copy it):
//            (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}
//            | ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//            Without possessives every alternative still matches as much as cl100k's does;
//            only the whitespace rules differ: no \s++$, so the CR/LF rule comes first.
//   qwen2    llama3 with \p{N} for \p{N}{1,3} (single digits).
//   tekken   o200k with \p{N} for \p{N}{1,3} and without the contraction suffix C
//            (Mistral's Tekken).
// all with the Unicode tables of unicode.hpp.
//
// Design notes. ASCII is looked up in one 128-entry table of class bits rather than decoded;
// o200k takes its common ASCII starts (a lowercase or capitalised word after an optional
// space, digits, punctuation not before a letter) without trying the letter alternatives in
// order. Together these took the o200k scanner from ~34 to ~20 instructions a byte on prose.
// Tried and dropped: classifying 64-byte blocks into class bitmaps with SSE2 and finding
// piece ends with bit scans. The scanner alone ran ~15% faster on prose, but counting did
// not (the lookups after the scanner dominate), so the simpler code stayed.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "unicode.hpp"

namespace tokenomix::bpe {

// The split patterns that have a hand-written scanner; kNone for text split by the caller.
enum class Pattern : std::uint8_t { kR50k, kCl100k, kLlama3, kQwen2, kO200k, kTekken, kNone };

namespace detail {

using Byte = unsigned char;

// The classes the patterns ask about, as bits, so that one test covers a union of classes.
enum : std::uint8_t {
  kLetterBit = 1,   // \p{L}
  kNumberBit = 2,   // \p{N}
  kSpaceBit = 4,    // \s
  kPunctBit = 8,    // [^\s\p{L}\p{N}]: symbols, punctuation, controls, marks
  kUpperBit = 16,   // o200k's [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]
  kLowerBit = 32,   // o200k's [\p{Ll}\p{Lm}\p{Lo}\p{M}]
  kCrLfBit = 64,    // \r or \n
};

// Bits of each CharClass, in enum order.
inline constexpr std::uint8_t kClassBits[7] = {
    kPunctBit,                             // kOther
    kSpaceBit,                             // kSpace
    kNumberBit,                            // kNumber
    kPunctBit | kUpperBit | kLowerBit,     // kMark
    kLetterBit | kUpperBit,                // kUpper
    kLetterBit | kLowerBit,                // kLower
    kLetterBit | kUpperBit | kLowerBit,    // kLetter
};

constexpr std::array<std::uint8_t, 128> ascii_bits() {
  std::array<std::uint8_t, 128> bits{};
  for (unsigned b = 0; b < 128; ++b) {
    bits[b] = kClassBits[static_cast<int>(Unicode16::class_of(b))];  // ASCII: any version
    if (b == '\r' || b == '\n') bits[b] |= kCrLfBit;
  }
  return bits;
}

// ASCII needs no decoding: one load gives its bits.
inline constexpr std::array<std::uint8_t, 128> kAsciiBits = ascii_bits();

struct CharBits {
  std::uint8_t bits;
  std::uint8_t len;
};

template <class T>
inline CharBits peek(const Byte* p, const Byte* end) {
  if (*p < 0x80) return {kAsciiBits[*p], 1};
  const Char c = decode<T>(p, end);
  return {kClassBits[static_cast<int>(c.cls)], c.len};
}

// End of the run of characters that have any of the bits of `mask`, starting at p.
template <class T>
inline const Byte* skip(const Byte* p, const Byte* end, std::uint8_t mask) {
  while (p < end) {
    if (*p < 0x80) {
      if (!(kAsciiBits[*p] & mask)) break;
      ++p;
      continue;
    }
    const CharBits c = peek<T>(p, end);
    if (!(c.bits & mask)) break;
    p += c.len;
  }
  return p;
}

// Up to `n` characters of \p{N}.
template <class T>
inline const Byte* skip_numbers(const Byte* p, const Byte* end, int n) {
  for (int i = 0; i < n && p < end; ++i) {
    const CharBits c = peek<T>(p, end);
    if (!(c.bits & kNumberBit)) break;
    p += c.len;
  }
  return p;
}

inline bool is_crlf(Byte b) { return b == '\r' || b == '\n'; }

// Length of a contraction after an apostrophe at p[-1]: s d m t ll ve re (case-insensitive
// when asked, where "s" also matches U+017F LATIN SMALL LETTER LONG S under simple case
// folding, as the reference engine's (?i) does), or 0.
inline int contraction_length(const Byte* p, const Byte* end, bool ignore_case) {
  if (p >= end) return 0;
  const Byte c = ignore_case && p[0] < 0x80 ? p[0] | 0x20 : p[0];
  if (c == 's' || c == 'd' || c == 'm' || c == 't') return 1;
  if (ignore_case && c == 0xC5 && end - p >= 2 && p[1] == 0xBF) return 2;  // U+017F
  if (end - p < 2 || p[1] >= 0x80) return 0;
  const Byte d = ignore_case ? p[1] | 0x20 : p[1];
  if ((c == 'l' && d == 'l') || (c == 'v' && d == 'e') || (c == 'r' && d == 'e')) return 2;
  return 0;
}

// The piece of a whitespace run starting at p (see the table in the header comment).
template <class T>
inline const Byte* whitespace_piece(const Byte* p, const Byte* end, bool crlf_rule,
                                    bool end_rule_first) {
  const Byte* last_crlf = nullptr;
  const Byte* last_start = p;
  const Byte* q = p;
  int chars = 0;
  while (q < end) {
    const CharBits c = peek<T>(q, end);
    if (!(c.bits & kSpaceBit)) break;
    if (c.bits & kCrLfBit) last_crlf = q;
    last_start = q;
    q += c.len;
    ++chars;
  }
  if (q == end && end_rule_first) return end;
  if (crlf_rule && last_crlf != nullptr) return last_crlf + 1;
  if (q == end) return end;
  return chars >= 2 ? last_start : q;
}

template <class T>
inline const Byte* next_piece_r50k(const Byte* p, const Byte* end) {
  if (*p == '\'') {
    if (const int n = contraction_length(p + 1, end, false)) return p + 1 + n;
  }
  const Byte* q = p + (*p == ' ' && end - p >= 2);
  const CharBits c = peek<T>(q, end);
  if (c.bits & kLetterBit) return skip<T>(q + c.len, end, kLetterBit);
  if (c.bits & kNumberBit) return skip<T>(q + c.len, end, kNumberBit);
  if (c.bits & kPunctBit) return skip<T>(q + c.len, end, kPunctBit);
  return whitespace_piece<T>(p, end, false, true);
}

// cl100k, llama3 and qwen2: up to kDigits numbers a piece; the end-of-text rule first or not.
template <class T, int kDigits, bool kEndRuleFirst>
inline const Byte* next_piece_cl100k(const Byte* p, const Byte* end) {
  const CharBits c = peek<T>(p, end);
  if (c.bits & kLetterBit) return skip<T>(p + c.len, end, kLetterBit);
  if (*p == '\'') {
    if (const int n = contraction_length(p + 1, end, true)) return p + 1 + n;
  }
  if (!(c.bits & (kNumberBit | kCrLfBit)) && p + c.len < end) {  // [^\r\n\p{L}\p{N}]?+\p{L}++
    const CharBits d = peek<T>(p + c.len, end);
    if (d.bits & kLetterBit) return skip<T>(p + c.len + d.len, end, kLetterBit);
  }
  if (c.bits & kNumberBit) return skip_numbers<T>(p + c.len, end, kDigits - 1);
  const Byte* q = p + (*p == ' ' && end - p >= 2);
  const CharBits e = peek<T>(q, end);
  if (e.bits & kPunctBit) {  // ' ?[^\s\p{L}\p{N}]++[\r\n]*+'
    q = skip<T>(q + e.len, end, kPunctBit);
    while (q < end && is_crlf(*q)) ++q;
    return q;
  }
  return whitespace_piece<T>(p, end, true, kEndRuleFirst);
}

// upper*lower+ at s, greedy with backtracking: after the longest upper run, either a lower
// run follows, or the match ends after the last character of the upper run that is also
// lower. Returns nullptr when there is no match.
template <class T>
inline const Byte* word_upper_star_lower_plus(const Byte* s, const Byte* end) {
  const Byte* after_lower = nullptr;
  const Byte* q = s;
  while (q < end) {
    const CharBits c = peek<T>(q, end);
    if (!(c.bits & kUpperBit)) {
      if (c.bits & kLowerBit) return skip<T>(q + c.len, end, kLowerBit);
      break;
    }
    q += c.len;
    if (c.bits & kLowerBit) after_lower = q;
  }
  return after_lower;
}

// upper+lower* at s, or nullptr.
template <class T>
inline const Byte* word_upper_plus_lower_star(const Byte* s, const Byte* end) {
  const Byte* q = skip<T>(s, end, kUpperBit);
  return q == s ? nullptr : skip<T>(q, end, kLowerBit);
}

// The letter alternatives of o200k, tried in the regex's backtracking order: the first
// alternative with and without the optional prefix character, then the second likewise;
// then the contraction suffix, where the pattern has one (tekken has none).
template <class T, bool kContractions>
inline const Byte* word_o200k(const Byte* p, const Byte* end, const CharBits& c) {
  const bool prefix = !(c.bits & (kLetterBit | kNumberBit | kCrLfBit));
  const bool word_char = c.bits & (kUpperBit | kLowerBit);
  const Byte* after_prefix = p + c.len;
  const Byte* e = nullptr;
  if (prefix) e = word_upper_star_lower_plus<T>(after_prefix, end);
  if (e == nullptr && word_char) e = word_upper_star_lower_plus<T>(p, end);
  if (e == nullptr && prefix) e = word_upper_plus_lower_star<T>(after_prefix, end);
  if (e == nullptr && word_char) e = word_upper_plus_lower_star<T>(p, end);
  if (kContractions && e != nullptr && e < end && *e == '\'') {
    if (const int n = contraction_length(e + 1, end, true)) e += 1 + n;
  }
  return e;
}

// Rule D of o200k at p (the optional space already looked at): ' ?[^\s\p{L}\p{N}]+[\r\n/]*'.
template <class T>
inline const Byte* punct_piece_o200k(const Byte* q, const Byte* end) {
  q = skip<T>(q, end, kPunctBit);
  while (q < end && (is_crlf(*q) || *q == '/')) ++q;
  return q;
}

// The rules of o200k (and tekken, with kDigits 1 and no contractions) in order, for any
// first character.
template <class T, int kDigits, bool kContractions>
inline const Byte* next_piece_o200k_general(const Byte* p, const Byte* end) {
  const CharBits c = peek<T>(p, end);
  if (const Byte* e = word_o200k<T, kContractions>(p, end, c)) return e;
  if (c.bits & kNumberBit) return skip_numbers<T>(p + c.len, end, kDigits - 1);
  const Byte* q = p + (*p == ' ' && end - p >= 2);
  const CharBits e = peek<T>(q, end);
  if (e.bits & kPunctBit) return punct_piece_o200k<T>(q + e.len, end);
  return whitespace_piece<T>(p, end, true, false);
}

// Shortcuts for the common ASCII starts, each giving what the general rules would give:
//   [a-z]       a lower run (rule A without prefix), unless a contraction may follow;
//   [A-Z]       an ASCII upper run and the lower run after it (rule A), or the upper run
//               alone (rule B) when what follows cannot extend the word;
//   ' '         the same two after the space, which is the prefix of rule A or B; before
//               punctuation, rule D (A and B need a letter or mark next);
//   [0-9]       up to kDigits numbers (rule C);
//   punctuation not followed by a letter or mark: rule D, since A and B need one.
template <class T, int kDigits, bool kContractions>
inline const Byte* next_piece_o200k(const Byte* p, const Byte* end) {
  const Byte b0 = *p;
  if (b0 >= 0x80) return next_piece_o200k_general<T, kDigits, kContractions>(p, end);
  const std::uint8_t bits = kAsciiBits[b0];
  const Byte* s = p + (b0 == ' ' && end - p >= 2);
  if (*s >= 'a' && *s <= 'z') {
    const Byte* e = skip<T>(s + 1, end, kLowerBit);
    if (e == end || !kContractions || *e != '\'') return e;
    return next_piece_o200k_general<T, kDigits, kContractions>(p, end);
  }
  if (*s >= 'A' && *s <= 'Z') {
    // [A-Z]+ then a lower run (rule A), or nothing that could extend the word (rule B).
    const Byte* u = s + 1;
    while (u < end && *u >= 'A' && *u <= 'Z') ++u;
    const Byte* e = u < end && *u >= 'a' && *u <= 'z' ? skip<T>(u + 1, end, kLowerBit) : u;
    if (e == end) return e;
    const bool may_extend = (kAsciiBits[*e & 0x7F] & (kUpperBit | kLowerBit)) ||
                            (kContractions && *e == '\'');
    if (*e < 0x80 && !may_extend) return e;
    return next_piece_o200k_general<T, kDigits, kContractions>(p, end);
  }
  if (b0 == ' ' && *s < 0x80 && (kAsciiBits[*s] & kPunctBit)) return punct_piece_o200k<T>(s, end);
  if (bits & kNumberBit) return skip_numbers<T>(p + 1, end, kDigits - 1);
  if ((bits & kPunctBit) && p + 1 < end) {
    const CharBits next = peek<T>(p + 1, end);
    if (!(next.bits & (kUpperBit | kLowerBit))) return punct_piece_o200k<T>(p + 1, end);
  }
  return next_piece_o200k_general<T, kDigits, kContractions>(p, end);
}

}  // namespace detail

// Call f(next_piece) with the scanner of `pattern`;
// next_piece(p, end) returns the end of the piece that starts at p.
template <class T, class F>
decltype(auto) with_scanner_for(Pattern pattern, F&& f) {
  switch (pattern) {
    case Pattern::kR50k: return f(detail::next_piece_r50k<T>);
    case Pattern::kCl100k: return f(detail::next_piece_cl100k<T, 3, true>);
    case Pattern::kLlama3: return f(detail::next_piece_cl100k<T, 3, false>);
    case Pattern::kQwen2: return f(detail::next_piece_cl100k<T, 1, false>);
    case Pattern::kO200k: return f(detail::next_piece_o200k<T, 3, true>);
    case Pattern::kTekken:
    case Pattern::kNone: break;  // kNone never reaches a scanner (Encoder checks)
  }
  return f(detail::next_piece_o200k<T, 1, false>);
}

template <class F>
decltype(auto) with_scanner(Pattern pattern, F&& f) {
  return with_scanner_for<Unicode16>(pattern, f);
}

// Call sink(begin, end) for every piece of `text`, in order. The pieces tile the text.
template <class Sink>
void for_each_piece(Pattern pattern, std::string_view text, Sink&& sink) {
  const auto* p = reinterpret_cast<const detail::Byte*>(text.data());
  const auto* end = p + text.size();
  with_scanner(pattern, [&](auto next_piece) {
    while (p < end) {
      const detail::Byte* e = next_piece(p, end);
      sink(p, e);
      p = e;
    }
  });
}

}  // namespace tokenomix::bpe
