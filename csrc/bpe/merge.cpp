#include "merge.hpp"

#include <algorithm>
#include <functional>
#include <string>

namespace tokenomix::bpe {

namespace {

constexpr std::uint32_t kNoBucket = 0xFFFFFFFFu;

std::size_t merge_short(const Vocab& vocab, const MergeRule& rule, const unsigned char* p,
                        std::uint32_t n, PairMemo& memo, std::vector<Rank>* out) {
  ShortMerge merge;
  merge.begin(vocab, rule, p, n);
  while (merge.issue(vocab, rule, memo)) merge.complete(vocab, rule, memo);
  if (out != nullptr) out->insert(out->end(), merge.tokens(), merge.tokens() + merge.parts());
  return merge.parts();
}

// The parts of a long piece as a linked list over byte positions: a part starting at s ends
// at next[s] and is the token token[s]; pair[s] is the join of the part at s with its
// successor (kNoJoin if none, or if s is no longer the start of a part).
class LongPiece {
 public:
  LongPiece(const Vocab& vocab, const MergeRule& rule, const unsigned char* p, std::uint32_t n,
            MergeScratch& s)
      : vocab_(vocab), rule_(rule), p_(p), n_(n), s_(s) {
    s_.next.resize(n + 1);
    s_.prev.resize(n + 1);
    s_.pair.resize(n + 1);
    s_.token.resize(n + 1);
    for (std::uint32_t i = 0; i <= n; ++i) {
      s_.next[i] = i + 1;
      s_.prev[i] = i - 1;
    }
    for (std::uint32_t i = 0; i < n; ++i) {
      s_.token[i] = vocab.byte_rank(p[i]);
      s_.pair[i] = i + 1 < n ? rule.byte_pair(p[i], p[i + 1]) : kNoJoin;
    }
  }

  Join pair(std::uint32_t s) const { return s_.pair[s]; }

  // Join the part at s with its successor; return the start of the predecessor, or n.
  std::uint32_t join(std::uint32_t s) {
    const std::uint32_t gone = s_.next[s];
    const std::uint32_t after = s_.next[gone];
    s_.token[s] = join_token(s_.pair[s]);
    s_.next[s] = after;
    if (after < n_) s_.prev[after] = s;
    s_.pair[gone] = kNoJoin;
    s_.pair[s] = after < n_ ? find(s, after, s_.next[after]) : kNoJoin;
    if (s == 0) return n_;
    const std::uint32_t before = s_.prev[s];
    s_.pair[before] = find(before, s, after);
    return before;
  }

  // Count the parts, appending the id of each to `out` when given.
  std::size_t finish(std::vector<Rank>* out) const {
    std::size_t parts = 0;
    for (std::uint32_t s = 0; s < n_; s = s_.next[s]) {
      ++parts;
      if (out != nullptr) out->push_back(s_.token[s]);
    }
    return parts;
  }

 private:
  // The join of the parts [from, mid) and [mid, to): from the memo, else from the rule.
  Join find(std::uint32_t from, std::uint32_t mid, std::uint32_t to) const {
    const Rank left = s_.token[from];
    const Rank right = s_.token[mid];
    const std::uint64_t memo_hash = PairMemo::hash(left, right);
    bool found;
    const Join known = s_.memo.find(left, right, memo_hash, found);
    if (found) return known;
    const Key key = Key::of(p_ + from, to - from);
    const Join join = rule_.join(vocab_, left, right, p_ + from, key, key.hash());
    s_.memo.insert(left, right, memo_hash, join);
    return join;
  }

