#include "merge.hpp"

#include <algorithm>
#include <cstring>
#include <functional>

namespace tokenomix::bpe {

namespace {

constexpr std::uint32_t kNoBucket = 0xFFFFFFFFu;

std::size_t merge_short(const Vocab& vocab, const unsigned char* p, std::uint32_t n,
                        PairMemo& memo, std::vector<Rank>* out) {
  ShortMerge merge;
  merge.begin(vocab, p, n);
  while (merge.issue(vocab, memo)) merge.complete(vocab, memo);
  if (out != nullptr) out->insert(out->end(), merge.tokens(), merge.tokens() + merge.parts());
  return merge.parts();
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

void ShortMerge::begin(const Vocab& vocab, const unsigned char* p, std::uint32_t n) {
  p_ = p;
  parts_ = n;
  pending_ = 0;
  for (std::uint32_t i = 0; i <= n; ++i) start_[i] = i;
  for (std::uint32_t i = 0; i < n; ++i) token_[i] = vocab.byte_rank(p[i]);
  for (std::uint32_t i = 0; i + 1 < n; ++i) pair_[i] = vocab.pair_rank(p[i], p[i + 1]);
}

bool ShortMerge::issue(const Vocab& vocab, const PairMemo& memo) {
  Rank best = kNoRank;
  std::uint32_t at = 0;
  for (std::uint32_t i = 0; i + 1 < parts_; ++i) {
    if (pair_[i] < best) {
      best = pair_[i];
      at = i;
    }
  }
  if (best == kNoRank) return false;

  // Join parts `at` and `at + 1`: drop entry at + 1 of every array.
  token_[at] = best;
  for (std::uint32_t i = at + 1; i < parts_; ++i) {
    start_[i] = start_[i + 1];
    pair_[i] = pair_[i + 1];
    token_[i] = token_[i + 1];
  }
  --parts_;

  // Ask for the pairs on either side of the new part.
  pending_ = 0;
  auto ask = [&](std::uint32_t i) {
    const std::uint64_t memo_hash = PairMemo::hash(token_[i], token_[i + 1]);
    bool found;
    const Rank joined = memo.find(token_[i], token_[i + 1], memo_hash, found);
    if (found) {
      pair_[i] = joined;
      return;
    }
    const Key key = Key::of(p_ + start_[i], start_[i + 2] - start_[i]);
    const std::uint64_t hash = key.hash();
    vocab.prefetch(hash);
    lookups_[pending_++] = Lookup{i, key, hash, memo_hash};
  };
  if (at > 0) ask(at - 1);
  if (at + 1 < parts_) {
    ask(at);
  } else {
    pair_[at] = kNoRank;
  }
  return true;
}

void ShortMerge::complete(const Vocab& vocab, PairMemo& memo) {
  for (std::uint32_t k = 0; k < pending_; ++k) {
    const Lookup& l = lookups_[k];
    const Rank rank = vocab.find(p_ + start_[l.at], l.key, l.hash);
    memo.insert(token_[l.at], token_[l.at + 1], l.memo_hash, rank);
    pair_[l.at] = rank;
  }
  pending_ = 0;
}

void merge_in_lockstep(const Vocab& vocab, PairMemo& memo, ShortMerge* merges, std::size_t n) {
  std::size_t active[64];
  std::size_t live = 0;
  for (std::size_t i = 0; i < n; ++i) active[live++] = i;
  while (live > 0) {
    std::size_t kept = 0;
    for (std::size_t k = 0; k < live; ++k) {
      if (merges[active[k]].issue(vocab, memo)) active[kept++] = active[k];
    }
    live = kept;
    for (std::size_t k = 0; k < live; ++k) merges[active[k]].complete(vocab, memo);
  }
}

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
    return merge_short(vocab, p, n, scratch.memo, out);
  }
  const auto n = static_cast<std::uint32_t>(len);
  LongPiece piece(vocab, p, n, scratch);
  if (merge_by_buckets(piece, n, vocab.rank_limit(), scratch)) return piece.finish(out);
  return merge_piece_heap(vocab, p, len, scratch, out);
}

}  // namespace tokenomix::bpe
