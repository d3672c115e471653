// A per-thread cache from long pieces (over PieceCache::kMaxPiece bytes) to their tokens.
//
// Design notes. Most pieces are short and live in PieceCache, whose key is exact only up to
// 16 bytes. Longer pieces are rarer but dear: o200k_base makes one piece of a whole run of
// CJK characters (30-300 bytes), and a piece of that length seen for the first time costs
// 5-50 us of merging, against ~0.1 us to hash it and compare its bytes with a cached copy.
// Such pieces repeat in real traffic (a clause of a replayed system prompt, a long
// identifier, a rule of "=" signs), so they get a cache of their own: 4k sets of two ways,
// each way holding the piece's bytes (so that a hit is checked byte for byte, never a guess)
// and its ids, with promotion on hit. Pieces over kMaxPiece bytes are not kept, which bounds
// the memory at about 2.5 MiB a thread and encoder.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "vocab.hpp"

namespace tokenomix::bpe {

class LongPieceCache {
 public:
  static constexpr std::size_t kMaxPiece = 256;

  struct Entry {
    std::uint64_t hash = 0;
    std::string bytes;  // empty = unused
    std::vector<Rank> ids;
  };

  LongPieceCache() : entries_(kSets * kWays) {}

  // A hash of all `len` bytes of p.
  static std::uint64_t hash(const unsigned char* p, std::size_t len) {
    constexpr std::uint64_t kMul = 0x9E3779B97F4A7C15ull;
    std::uint64_t h = len * kMul;
    std::size_t i = 0;
    for (; i + 8 <= len; i += 8) h = (h ^ detail::load_u64(p + i)) * kMul;
    if (i < len) h = (h ^ detail::load_head(p + i, len - i)) * kMul;
    return h ^ (h >> 29);
  }

  // The entry for the piece [p, p + len), or nullptr. A hit moves to the front of its set.
  const Entry* find(const unsigned char* p, std::size_t len, std::uint64_t h) {
    Entry* set = &entries_[set_of(h)];
    for (std::size_t way = 0; way < kWays; ++way) {
      Entry& e = set[way];
      if (e.hash != h || e.bytes.size() != len || std::memcmp(e.bytes.data(), p, len) != 0) {
        continue;
      }
      if (way == 0) return &set[0];
      std::swap(set[way], set[way - 1]);
      return &set[way - 1];
    }
    return nullptr;
  }

  // Insert as the newest entry of its set, dropping the oldest (whose buffers it reuses).
  void insert(const unsigned char* p, std::size_t len, std::uint64_t h, const Rank* ids,
              std::size_t count) {
    if (len > kMaxPiece) return;
    Entry* set = &entries_[set_of(h)];
    for (std::size_t way = kWays - 1; way > 0; --way) std::swap(set[way], set[way - 1]);
    set[0].hash = h;
    set[0].bytes.assign(reinterpret_cast<const char*>(p), len);
    set[0].ids.assign(ids, ids + count);
  }

 private:
  static constexpr std::size_t kWays = 2;
  static constexpr std::size_t kSets = 4096;
  static std::size_t set_of(std::uint64_t h) { return ((h >> 20) & (kSets - 1)) * kWays; }

  std::vector<Entry> entries_;
};

}  // namespace tokenomix::bpe
