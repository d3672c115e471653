// A per-thread memo of "what do these two tokens join into", misses included.
//
// Design notes. Merging a piece asks whether two adjacent parts join, about three times per
// byte of a piece seen for the first time, and half of the answers are "no". Each question
// probes a large table at random (the vocabulary, 8 MiB for o200k_base, or a merge list): a
// cache miss. The same pairs come back across pieces ("in"+"g", "th"+"e"), so a small
// direct-mapped table keyed by the two ranks (16k slots, 256 KiB, in L2) answers about half
// of them; it is exact, because the answer depends on the two ranks alone.
#pragma once

#include <cstdint>
#include <vector>

#include "merge_rule.hpp"

namespace tokenomix::bpe {

class PairMemo {
 public:
  PairMemo() : slots_(kSlots, Slot{kNoRank, kNoRank, kNoJoin}) {}

  static std::uint64_t hash(Rank left, Rank right) {
    return (static_cast<std::uint64_t>(left) << 32 | right) * 0x9E3779B97F4A7C15ull;
  }

  // The join of left and right; `found` false if the memo does not know it.
  Join find(Rank left, Rank right, std::uint64_t hash, bool& found) const {
    const Slot& s = slots_[slot(hash)];
    found = s.left == left && s.right == right;
    return s.join;
  }

  void insert(Rank left, Rank right, std::uint64_t hash, Join join) {
    slots_[slot(hash)] = Slot{left, right, join};
  }

 private:
  struct Slot {
    Rank left;
    Rank right;
    Join join;
  };
  static constexpr std::size_t kSlots = 16384;
  static std::size_t slot(std::uint64_t hash) { return hash >> 50; }

  std::vector<Slot> slots_;
};

}  // namespace tokenomix::bpe
