#include "screen/screen.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace tokenomix::screen {

Screen::Screen(std::vector<std::string> needles, std::shared_ptr<const Normalizer> normalizer,
               std::vector<Cut> cuts)
    : needles_(std::move(needles)), normalizer_(std::move(normalizer)), cuts_(std::move(cuts)) {
  if (normalizer_ != nullptr) quick_check_ = &normalizer_->quick_check();
  std::stable_sort(cuts_.begin(), cuts_.end(), [](const Cut& a, const Cut& b) {
    return a.pattern.size() > b.pattern.size();
  });
  for (const Cut& cut : cuts_) {
    if (cut.pattern.empty()) throw std::invalid_argument("a cut pattern is empty");
    cut_first_byte_[static_cast<unsigned char>(cut.pattern[0])] = true;
  }
  for (const std::string& needle : needles_) {
    if (needle.empty()) throw std::invalid_argument("a needle is empty");
    const auto first = static_cast<unsigned char>(needle[0]);
    first_byte_[first] = true;
    if (needle.size() == 1) {
      for (int second = 0; second < 256; ++second) first_pair_[first << 8 | second] = true;
    } else {
      first_pair_[first << 8 | static_cast<unsigned char>(needle[1])] = true;
    }
  }
  for (int b = 0; b < 256; ++b) {
    if (first_byte_[b]) first_bytes_.push_back(static_cast<unsigned char>(b));
  }
}

bool Screen::needle_at(std::string_view text, std::size_t pos) const {
  if (pos + 1 < text.size()) {
    const auto first = static_cast<unsigned char>(text[pos]);
    if (!first_pair_[first << 8 | static_cast<unsigned char>(text[pos + 1])]) return false;
  }
  for (const std::string& needle : needles_) {
    if (text.compare(pos, needle.size(), needle) == 0) return true;
  }
  return false;
}

const Cut* Screen::cut_at(std::string_view text, std::size_t at) const {
  if (!cut_first_byte_[static_cast<unsigned char>(text[at])]) return nullptr;
  for (const Cut& cut : cuts_) {
    if (text.compare(at, cut.pattern.size(), cut.pattern) == 0) return &cut;
  }
  return nullptr;
}

bool Screen::holds_needle(std::string_view text) const {
  if (first_bytes_.size() > kSearchedBytes) {
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (first_byte_[static_cast<unsigned char>(text[i])] && needle_at(text, i)) return true;
    }
    return false;
  }
  const char* begin = text.data();
  const char* end = begin + text.size();
  for (const unsigned char b : first_bytes_) {
    for (const char* at = begin;
         (at = static_cast<const char*>(std::memchr(at, b, end - at))) != nullptr; ++at) {
      if (needle_at(text, at - begin)) return true;
    }
  }
  return false;
}

bool Screen::may_change(std::string_view text) const {
  if (quick_check_ == nullptr) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::uint8_t last_class = 0;  // of the previous character
  std::size_t i = 0;
  while (i < n) {
    if (p[i] < 0x80) {  // ASCII: starters no form changes, cleared eight at a time
      constexpr std::uint64_t kHigh = 0x8080808080808080ull;
      std::uint64_t word;
      while (i + 8 <= n && (std::memcpy(&word, p + i, 8), (word & kHigh) == 0)) i += 8;
      while (i < n && p[i] < 0x80) ++i;
      last_class = 0;
      continue;
    }
    const auto [cp, length] = decode_utf8(p + i);
    const std::uint8_t cls = (*quick_check_)[cp];
    if (cls == kMayChange || (cls != 0 && cls < last_class)) return true;
    last_class = cls;
    i += length;
  }
  return false;
}

}  // namespace tokenomix::screen
