// How two adjacent parts of a piece join: which token they make, and the priority of the join.
//
// Two rules are in use. tiktoken joins any two parts whose bytes together are a token, the
// token of lowest rank first (its rank is its id). Hugging Face `tokenizers` joins only the
// pairs its merge list names, the earliest listed first, into the vocabulary's token for the
// joined bytes: a token that is not the product of a listed merge is never made by merging.
// Both take the leftmost of equal priorities. A Join packs priority and token so that the
// smaller Join is the one to do first.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "table_memory.hpp"
#include "vocab.hpp"

namespace tokenomix::bpe {

using Join = std::uint64_t;  // priority << 32 | token
inline constexpr Join kNoJoin = ~Join{0};

inline Join make_join(Rank priority, Rank token) {
  return static_cast<Join>(priority) << 32 | token;
}
inline Rank join_token(Join join) { return static_cast<Rank>(join); }
inline Rank join_priority(Join join) { return static_cast<Rank>(join >> 32); }

class MergeRule {
 public:
  // tiktoken's rule over `vocab`.
  explicit MergeRule(const Vocab& vocab);

  // The rule of a merge list: merges[i] = (left, right) joins with priority i. Throws
  // std::invalid_argument for a merge whose joined bytes are not in `vocab`.
  MergeRule(const Vocab& vocab, const std::vector<std::pair<Rank, Rank>>& merges);

  bool by_rank() const { return merges_.size() == 0; }

  // One past the largest priority.
  Rank priority_limit() const { return priority_limit_; }

  // The join of two single bytes, from a direct table (the first joins of every piece).
  Join byte_pair(unsigned char a, unsigned char b) const { return byte_pairs_[a << 8 | b]; }

  // Where a join lookup will read first, to prefetch it: tiktoken's rule probes the
  // vocabulary for the joined bytes (key, hash), a merge list probes its own table.
  void prefetch(const Vocab& vocab, Rank left, Rank right, std::uint64_t hash) const {
    if (by_rank()) {
      vocab.prefetch(hash);
    } else {
      __builtin_prefetch(&merges_[merge_hash(left, right) & merge_mask_]);
    }
  }

  // The join of parts `left` and `right`, whose bytes together are [p, p + key.len).
  Join join(const Vocab& vocab, Rank left, Rank right, const unsigned char* p, const Key& key,
            std::uint64_t hash) const {
    if (!by_rank()) return find_merge(left, right);
    const Rank rank = vocab.find(p, key, hash);
    return rank == kNoRank ? kNoJoin : make_join(rank, rank);
  }

 private:
  struct MergeSlot {
    std::uint64_t pair;  // left << 32 | right; ~0 for an empty slot
    Join join;
  };

  static std::uint64_t merge_hash(Rank left, Rank right) {
    const std::uint64_t h = (static_cast<std::uint64_t>(left) << 32 | right) * 0x9E3779B97F4A7C15ull;
    return h ^ (h >> 31);
  }

  Join find_merge(Rank left, Rank right) const {
    const std::uint64_t pair = static_cast<std::uint64_t>(left) << 32 | right;
    for (std::uint64_t i = merge_hash(left, right) & merge_mask_;; i = (i + 1) & merge_mask_) {
      if (merges_[i].pair == pair) return merges_[i].join;
      if (merges_[i].pair == ~std::uint64_t{0}) return kNoJoin;
    }
  }

  TableMemory<Join> byte_pairs_;
  TableMemory<MergeSlot> merges_;
  std::uint64_t merge_mask_ = 0;
  Rank priority_limit_ = 0;
};

}  // namespace tokenomix::bpe
