// A per-thread, direct-mapped cache from short pieces to their tokens.
//
// Design notes. Logs and prose repeat a few thousand short pieces (" the", "\",\n", "    ")
// over and over, and most of them are one token: a hit here skips the vocabulary's larger
// table and any merging. The key is exact for pieces of up to 16 bytes (Key's head, tail and
// length), so a hit is never a guess. Counts are kept for every cached piece, ids only when
// there are at most three, which covers nearly all short pieces. 32k slots of 32 bytes
// (1 MiB) stay in L2; 8k slots missed often on prose (o200k_base, 460 KB of two books:
// 12.5k distinct pieces). Each thread keeps one cache per encoder (see encoder.cpp).
#pragma once

#include <cstdint>
#include <vector>

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

  PieceCache() : entries_(kSlots) {}

  // The entry for `key` (len <= kMaxPiece), or nullptr.
  const Entry* find(const Key& key, std::uint64_t hash) const {
    const Entry& e = entries_[slot(hash)];
    return e.len == key.len && e.head == key.head && e.tail == key.tail ? &e : nullptr;
  }

  void prefetch(std::uint64_t hash) const { __builtin_prefetch(&entries_[slot(hash)]); }

  void insert(const Key& key, std::uint64_t hash, std::size_t count, const Rank* ids) {
    Entry& e = entries_[slot(hash)];
    e = Entry{key.head, key.tail, static_cast<std::uint16_t>(key.len),
              static_cast<std::uint16_t>(count), {kNoRank, kNoRank, kNoRank}};
    if (ids != nullptr && count <= kMaxIds) {
      for (std::size_t i = 0; i < count; ++i) e.ids[i] = ids[i];
    }
  }

 private:
  static constexpr std::size_t kSlots = 32768;
  static std::size_t slot(std::uint64_t hash) { return (hash >> 20) & (kSlots - 1); }

  std::vector<Entry> entries_;
};

}  // namespace tokenomix::bpe
