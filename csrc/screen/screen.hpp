// Screening texts for a tokenizer pipeline whose steps the engine does not run itself.
//
// A Hugging Face tokenizer.json matches added tokens in the text and may normalize it before
// the split pattern and the merges, which the engine runs. Most texts hold no added token
// and are already normalized: for those the engine alone gives the reference ids. A Screen
// finds the others, at memory speed, so that only they take the slow path in Python:
//   - a text holding one of the `needles` (the added tokens to match), or
//   - a text that the `normalizer` may change: the quick check of UAX #15 over its
//     `quick_check()`. A text that only needs normalizing is normalized here and read by the
//     engine, unless it holds a needle before or after.
// The answer errs only towards the slow path, which is exact for every text.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "screen/normalize.hpp"

namespace tokenomix::screen {

class Screen {
 public:
  // Throws std::invalid_argument for an empty needle. No normalizer: the text is read as
  // it is.
  Screen(std::vector<std::string> needles, std::shared_ptr<const Normalizer> normalizer);

  // Whether `text` (valid UTF-8) holds a needle or may change under normalization.
  bool flags(std::string_view text) const { return holds_needle(text) || may_change(text); }

  // The text the engine reads for `text` (valid UTF-8): `text` itself, or its normalized
  // form written to `buffer`; nullopt when it must take the slow path.
  std::optional<std::string_view> prepare(std::string_view text, std::string& buffer) const;

 private:
  bool holds_needle(std::string_view text) const;

  // The quick check: false when the normalizer leaves `text` as it is.
  bool may_change(std::string_view text) const;

  bool needle_at(std::string_view text, std::size_t pos) const;

  std::vector<std::string> needles_;
  std::array<bool, 256> first_byte_{};  // some needle starts with this byte
  // The distinct first bytes of the needles, each searched for with memchr when there are
  // at most kSearchedBytes of them.
  static constexpr std::size_t kSearchedBytes = 4;
  std::vector<unsigned char> first_bytes_;
  std::shared_ptr<const Normalizer> normalizer_;
  const QuickCheck* quick_check_ = nullptr;  // the normalizer's
};

}  // namespace tokenomix::screen
