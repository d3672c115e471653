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
#pragma once

#include <cstdint>
#include <string_view>

#include "unicode.hpp"

namespace tokenomix::bpe {

// The split patterns that have a hand-written scanner.
enum class Pattern : std::uint8_t { kR50k, kCl100k, kO200k };

namespace detail {

using Byte = unsigned char;

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

// End of the run of characters whose class satisfies `in_class`, starting at p.
template <class Pred>
inline const Byte* skip_while(const Byte* p, const Byte* end, Pred in_class) {
  while (p < end) {
    const Char c = decode(p, end);
    if (!in_class(c.cls)) break;
    p += c.len;
  }
  return p;
}

inline bool is_space(CharClass c) { return c == CharClass::kSpace; }
inline bool is_number(CharClass c) { return c == CharClass::kNumber; }
// [^\s\p{L}\p{N}]: punctuation, symbols, marks.
inline bool is_punct(CharClass c) { return c == CharClass::kOther || c == CharClass::kMark; }

// Up to `n` characters of class \p{N}.
inline const Byte* skip_numbers(const Byte* p, const Byte* end, int n) {
  for (int i = 0; i < n && p < end; ++i) {
    const Char c = decode(p, end);
    if (!is_number(c.cls)) break;
    p += c.len;
  }
  return p;
}

// The piece of a whitespace run starting at p (see the table in the header comment).
inline const Byte* whitespace_piece(const Byte* p, const Byte* end, bool crlf_rule,
                                    bool end_rule_first) {
  const Byte* last_crlf = nullptr;
  const Byte* last_start = p;
  const Byte* q = p;
  int chars = 0;
  while (q < end) {
    const Char c = decode(q, end);
    if (!is_space(c.cls)) break;
    if (is_crlf(*q)) last_crlf = q;
    last_start = q;
    q += c.len;
    ++chars;
  }
  if (q == end && end_rule_first) return end;
  if (crlf_rule && last_crlf != nullptr) return last_crlf + 1;
  if (q == end) return end;
  return chars >= 2 ? last_start : q;
}

inline const Byte* next_piece_r50k(const Byte* p, const Byte* end) {
  if (*p == '\'') {
    if (const int n = contraction_length(p + 1, end, false)) return p + 1 + n;
  }
  const Byte* q = p + (*p == ' ' && end - p >= 2);
  const Char c = decode(q, end);
  if (is_letter(c.cls)) return skip_while(q + c.len, end, is_letter);
  if (is_number(c.cls)) return skip_while(q + c.len, end, is_number);
  if (is_punct(c.cls)) return skip_while(q + c.len, end, is_punct);
  return whitespace_piece(p, end, false, true);
}

inline const Byte* next_piece_cl100k(const Byte* p, const Byte* end) {
  const Char c = decode(p, end);
  if (*p == '\'') {
    if (const int n = contraction_length(p + 1, end, true)) return p + 1 + n;
  }
  if (is_letter(c.cls)) return skip_while(p + c.len, end, is_letter);
  if (!is_number(c.cls) && !is_crlf(*p) && p + c.len < end) {  // [^\r\n\p{L}\p{N}]?+\p{L}++
    const Char d = decode(p + c.len, end);
    if (is_letter(d.cls)) return skip_while(p + c.len + d.len, end, is_letter);
  }
  if (is_number(c.cls)) return skip_numbers(p + c.len, end, 2);
  const Byte* q = p + (*p == ' ' && end - p >= 2);
  const Char e = decode(q, end);
  if (is_punct(e.cls)) {  // ' ?[^\s\p{L}\p{N}]++[\r\n]*+'
    q = skip_while(q + e.len, end, is_punct);
    while (q < end && is_crlf(*q)) ++q;
    return q;
  }
  return whitespace_piece(p, end, true, true);
}

// o200k's letter classes: "upper" [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}], "lower" [\p{Ll}\p{Lm}\p{Lo}\p{M}].
inline bool is_upper_o200k(CharClass c) {
  return c == CharClass::kUpper || c == CharClass::kLetter || c == CharClass::kMark;
}
inline bool is_lower_o200k(CharClass c) {
  return c == CharClass::kLower || c == CharClass::kLetter || c == CharClass::kMark;
}

// upper*lower+ at s, greedy with backtracking: after the longest upper run, either a lower
// run follows, or the match ends after the last character of the upper run that is also
// lower. Returns nullptr when there is no match.
inline const Byte* word_upper_star_lower_plus(const Byte* s, const Byte* end) {
  const Byte* after_lower = nullptr;
  const Byte* q = s;
  while (q < end) {
    const Char c = decode(q, end);
    if (!is_upper_o200k(c.cls)) {
      if (is_lower_o200k(c.cls)) return skip_while(q + c.len, end, is_lower_o200k);
      break;
    }
    q += c.len;
    if (is_lower_o200k(c.cls)) after_lower = q;
  }
  return after_lower;
}

// upper+lower* at s, or nullptr.
inline const Byte* word_upper_plus_lower_star(const Byte* s, const Byte* end) {
  const Byte* q = skip_while(s, end, is_upper_o200k);
  return q == s ? nullptr : skip_while(q, end, is_lower_o200k);
}

// The letter alternatives of o200k, tried in the regex's backtracking order: the first
// alternative with and without the optional prefix character, then the second likewise.
inline const Byte* word_o200k(const Byte* p, const Byte* end, const Char& c) {
  const bool prefix = !is_letter(c.cls) && !is_number(c.cls) && !is_crlf(*p);
  const Byte* after_prefix = p + c.len;
  const Byte* e = nullptr;
  if (prefix) e = word_upper_star_lower_plus(after_prefix, end);
  if (e == nullptr) e = word_upper_star_lower_plus(p, end);
  if (e == nullptr && prefix) e = word_upper_plus_lower_star(after_prefix, end);
  if (e == nullptr) e = word_upper_plus_lower_star(p, end);
  if (e != nullptr && e < end && *e == '\'') {
    if (const int n = contraction_length(e + 1, end, true)) e += 1 + n;
  }
  return e;
}

inline const Byte* next_piece_o200k(const Byte* p, const Byte* end) {
  const Char c = decode(p, end);
  if (const Byte* e = word_o200k(p, end, c)) return e;
  if (is_number(c.cls)) return skip_numbers(p + c.len, end, 2);
  const Byte* q = p + (*p == ' ' && end - p >= 2);
  const Char e = decode(q, end);
  if (is_punct(e.cls)) {  // ' ?[^\s\p{L}\p{N}]+[\r\n/]*'
    q = skip_while(q + e.len, end, is_punct);
    while (q < end && (is_crlf(*q) || *q == '/')) ++q;
    return q;
  }
  return whitespace_piece(p, end, true, false);
}

}  // namespace detail

// Call sink(begin, end) for every piece of `text`, in order. The pieces tile the text.
template <class Sink>
void for_each_piece(Pattern pattern, std::string_view text, Sink&& sink) {
  const auto* p = reinterpret_cast<const detail::Byte*>(text.data());
  const auto* end = p + text.size();
  auto run = [&](auto next_piece) {
    while (p < end) {
      const detail::Byte* e = next_piece(p, end);
      sink(p, e);
      p = e;
    }
  };
  switch (pattern) {
    case Pattern::kR50k: run(detail::next_piece_r50k); break;
    case Pattern::kCl100k: run(detail::next_piece_cl100k); break;
    case Pattern::kO200k: run(detail::next_piece_o200k); break;
  }
}

}  // namespace tokenomix::bpe
