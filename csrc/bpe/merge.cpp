#include "merge.hpp"

#include <algorithm>
#include <cstring>
#include <functional>

namespace tokenomix::bpe {

namespace {

constexpr std::uint32_t kNoBucket = 0xFFFFFFFFu;

template <bool kWithIds>
std::size_t merge_short(const Vocab& vocab, const unsigned char* p, std::uint32_t n,
                        PairMemo& memo, std::vector<Rank>* out) {
  // Part i spans [start[i], start[i + 1]) and is the token token[i]; pair[i] is the rank of
  // parts i and i + 1 joined.
  std::uint32_t start[kShortPiece + 1];
  Rank token[kShortPiece + 1];
  Rank pair[kShortPiece + 1];
  std::uint32_t parts = n;
  for (std::uint32_t i = 0; i <= n; ++i) start[i] = i;
  for (std::uint32_t i = 0; i < n; ++i) token[i] = vocab.byte_rank(p[i]);
  for (std::uint32_t i = 0; i + 1 < n; ++i) pair[i] = vocab.pair_rank(p[i], p[i + 1]);

  // The rank of parts i and i + 1 joined: from the memo, else from the vocabulary.
  auto join_rank = [&](std::uint32_t i, std::uint64_t hash) {
    bool found;
    const Rank joined = memo.find(token[i], token[i + 1], hash, found);
    if (found) return joined;
    const Rank rank = vocab.find(p + start[i], start[i + 2] - start[i]);
    memo.insert(token[i], token[i + 1], hash, rank);
    return rank;
  };

  while (parts > 1) {
    Rank best = kNoRank;
    std::uint32_t at = 0;
    for (std::uint32_t i = 0; i + 1 < parts; ++i) {
      if (pair[i] < best) {
        best = pair[i];
        at = i;
      }
    }
    if (best == kNoRank) break;

    // Join parts `at` and `at + 1`: drop entry at + 1 of every array.
    token[at] = best;
    for (std::uint32_t i = at + 1; i < parts; ++i) {
      start[i] = start[i + 1];
      pair[i] = pair[i + 1];
      token[i] = token[i + 1];
    }
    --parts;

    // Ask for the two new pairs together, so that their memory loads overlap.
    const bool right = at + 1 < parts;
    const std::uint64_t hash_right = right ? PairMemo::hash(token[at], token[at + 1]) : 0;
    const std::uint64_t hash_left = at > 0 ? PairMemo::hash(token[at - 1], token[at]) : 0;
    if (right) memo.prefetch(hash_right);
    if (at > 0) memo.prefetch(hash_left);
    if (at > 0) pair[at - 1] = join_rank(at - 1, hash_left);
    pair[at] = right ? join_rank(at, hash_right) : kNoRank;
  }
  if constexpr (kWithIds) out->insert(out->end(), token, token + parts);
  return parts;
}

// The parts of a long piece as a linked list over byte positions: a part starting at s ends
// at next[s]; pair[s] is the rank of the part at s joined with its successor (kNoRank if
// none, or if s is no longer the start of a part).
class LongPiece {
 public:
  LongPiece(const Vocab& vocab, const unsigned char* p, std::uint32_t n, MergeScratch& s)
      : vocab_(vocab), p_(p), n_(n), s_(s) {
    s_.next.resize(n + 1);
    s_.prev.resize(n + 1);
    s_.pair.resize(n + 1);
    for (std::uint32_t i = 0; i <= n; ++i) {
      s_.next[i] = i + 1;
      s_.prev[i] = i - 1;
    }
    for (std::uint32_t i = 0; i < n; ++i) {
      s_.pair[i] = i + 1 < n ? vocab.pair_rank(p[i], p[i + 1]) : kNoRank;
    }
  }

  Rank pair(std::uint32_t s) const { return s_.pair[s]; }

  // Join the part at s with its successor; return the start of the predecessor, or n.
  std::uint32_t join(std::uint32_t s) {
    const std::uint32_t gone = s_.next[s];
    const std::uint32_t after = s_.next[gone];
    s_.next[s] = after;
    if (after < n_) s_.prev[after] = s;
    s_.pair[gone] = kNoRank;
    s_.pair[s] = after < n_ ? find(s, s_.next[after]) : kNoRank;
    if (s == 0) return n_;
    const std::uint32_t before = s_.prev[s];
    s_.pair[before] = find(before, after);
    return before;
  }

  // Count the parts, appending the rank of each to `out` when given.
  std::size_t finish(std::vector<Rank>* out) const {
    std::size_t parts = 0;
    for (std::uint32_t s = 0; s < n_; s = s_.next[s]) {
      ++parts;
      if (out != nullptr) out->push_back(vocab_.find(p_ + s, s_.next[s] - s));
    }
    return parts;
  }

