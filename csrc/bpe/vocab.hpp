// The ranked byte strings of a byte-level BPE vocabulary, and the hash table that finds the
// rank of a byte string.
//
// Design notes. Every BPE step asks "is this byte string a token, and of which rank?", mostly
// for strings of 2-16 bytes, and mostly with the answer "no" (candidate pairs). A slot packs
// the first 8 bytes of its token, the length and 24 bits of the hash into 12 bytes beside the
// rank, so that a miss, and a hit on a token of up to 8 bytes, touch one cache line; longer
// tokens compare their remaining bytes in the token store. Linear probing at a load factor
// of at most 1/2 (o200k_base: 2^19 slots of 16 bytes, 8 MiB). A probe at random costs ~70 ns
// on the 2-core Xeon of BENCHMARKS.md (a miss to memory; 10^6 random tokens, hits and
// misses alike), which is why the engine asks the piece cache and the pair memo first and
// keeps the joins of two single bytes in a direct table (merge_rule.hpp).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "table_memory.hpp"

namespace tokenomix::bpe {

using Rank = std::uint32_t;
inline constexpr Rank kNoRank = 0xFFFFFFFFu;
// Ranks and special-token ids stay below this: the engine keeps tables indexed by rank, and
// real vocabularies have a few hundred thousand tokens.
inline constexpr Rank kRankLimit = Rank{1} << 24;

namespace detail {

inline std::uint64_t load_u64(const unsigned char* p) {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

inline std::uint32_t load_u32(const unsigned char* p) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// The first min(len, 8) bytes of p as a little-endian integer, zero-padded, reading only
// inside [p, p + len).
inline std::uint64_t load_head(const unsigned char* p, std::size_t len) {
  if (len >= 8) return load_u64(p);
  if (len >= 4) {
    const std::uint64_t lo = load_u32(p);
    const std::uint64_t hi = load_u32(p + len - 4);
    return lo | (hi << (8 * (len - 4)));
  }
  if (len == 0) return 0;
  const std::uint64_t mid = p[len / 2];
  const std::uint64_t last = p[len - 1];
  return p[0] | (mid << (8 * (len / 2))) | (last << (8 * (len - 1)));
}

}  // namespace detail

// A byte string reduced to what the hash tables compare first: for up to 8 bytes, `head`
// and `len` are the whole string; for up to 16, `tail` (the last 8 bytes) completes it.
struct Key {
  std::uint64_t head;
  std::uint64_t tail;
  std::uint32_t len;

  static Key of(const unsigned char* p, std::size_t len) {
    const std::uint64_t head = detail::load_head(p, len);
    const std::uint64_t tail = len > 8 ? detail::load_u64(p + len - 8) : 0;
    return {head, tail, static_cast<std::uint32_t>(len)};
  }

  std::uint64_t hash() const {
    std::uint64_t h = (head ^ (tail * 0x9E3779B97F4A7C15ull) ^ len) * 0xD6E8FEB86659FD93ull;
    return h ^ (h >> 29);
  }
};

class Vocab {
 public:
  // Build from the token bytes of each rank; an empty string marks an unused rank. Throws
  // std::invalid_argument on a duplicate token.
  explicit Vocab(std::vector<std::string> tokens);

  // Parse a tiktoken rank file: one "<base64 bytes> <rank>" per line. Throws
  // std::invalid_argument naming the line of the first malformed entry.
  static Vocab from_tiktoken(std::string_view contents);

  // The rank of the byte string [p, p + len), or kNoRank.
  Rank find(const unsigned char* p, std::size_t len) const {
    const Key key = Key::of(p, len);
    return find(p, key, key.hash());
  }
  Rank find(const unsigned char* p, const Key& key, std::uint64_t hash) const;

  // Start loading the slot a later find(p, key, hash) will read first.
  void prefetch(std::uint64_t hash) const { __builtin_prefetch(&slots_[hash & mask_]); }


  // The bytes of a rank; empty for an unused rank. Precondition: rank < rank_limit().
  std::string_view bytes(Rank rank) const {
    return {bytes_.data() + offsets_[rank], offsets_[rank + 1] - offsets_[rank]};
  }

  bool contains_rank(Rank rank) const {
    return rank < rank_limit() && offsets_[rank + 1] > offsets_[rank];
  }

  // One past the largest rank.
  Rank rank_limit() const { return static_cast<Rank>(offsets_.size() - 1); }
  std::size_t size() const { return size_; }
  std::size_t max_token_length() const { return max_token_length_; }

  // The rank of each single byte; kNoRank where the byte is not a token.
  Rank byte_rank(unsigned char b) const { return byte_ranks_[b]; }

 private:
  struct Slot {
    std::uint64_t head;
    std::uint32_t meta;  // min(length, 255) in the low 8 bits, 24 bits of hash above; 0 = empty
    Rank rank;
  };

  static std::uint32_t meta_of(const Key& key, std::uint64_t hash) {
    const std::uint32_t len = key.len < 255 ? key.len : 255;
    return len | static_cast<std::uint32_t>(hash >> 40) << 8;
  }

  void insert(Rank rank);

  std::string bytes_;
  std::vector<std::uint32_t> offsets_;
  TableMemory<Slot> slots_;
  std::uint64_t mask_ = 0;
  std::size_t size_ = 0;
  std::size_t max_token_length_ = 0;
  Rank byte_ranks_[256];
};

inline Rank Vocab::find(const unsigned char* p, const Key& key, std::uint64_t hash) const {
  const std::uint32_t meta = meta_of(key, hash);
  for (std::uint64_t i = hash & mask_;; i = (i + 1) & mask_) {
    const Slot& slot = slots_[i];
    if (slot.meta == 0) return kNoRank;
    if (slot.head != key.head || slot.meta != meta) continue;
    if (key.len <= 8) return slot.rank;
    const std::string_view token = bytes(slot.rank);
    if (token.size() == key.len && std::memcmp(token.data() + 8, p + 8, key.len - 8) == 0) {
      return slot.rank;
    }
  }
}

}  // namespace tokenomix::bpe
