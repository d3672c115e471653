#include "merge_rule.hpp"

#include <stdexcept>
#include <string>

namespace tokenomix::bpe {

MergeRule::MergeRule(const Vocab& vocab)
    : byte_pairs_(1 << 16, kNoJoin), priority_limit_(vocab.rank_limit()) {
  for (Rank rank = 0; rank < vocab.rank_limit(); ++rank) {
    const std::string_view token = vocab.bytes(rank);
    if (token.size() != 2) continue;
    const auto a = static_cast<unsigned char>(token[0]);
    const auto b = static_cast<unsigned char>(token[1]);
    byte_pairs_[a << 8 | b] = make_join(rank, rank);
  }
}

MergeRule::MergeRule(const Vocab& vocab, const std::vector<std::pair<Rank, Rank>>& merges)
    : byte_pairs_(1 << 16, kNoJoin), priority_limit_(static_cast<Rank>(merges.size())) {
  std::size_t capacity = 16;
  while (capacity < 2 * merges.size()) capacity *= 2;
  merges_ = TableMemory<MergeSlot>(capacity, MergeSlot{~std::uint64_t{0}, kNoJoin});
  merge_mask_ = capacity - 1;

  std::string joined;
  for (Rank priority = 0; priority < merges.size(); ++priority) {
    const auto [left, right] = merges[priority];
    if (!vocab.contains_rank(left) || !vocab.contains_rank(right)) {
      throw std::invalid_argument("merge " + std::to_string(priority) +
                                  " names a token that is not in the vocabulary");
    }
    joined.assign(vocab.bytes(left));
    joined += vocab.bytes(right);
    const auto* bytes = reinterpret_cast<const unsigned char*>(joined.data());
    const Rank token = vocab.find(bytes, joined.size());
    if (token == kNoRank) {
      throw std::invalid_argument("merge " + std::to_string(priority) +
                                  " makes a string that is not in the vocabulary");
    }
    const std::uint64_t pair = static_cast<std::uint64_t>(left) << 32 | right;
    std::uint64_t i = merge_hash(left, right) & merge_mask_;
    while (merges_[i].pair != ~std::uint64_t{0} && merges_[i].pair != pair) i = (i + 1) & merge_mask_;
    if (merges_[i].pair == pair) continue;  // a repeated merge keeps its first priority
    merges_[i] = MergeSlot{pair, make_join(priority, token)};
  }
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      byte_pairs_[a << 8 | b] =
          find_merge(vocab.byte_rank(static_cast<unsigned char>(a)),
                     vocab.byte_rank(static_cast<unsigned char>(b)));
    }
  }
}

}  // namespace tokenomix::bpe
