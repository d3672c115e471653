// A per-thread, direct-mapped cache from short pieces to their tokens.
//
// Design notes. Logs and prose repeat a few thousand short pieces (" the", "\",\n", "    ")
// over and over, and most of them are one token: a hit here skips the vocabulary's larger
// table and any merging. The key is exact for pieces of up to 16 bytes (Key's head, tail and
// length), so a hit is never a guess. Counts are kept for every cached piece, ids only when
// there are at most three, which covers nearly all short pieces. A miss costs 30 times a hit
// (a vocabulary probe, and for one piece in three a merge: ~0.1 and ~0.7 us against ~20 ns,
// o200k_base, 2-core Xeon), so the hit rate is what matters: 32k entries of 32 bytes (1 MiB,
// in L2) in sets of four ways with promotion on hit. One way per slot lost a fifth of a
// working set of 7k pieces to collisions on every pass, and 8k slots missed often on prose.
// Each thread keeps one cache per encoder (see encoder.cpp).
#pragma once

#include <cstdint>
#include <vector>

#include <utility>

#include "table_memory.hpp"
#include "vocab.hpp"

namespace tokenomix::bpe {

class PieceCache {
 public:
  static constexpr std::size_t kMaxPiece = 16;
  static constexpr int kMaxIds = 3;

  struct Entry {
    std::uint64_t head;
    std::uint64_t tail;
    std::uint16_t len;  // 0 = empty
    std::uint16_t count;
    Rank ids[kMaxIds];
  };

  PieceCache() : entries_(kSets * kWays, Entry{}) {}

  // The entry for `key` (len <= kMaxPiece), or nullptr. A hit moves one way towards the
  // front of its set, so that pieces in use stay while one-off pieces pass through.
  const Entry* find(const Key& key, std::uint64_t hash) {
    Entry* set = &entries_[set_of(hash)];
    for (std::size_t way = 0; way < kWays; ++way) {
      const Entry& e = set[way];
      if (e.len != key.len || e.head != key.head || e.tail != key.tail) continue;
      if (way == 0) return &set[0];
      std::swap(set[way], set[way - 1]);
      return &set[way - 1];
    }
    return nullptr;
  }

  void prefetch(std::uint64_t hash) const { __builtin_prefetch(&entries_[set_of(hash)]); }

  // Insert as the newest entry of its set, dropping the oldest.
  void insert(const Key& key, std::uint64_t hash, std::size_t count, const Rank* ids) {
    Entry* set = &entries_[set_of(hash)];
    for (std::size_t way = kWays - 1; way > 0; --way) set[way] = set[way - 1];
    set[0] = Entry{key.head, key.tail, static_cast<std::uint16_t>(key.len),
                   static_cast<std::uint16_t>(count), {kNoRank, kNoRank, kNoRank}};
    if (ids != nullptr && count <= kMaxIds) {
      for (std::size_t i = 0; i < count; ++i) set[0].ids[i] = ids[i];
    }
  }

 private:
  // Four ways of 32 bytes: a set is two cache lines.
  static constexpr std::size_t kWays = 4;
  static constexpr std::size_t kSets = 8192;
  static std::size_t set_of(std::uint64_t hash) { return ((hash >> 20) & (kSets - 1)) * kWays; }

  TableMemory<Entry> entries_;
};

}  // namespace tokenomix::bpe