  const Vocab& vocab_;
  const MergeRule& rule_;
  const unsigned char* p_;
  std::uint32_t n_;
  MergeScratch& s_;
};

// Priority buckets emptied in order; false if a join created a pair of lower or equal
// priority than the bucket being emptied, in which case the caller starts over with the heap.
bool merge_by_buckets(LongPiece& piece, std::uint32_t n, Rank priority_limit, MergeScratch& s) {
  if (s.bucket_of_priority.size() < priority_limit) {
    s.bucket_of_priority.assign(priority_limit, kNoBucket);
  }
  s.bucket_priorities.clear();
  s.used_priorities.clear();
  auto add = [&](Rank priority, std::uint32_t pos) {
    std::uint32_t& b = s.bucket_of_priority[priority];
    if (b == kNoBucket) {
      b = static_cast<std::uint32_t>(s.used_priorities.size());
      s.used_priorities.push_back(priority);
      if (s.buckets.size() <= b) s.buckets.emplace_back();
      s.buckets[b].clear();
      s.bucket_priorities.push_back(priority);
      std::push_heap(s.bucket_priorities.begin(), s.bucket_priorities.end(), std::greater<>());
    }
    s.buckets[b].push_back(pos);
  };
  for (std::uint32_t i = 0; i + 1 < n; ++i) {
    if (piece.pair(i) != kNoJoin) add(join_priority(piece.pair(i)), i);
  }

  bool monotone = true;
  std::vector<std::uint32_t> positions;
  while (!s.bucket_priorities.empty() && monotone) {
    std::pop_heap(s.bucket_priorities.begin(), s.bucket_priorities.end(), std::greater<>());
    const Rank priority = s.bucket_priorities.back();
    s.bucket_priorities.pop_back();
    positions.swap(s.buckets[s.bucket_of_priority[priority]]);
    if (!std::is_sorted(positions.begin(), positions.end())) {
      std::sort(positions.begin(), positions.end());
    }
    for (const std::uint32_t pos : positions) {
      // Joined away, or changed since it was queued.
      if (piece.pair(pos) == kNoJoin || join_priority(piece.pair(pos)) != priority) continue;
      const std::uint32_t before = piece.join(pos);
      for (const std::uint32_t changed : {pos, before}) {
        if (changed == n || piece.pair(changed) == kNoJoin) continue;
        if (join_priority(piece.pair(changed)) <= priority) monotone = false;
        if (monotone) add(join_priority(piece.pair(changed)), changed);
      }
      if (!monotone) break;
    }
    positions.clear();
  }
  // Leave the priority index empty for the next piece.
  for (const Rank r : s.used_priorities) {
    s.buckets[s.bucket_of_priority[r]].clear();
    s.bucket_of_priority[r] = kNoBucket;
  }
  return monotone;
}

// A long piece of few runs (a megabyte of spaces is one run: 1,000,000 x " "), merged as
// runs of equal tokens instead of part by part. Each round takes the lowest-priority join
// among the pairs inside runs and between runs and makes all of its joins, leftmost first,
// as the part-by-part merge would: a join of rank r inside a run of k tokens t leaves
// floor(k/2) tokens tt and, for odd k, one t at the end; a join of rank r between runs takes
// the last part of one and the first of the next. The two kinds never meet in one round (a
// token is one byte string: t+t == s+u would make s == u == t), and a round makes no new pair
// of rank r or lower as long as priorities grow, which is checked, for the pairs that outlast
// a round and for the one that exists only during it (see apply): false when it does not
// hold, or when the piece has more runs than kMaxRuns (no longer cheap to scan), and the
// caller falls back to the buckets.
//
//   "          " (10 spaces; "  " rank a, "    " rank b > a, "        " rank c > b)
//   [" " x 10] -> [" "x2 x 5]  (round a) -> ["    " x 2, "  " x 1]  (round b)
//              -> ["        " x 1, "  " x 1]  (round c)  -> no pair joins: 2 tokens
class RunMerge {
 public:
  static constexpr std::size_t kMaxRuns = 64;

  RunMerge(const Vocab& vocab, const MergeRule& rule, PairMemo& memo)
      : vocab_(vocab), rule_(rule), memo_(memo) {}

