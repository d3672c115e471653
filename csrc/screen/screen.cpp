#include "screen/screen.hpp"

#include <cstring>
#include <stdexcept>
#include <utility>

namespace tokenomix::screen {

namespace {

// The code point of the UTF-8 sequence at p (valid UTF-8, as the caller guarantees), and its
// length.
std::pair<std::uint32_t, int> decode(const unsigned char* p) {
  if (p[0] < 0xE0) return {(p[0] & 0x1Fu) << 6 | (p[1] & 0x3Fu), 2};
  if (p[0] < 0xF0) return {(p[0] & 0x0Fu) << 12 | (p[1] & 0x3Fu) << 6 | (p[2] & 0x3Fu), 3};
  return {(p[0] & 0x07u) << 18 | (p[1] & 0x3Fu) << 12 | (p[2] & 0x3Fu) << 6 | (p[3] & 0x3Fu),
          4};
}

}  // namespace

Screen::Screen(std::vector<std::string> needles, std::vector<std::uint8_t> classes)
    : needles_(std::move(needles)), classes_(std::move(classes)) {
  for (const std::string& needle : needles_) {
    if (needle.empty()) throw std::invalid_argument("a needle is empty");
    first_byte_[static_cast<unsigned char>(needle[0])] = true;
  }
  if (!classes_.empty() && classes_.size() != kCodePoints) {
    throw std::invalid_argument("the class table must have one byte per code point");
  }
  for (int b = 0; b < 256; ++b) {
    if (first_byte_[b]) swar_first_bytes_.push_back(0x0101010101010101ull * b);
  }
  swar_ = swar_first_bytes_.size() <= kSwarBytes;
}

// The first index at or after i where a needle may start or a non-ASCII byte stands, eight
// bytes at a time: a word is skipped when no byte has its high bit set and none equals a
// first byte of a needle (the classic test for a zero byte, on the word xor the byte).
std::size_t Screen::skip_plain_words(const unsigned char* p, std::size_t i, std::size_t n) const {
  constexpr std::uint64_t kLow = 0x0101010101010101ull;
  constexpr std::uint64_t kHigh = 0x8080808080808080ull;
  while (i + 8 <= n) {
    std::uint64_t word;
    std::memcpy(&word, p + i, 8);
    std::uint64_t hits = word & kHigh;
    for (const std::uint64_t spread : swar_first_bytes_) {
      const std::uint64_t x = word ^ spread;
      hits |= (x - kLow) & ~x & kHigh;
    }
    if (hits != 0) break;
    i += 8;
  }
  return i;
}

bool Screen::needle_at(std::string_view text, std::size_t pos) const {
  for (const std::string& needle : needles_) {
    if (text.compare(pos, needle.size(), needle) == 0) return true;
  }
  return false;
}

bool Screen::flags(std::string_view text) const {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  const bool check_code_points = !classes_.empty();
  std::uint8_t last_class = 0;  // of the previous character; ASCII are starters
  std::size_t i = 0;
  while (i < n) {
    if (swar_ && last_class == 0) {
      i = skip_plain_words(p, i, n);
      if (i >= n) break;
    }
    const unsigned char b = p[i];
    if (first_byte_[b] && needle_at(text, i)) return true;
    if (b < 0x80 || !check_code_points) {
      // Needles start at a character: a continuation byte never starts one.
      last_class = 0;
      ++i;
      continue;
    }
    const auto [cp, length] = decode(p + i);
    const std::uint8_t cls = classes_[cp];
    if (cls == kMayChange || (cls != 0 && cls < last_class)) return true;
    last_class = cls;
    i += static_cast<std::size_t>(length);
  }
  return false;
}

}  // namespace tokenomix::screen
