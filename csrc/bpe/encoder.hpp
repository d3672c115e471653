// The public face of the BPE engine: an encoder over one vocabulary, one split pattern and a
// set of special tokens, with the semantics of tiktoken's CoreBPE.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "merge.hpp"
#include "merge_rule.hpp"
#include "pretokenize.hpp"
#include "vocab.hpp"

namespace tokenomix::bpe {

// Thrown by decoding for a rank that is neither a token nor a special token.
class UnknownToken : public std::exception {
 public:
  explicit UnknownToken(Rank rank)
      : rank_(rank), what_("unknown token id " + std::to_string(rank)) {}
  const char* what() const noexcept override { return what_.c_str(); }
  Rank rank() const { return rank_; }

 private:
  Rank rank_;
  std::string what_;
};

// A special token found in text: its index in Encoder::special_tokens() and its byte span.
struct SpecialMatch {
  std::size_t index;
  std::size_t begin;
  std::size_t end;
};

struct ThreadState;

// How an encoder splits and merges, beyond its vocabulary.
struct EncoderOptions {
  // The split pattern.
  Pattern pattern = Pattern::kO200k;
  // A piece that is itself a token is that token, without merging (tiktoken always; Hugging
  // Face files with "ignore_merges"). Otherwise a piece is merged from its bytes, unless it
  // is a token that merging its own bytes gives (known for every token from construction).
  bool whole_piece_first = true;
};

class Encoder {
 public:
  // An encoder with tiktoken's merge rule (an empty `merges`), or with the merge list
  // `merges` (Hugging Face: merges[i] = (left, right) joins with priority i). Throws
  // std::invalid_argument if a single byte is not a token (the merge needs every byte), a
  // merge makes a string outside the vocabulary, or a special token is empty or shares a rank
  // with the vocabulary.
  Encoder(Vocab vocab, const std::vector<std::pair<Rank, Rank>>& merges, EncoderOptions options,
          std::vector<std::pair<std::string, Rank>> special_tokens);

  // Tokens of `text` with special-token text treated as ordinary text.
  std::size_t count(std::string_view text) const;
  void encode_ordinary(std::string_view text, std::vector<Rank>& out) const;

  // The same, for text already split into pieces by the caller: piece i ends at bounds[i]
  // (increasing, the last equal to text.size()). For split patterns without a scanner.
  std::size_t count_split(std::string_view text, const std::vector<std::size_t>& bounds) const;
  void encode_split(std::string_view text, const std::vector<std::size_t>& bounds,
                    std::vector<Rank>& out) const;

  // Tokens of `text`, where each occurrence of a special token whose index is set in
  // `allowed` becomes that token (the leftmost first; the longest where several start at
  // the same byte). `allowed` has one entry per special token.
  void encode(std::string_view text, const std::vector<bool>& allowed,
              std::vector<Rank>& out) const;

  // The first occurrence at or after `from` of a special token whose index is set in `only`.
  std::optional<SpecialMatch> find_special(std::string_view text, std::size_t from,
                                           const std::vector<bool>& only) const;

  // Append the bytes of `rank` to `out`; throws UnknownToken.
  void append_bytes(Rank rank, std::string& out) const;

  const Vocab& vocab() const { return vocab_; }
  const EncoderOptions& options() const { return options_; }
  const std::vector<std::pair<std::string, Rank>>& special_tokens() const { return specials_; }

  // One past the largest rank, special tokens included.
  Rank rank_limit() const { return rank_limit_; }

 private:
  void require_scanner() const;

  // The token a whole piece is, when the merge rule makes it one: kNoRank otherwise.
  Rank whole_token(const unsigned char* p, const Key& key, std::uint64_t hash) const {
    const Rank rank = vocab_.find(p, key, hash);
    return rank == kNoRank || options_.whole_piece_first || merged_whole_[rank] ? rank
                                                                                : kNoRank;
  }

  // The tokens of a piece longer than the piece cache's keys, from the thread's long-piece
  // cache or merged and cached there. Valid until the thread's next call on this encoder.
  const std::vector<Rank>& long_piece(const unsigned char* p, std::size_t len,
                                      ThreadState& state) const;

  template <class NextPiece>
  std::size_t count_pieces(NextPiece next_piece, std::string_view text) const;
  template <class NextPiece>
  void encode_pieces(NextPiece next_piece, std::string_view text, std::vector<Rank>& out) const;

  Vocab vocab_;
  MergeRule rule_;
  EncoderOptions options_;
  std::vector<std::pair<std::string, Rank>> specials_;
  std::vector<std::uint8_t> special_first_byte_;  // 1 where some special token starts
  Rank rank_limit_;
  std::uint64_t id_;
  // Without whole_piece_first: 1 for each token that merging its own bytes gives.
  std::vector<std::uint8_t> merged_whole_;
};

}  // namespace tokenomix::bpe