  // Merge [p, p + n); false (with nothing done) when the piece does not suit runs.
  bool merge(const unsigned char* p, std::uint32_t n, std::size_t& parts, std::vector<Rank>* out) {
    runs_.clear();
    for (std::uint32_t i = 0; i < n; ++i) {
      const Rank t = vocab_.byte_rank(p[i]);
      if (!runs_.empty() && runs_.back().token == t) {
        ++runs_.back().count;
      } else if (runs_.size() == kMaxRuns) {
        return false;
      } else {
        runs_.push_back(Run{t, 1});
      }
    }
    Join last = 0;
    for (Join best = lowest(); best != kNoJoin; best = lowest()) {
      // Not monotone: the part-by-part merge would take another order.
      if (best <= last || !apply(best)) return false;
      last = best;
    }
    parts = 0;
    for (const Run& r : runs_) {
      parts += r.count;
      if (out != nullptr) out->insert(out->end(), r.count, r.token);
    }
    return true;
  }

 private:
  struct Run {
    Rank token;
    std::uint32_t count;
  };

  Join join(Rank left, Rank right) {
    const std::uint64_t memo_hash = PairMemo::hash(left, right);
    bool found;
    const Join known = memo_.find(left, right, memo_hash, found);
    if (found) return known;
    bytes_.assign(vocab_.bytes(left));
    bytes_ += vocab_.bytes(right);
    const auto* b = reinterpret_cast<const unsigned char*>(bytes_.data());
    const Key key = Key::of(b, bytes_.size());
    const Join j = rule_.join(vocab_, left, right, b, key, key.hash());
    memo_.insert(left, right, memo_hash, j);
    return j;
  }

  // The lowest join among the pairs inside and between runs.
  Join lowest() {
    Join best = kNoJoin;
    for (std::size_t i = 0; i < runs_.size(); ++i) {
      if (runs_[i].count >= 2) best = std::min(best, join(runs_[i].token, runs_[i].token));
      if (i + 1 < runs_.size()) best = std::min(best, join(runs_[i].token, runs_[i + 1].token));
    }
    return best;
  }

  // Make every join equal to `j`, leftmost first, and renormalise the runs. False if the
  // part-by-part merge would have done otherwise: inside a run of three or more, the token
  // made stands for a moment beside the next unmerged one, and a join of the two that ranks
  // no later than `j` would be made there first. (Pairs that outlast the round are checked
  // by the caller's next lowest().)
  bool apply(Join j) {
    const Rank made = join_token(j);
    next_.clear();
    auto push = [&](Rank token, std::uint32_t count) {
      if (count == 0) return;
      if (!next_.empty() && next_.back().token == token) {
        next_.back().count += count;
      } else {
        next_.push_back(Run{token, count});
      }
    };
    bool first_taken = false;  // the first part of runs_[i] went into the previous join
    for (std::size_t i = 0; i < runs_.size(); ++i) {
      Run r = runs_[i];
      if (first_taken) --r.count;
      first_taken = false;
      if (r.count >= 2 && join(r.token, r.token) == j) {
        if (r.count >= 3 && join(made, r.token) <= j) return false;
        push(made, r.count / 2);
        push(r.token, r.count % 2);
        continue;
      }
      const bool take_last = r.count >= 1 && i + 1 < runs_.size() &&
                             join(r.token, runs_[i + 1].token) == j;
      push(r.token, take_last ? r.count - 1 : r.count);
      if (take_last) {
        push(made, 1);
        first_taken = true;
      }
    }
    runs_.swap(next_);
    return true;
  }

  const Vocab& vocab_;
  const MergeRule& rule_;
  PairMemo& memo_;
  std::vector<Run> runs_, next_;
  std::string bytes_;
};

}  // namespace

void ShortMerge::begin(const Vocab& vocab, const MergeRule& rule, const unsigned char* p,
                       std::uint32_t n) {
  p_ = p;
  parts_ = n;
  pending_ = 0;
  for (std::uint32_t i = 0; i <= n; ++i) start_[i] = i;
  for (std::uint32_t i = 0; i < n; ++i) token_[i] = vocab.byte_rank(p[i]);
  for (std::uint32_t i = 0; i + 1 < n; ++i) pair_[i] = rule.byte_pair(p[i], p[i + 1]);
}

bool ShortMerge::issue(const Vocab& vocab, const MergeRule& rule, const PairMemo& memo) {
  Join best = kNoJoin;
  std::uint32_t at = 0;
  for (std::uint32_t i = 0; i + 1 < parts_; ++i) {
    if (pair_[i] < best) {
      best = pair_[i];
      at = i;
    }
  }
  if (best == kNoJoin) return false;

  // Join parts `at` and `at + 1`: drop entry at + 1 of every array.
  token_[at] = join_token(best);
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
    const Join join = memo.find(token_[i], token_[i + 1], memo_hash, found);
    if (found) {
      pair_[i] = join;
      return;
    }
    const Key key = Key::of(p_ + start_[i], start_[i + 2] - start_[i]);
    const std::uint64_t hash = key.hash();
    rule.prefetch(vocab, token_[i], token_[i + 1], hash);
    lookups_[pending_++] = Lookup{i, key, hash, memo_hash};
  };
  if (at > 0) ask(at - 1);
  if (at + 1 < parts_) {
    ask(at);
  } else {
    pair_[at] = kNoJoin;
  }
  return true;
}

