// Screening texts for a tokenizer pipeline whose steps the engine does not run itself.
//
// A Hugging Face tokenizer.json matches added tokens in the text and may normalize it before
// the split pattern and the merges, which the engine runs. Most texts hold no added token
// and are already normalized: for those the engine alone gives the reference ids. A Screen
// finds the others, at memory speed, so that only they take the slow path in Python:
//   - a text holding one of the `needles` (the added tokens to match), or
//   - a text that the normalizer may change: the quick check of UAX #15 over `classes`, one
//     byte per code point: kMayChange for a character the normalization form may change
//     or compose with what precedes it, else its canonical combining class (0 for a
//     starter). A text passes when it has no kMayChange character and its combining marks
//     are in canonical order (no class smaller than a nonzero class before it). Empty
//     `classes`: no normalizer.
// The answer errs only towards the slow path, which is exact for every text.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tokenomix::screen {

class Screen {
 public:
  static constexpr std::uint8_t kMayChange = 255;
  static constexpr std::size_t kCodePoints = 0x110000;

  // Throws std::invalid_argument for an empty needle or a class table of the wrong size.
  Screen(std::vector<std::string> needles, std::vector<std::uint8_t> classes);

  // Whether `text` (valid UTF-8) holds a needle or may change under normalization.
  bool flags(std::string_view text) const;

 private:
  bool needle_at(std::string_view text, std::size_t pos) const;

  std::size_t skip_plain_words(const unsigned char* p, std::size_t i, std::size_t n) const;

  std::vector<std::string> needles_;
  std::array<bool, 256> first_byte_{};  // some needle starts with this byte
  // The distinct first bytes of the needles, when there are at most kSwarBytes of them, so
  // that eight ASCII bytes at a time can be cleared at once.
  static constexpr std::size_t kSwarBytes = 4;
  std::vector<std::uint64_t> swar_first_bytes_;
  bool swar_ = false;
  std::vector<std::uint8_t> classes_;
};

}  // namespace tokenomix::screen
