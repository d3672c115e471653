// A per-thread memo of "which token do these two tokens make", misses included.
//
// Design notes. Merging a piece asks the vocabulary whether two adjacent parts join into a
// token, about three times per byte of a piece seen for the first time, and half of the
// answers are "no". Each question probes the vocabulary's hash table (8 MiB for o200k_base)
// at random: a cache miss. The same pairs come back across pieces ("in"+"g", "th"+"e"), so
// a small direct-mapped table keyed by the two ranks (16k slots, 192 KiB, in L2) answers
// most of them; it is exact, because the answer depends on the two ranks alone.
#pragma once

#include <cstdint>
#include <vector>

#include "vocab.hpp"

namespace tokenomix::bpe {

class PairMemo {
 public:
  PairMemo() : slots_(kSlots, Slot{kNoRank, kNoRank, kNoRank}) {}

  static std::uint64_t hash(Rank left, Rank right) {
    return (static_cast<std::uint64_t>(left) << 32 | right) * 0x9E3779B97F4A7C15ull;
  }

  void prefetch(std::uint64_t hash) const { __builtin_prefetch(&slots_[slot(hash)]); }

  // The rank of left + right joined, kNoRank if it is not a token; `found` false if unknown.
  Rank find(Rank left, Rank right, std::uint64_t hash, bool& found) const {
    const Slot& s = slots_[slot(hash)];
    found = s.left == left && s.right == right;
    return s.joined;
  }

  void insert(Rank left, Rank right, std::uint64_t hash, Rank joined) {
    slots_[slot(hash)] = Slot{left, right, joined};
  }

 private:
  struct Slot {
    Rank left;
    Rank right;
    Rank joined;
  };
  static constexpr std::size_t kSlots = 16384;
  static std::size_t slot(std::uint64_t hash) { return hash >> 50; }

  std::vector<Slot> slots_;
};

}  // namespace tokenomix::bpe