void ShortMerge::complete(const Vocab& vocab, const MergeRule& rule, PairMemo& memo) {
  for (std::uint32_t k = 0; k < pending_; ++k) {
    const Lookup& l = lookups_[k];
    const Rank left = token_[l.at];
    const Rank right = token_[l.at + 1];
    const Join join = rule.join(vocab, left, right, p_ + start_[l.at], l.key, l.hash);
    memo.insert(left, right, l.memo_hash, join);
    pair_[l.at] = join;
  }
  pending_ = 0;
}

void merge_in_lockstep(const Vocab& vocab, const MergeRule& rule, PairMemo& memo,
                       ShortMerge* merges, std::size_t n) {
  std::size_t active[64];
  std::size_t live = 0;
  for (std::size_t i = 0; i < n; ++i) active[live++] = i;
  while (live > 0) {
    std::size_t kept = 0;
    for (std::size_t k = 0; k < live; ++k) {
      if (merges[active[k]].issue(vocab, rule, memo)) active[kept++] = active[k];
    }
    live = kept;
    for (std::size_t k = 0; k < live; ++k) merges[active[k]].complete(vocab, rule, memo);
  }
}

std::size_t merge_piece_heap(const Vocab& vocab, const MergeRule& rule, const unsigned char* p,
                             std::size_t len, MergeScratch& scratch, std::vector<Rank>* out) {
  const auto n = static_cast<std::uint32_t>(len);
  LongPiece piece(vocab, rule, p, n, scratch);
  std::vector<std::uint64_t>& heap = scratch.heap;
  heap.clear();
  auto push = [&](std::uint32_t pos) {
    if (pos == n || piece.pair(pos) == kNoJoin) return;
    heap.push_back(static_cast<std::uint64_t>(join_priority(piece.pair(pos))) << 32 | pos);
    std::push_heap(heap.begin(), heap.end(), std::greater<>());
  };
  for (std::uint32_t i = 0; i + 1 < n; ++i) push(i);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), std::greater<>());
    const std::uint64_t top = heap.back();
    heap.pop_back();
    const auto pos = static_cast<std::uint32_t>(top);
    const Join join = piece.pair(pos);
    if (join == kNoJoin || join_priority(join) != static_cast<Rank>(top >> 32)) continue;  // stale
    const std::uint32_t before = piece.join(pos);
    push(pos);
    push(before);
  }
  return piece.finish(out);
}

std::size_t merge_piece(const Vocab& vocab, const MergeRule& rule, const unsigned char* p,
                        std::size_t len, MergeScratch& scratch, std::vector<Rank>* out) {
  const auto n = static_cast<std::uint32_t>(len);
  if (len <= kShortPiece) return merge_short(vocab, rule, p, n, scratch.memo, out);
  if (len <= kHeapPiece) return merge_piece_heap(vocab, rule, p, len, scratch, out);
  std::size_t parts;
  if (RunMerge(vocab, rule, scratch.memo).merge(p, n, parts, out)) return parts;
  LongPiece piece(vocab, rule, p, n, scratch);
  if (merge_by_buckets(piece, n, rule.priority_limit(), scratch)) return piece.finish(out);
  return merge_piece_heap(vocab, rule, p, len, scratch, out);
}

}  // namespace tokenomix::bpe
