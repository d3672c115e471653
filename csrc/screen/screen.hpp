// Screening texts for a tokenizer pipeline whose steps the engine does not run itself.
//
// A Hugging Face tokenizer.json matches added tokens in the text and may normalize it before
// the split pattern and the merges, which the engine runs. Most texts hold no added token
// and are already normalized: for those the engine alone gives the reference ids. A Screen
// finds the others at memory speed:
//   - a text that the `normalizer` may change (the quick check of UAX #15 over its
//     `quick_check()`) is normalized here;
//   - a text holding one of the `needles` (the added tokens to match) is cut at its added
//     tokens here when the tokenizer's added tokens allow it (`cuts`: see Cut), and takes the
//     slow path in Python otherwise.
// The answer errs only towards the slow path, which is exact for every text.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "screen/normalize.hpp"

namespace tokenomix::screen {

// An added token as the cut looks for it: its text, and its id, or kReadAsText for one that
// is matched (hiding what it covers from the other tokens) and then read as text, as
// tokenizers does with special tokens it does not keep. The cut is that of tokenizers for
// added tokens that match in the raw text (not `normalized`) without `lstrip`, `rstrip` or
// `single_word`: the leftmost match, the longest at that place, then on after it; the text
// between is normalized and read by the engine, the empty text between two tokens left out.
struct Cut {
  static constexpr std::int64_t kReadAsText = -1;
  std::string pattern;
  std::int64_t id;
};

class Screen {
 public:
  // Throws std::invalid_argument for an empty needle or cut pattern. No normalizer: the
  // text is read as it is. No cuts: a text holding a needle takes the slow path.
  Screen(std::vector<std::string> needles, std::shared_ptr<const Normalizer> normalizer,
         std::vector<Cut> cuts);

  // Whether `text` (valid UTF-8) holds a needle or may change under normalization.
  bool flags(std::string_view text) const { return holds_needle(text) || may_change(text); }

  // The parts of `text` (valid UTF-8) in order: read(part) for each text the engine reads
  // (normalized, in `buffer` or in `text`), token(id) for each added token cut. False, with
  // nothing called, when the text must take the slow path.
  template <class Read, class Token>
  bool parts(std::string_view text, std::string& buffer, Read read, Token token) const {
    if (!holds_needle(text)) {
      if (!may_change(text)) {
        read(text);
        return true;
      }
      normalizer_->normalize(text, buffer);
      // Normalizing may make a needle (U+226F decomposes to ">" and U+0338).
      if (holds_needle(buffer)) return false;
      read(std::string_view(buffer));
      return true;
    }
    if (cuts_.empty()) return false;
    std::size_t done = 0;  // the end of the last token cut
    for (std::size_t at = 0; at < text.size();) {
      const Cut* cut = cut_at(text, at);
      if (cut == nullptr) {
        ++at;
        continue;
      }
      if (cut->id != Cut::kReadAsText) {
        if (done < at) read_between(text.substr(done, at - done), buffer, read);
        token(cut->id);
        done = at + cut->pattern.size();
      }
      at += cut->pattern.size();
    }
    if (done < text.size()) read_between(text.substr(done), buffer, read);
    return true;
  }

 private:
  template <class Read>
  void read_between(std::string_view between, std::string& buffer, Read& read) const {
    if (!may_change(between)) {
      read(between);
      return;
    }
    normalizer_->normalize(between, buffer);
    read(std::string_view(buffer));
  }

  // The longest cut whose pattern starts at `at`, or nullptr.
  const Cut* cut_at(std::string_view text, std::size_t at) const;

  bool holds_needle(std::string_view text) const;

  // The quick check: false when the normalizer leaves `text` as it is.
  bool may_change(std::string_view text) const;

  bool needle_at(std::string_view text, std::size_t pos) const;

  std::vector<std::string> needles_;
  std::array<bool, 256> first_byte_{};  // some needle starts with this byte
  // Some needle starts with these two bytes (or is this one byte), indexed first << 8 | second:
  // most hits of a first byte ("<" in code) end here.
  std::vector<bool> first_pair_ = std::vector<bool>(1 << 16);
  // The distinct first bytes of the needles, each searched for with memchr when there are
  // at most kSearchedBytes of them.
  static constexpr std::size_t kSearchedBytes = 4;
  std::vector<unsigned char> first_bytes_;
  std::shared_ptr<const Normalizer> normalizer_;
  const QuickCheck* quick_check_ = nullptr;  // the normalizer's
  std::vector<Cut> cuts_;  // longest first
  std::array<bool, 256> cut_first_byte_{};
};

}  // namespace tokenomix::screen