 private:
  Rank find(std::uint32_t from, std::uint32_t to) const { return vocab_.find(p_ + from, to - from); }

  const Vocab& vocab_;
  const unsigned char* p_;
  std::uint32_t n_;
  MergeScratch& s_;
};

std::uint64_t heap_entry(Rank rank, std::uint32_t pos) {
  return static_cast<std::uint64_t>(rank) << 32 | pos;
}

// Rank buckets emptied in rank order; false if a merge created a pair of lower rank than the
// bucket being emptied, in which case the caller starts over with the heap.
bool merge_by_buckets(LongPiece& piece, std::uint32_t n, Rank rank_limit, MergeScratch& s) {
  if (s.bucket_of_rank.size() < rank_limit) s.bucket_of_rank.assign(rank_limit, kNoBucket);
  s.bucket_ranks.clear();
  s.used_ranks.clear();
  auto add = [&](Rank rank, std::uint32_t pos) {
    std::uint32_t& b = s.bucket_of_rank[rank];
    if (b == kNoBucket) {
      b = static_cast<std::uint32_t>(s.used_ranks.size());
      s.used_ranks.push_back(rank);
      if (s.buckets.size() <= b) s.buckets.emplace_back();
      s.buckets[b].clear();
      s.bucket_ranks.push_back(rank);
      std::push_heap(s.bucket_ranks.begin(), s.bucket_ranks.end(), std::greater<>());
    }
    s.buckets[b].push_back(pos);
  };
  for (std::uint32_t i = 0; i + 1 < n; ++i) {
    if (piece.pair(i) != kNoRank) add(piece.pair(i), i);
  }

  bool monotone = true;
  std::vector<std::uint32_t> positions;
  while (!s.bucket_ranks.empty() && monotone) {
    std::pop_heap(s.bucket_ranks.begin(), s.bucket_ranks.end(), std::greater<>());
    const Rank rank = s.bucket_ranks.back();
    s.bucket_ranks.pop_back();
    positions.swap(s.buckets[s.bucket_of_rank[rank]]);
    if (!std::is_sorted(positions.begin(), positions.end())) {
      std::sort(positions.begin(), positions.end());
    }
    for (const std::uint32_t pos : positions) {
      if (piece.pair(pos) != rank) continue;  // joined away or changed since it was queued
      const std::uint32_t before = piece.join(pos);
      for (const std::uint32_t changed : {pos, before}) {
        if (changed == n || piece.pair(changed) == kNoRank) continue;
        if (piece.pair(changed) <= rank) monotone = false;
        if (monotone) add(piece.pair(changed), changed);
      }
      if (!monotone) break;
    }
    positions.clear();
  }
  // Leave the rank index empty for the next piece.
  for (const Rank r : s.used_ranks) {
    s.buckets[s.bucket_of_rank[r]].clear();
    s.bucket_of_rank[r] = kNoBucket;
  }
  return monotone;
}

}  // namespace

std::size_t merge_piece_heap(const Vocab& vocab, const unsigned char* p, std::size_t len,
                             MergeScratch& scratch, std::vector<Rank>* out) {
  const auto n = static_cast<std::uint32_t>(len);
  LongPiece piece(vocab, p, n, scratch);
  std::vector<std::uint64_t>& heap = scratch.heap;
  heap.clear();
  auto push = [&](std::uint32_t pos) {
    if (pos == n || piece.pair(pos) == kNoRank) return;
    heap.push_back(heap_entry(piece.pair(pos), pos));
    std::push_heap(heap.begin(), heap.end(), std::greater<>());
  };
  for (std::uint32_t i = 0; i + 1 < n; ++i) push(i);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), std::greater<>());
    const std::uint64_t top = heap.back();
    heap.pop_back();
    const auto pos = static_cast<std::uint32_t>(top);
    if (piece.pair(pos) != static_cast<Rank>(top >> 32)) continue;  // stale entry
    const std::uint32_t before = piece.join(pos);
    push(pos);
    push(before);
  }
  return piece.finish(out);
}

std::size_t merge_piece(const Vocab& vocab, const unsigned char* p, std::size_t len,
                        MergeScratch& scratch, std::vector<Rank>* out) {
  if (len <= kShortPiece) {
    const auto n = static_cast<std::uint32_t>(len);
    return out != nullptr ? merge_short<true>(vocab, p, n, scratch.memo, out)
                          : merge_short<false>(vocab, p, n, scratch.memo, nullptr);
  }
  const auto n = static_cast<std::uint32_t>(len);
  LongPiece piece(vocab, p, n, scratch);
  if (merge_by_buckets(piece, n, vocab.rank_limit(), scratch)) return piece.finish(out);
  return merge_piece_heap(vocab, p, len, scratch, out);
}

}  // namespace tokenomix::bpe
