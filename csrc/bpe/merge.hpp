// Byte-pair merging of one piece: repeatedly join the adjacent pair of lowest priority (see
// merge_rule.hpp), the leftmost on ties, until no adjacent pair joins. With tiktoken's rule
// this is its byte_pair_merge, with a merge list that of Hugging Face `tokenizers`; the
// results are identical, only the cost differs.
//
// Design notes. Numbers are single-thread, o200k_base, on the 2-core Xeon of BENCHMARKS.md,
// from csrc/tools/count_file (wall time, best of several runs on a shared machine).
// - Short pieces (up to kShortPiece bytes, the great majority) keep their parts in arrays
//   and scan for the lowest pair, O(n^2) with tiny constants, as tiktoken does. With 128
//   bytes allowed, the scan made a run of 40 CJK characters cost ~15 us; at 32, pieces above
//   take a binary heap keyed by (priority, position) and multilingual text (UDHR in 14
//   languages) went from ~15 to ~27 MB/s.
// - Long pieces (from kHeapPiece bytes) would make even the heap slow on a megabyte of one
//   character, so first they are tried as runs of equal tokens (RunMerge, merge.cpp): a
//   megabyte of spaces or of one letter is one run, merged in a few rounds; ~1.2 ms instead
//   of ~28 ms with the buckets. Pieces of more than 64 runs use priority buckets: every pair
//   waits in the bucket of its priority and buckets are emptied in order, each left to right.
//   Runs and buckets are exact as long as no join creates a pair of lower or equal priority
//   than the one being joined (true of real BPE vocabularies, where a token ranks after its
//   parts); the first join that breaks this sends the piece to the heap, exact for any rule.
// - Counting never builds the id list: the count is the number of parts left.
// - A piece seen for the first time costs a chain of dependent lookups, each a likely cache
//   miss in a large table: ~0.1 us for a piece that is one token, ~0.7 us with a merge,
//   against ~20 ns for a piece in the piece cache. The pair memo (pair_memo.hpp) answers
//   about half of the joins. ShortMerge is the short merge as a state machine, so that
//   count() merges up to 16 new pieces in lockstep, their lookups overlapping
//   (merge_in_lockstep): 5-14% faster on text seen for the first time (base64, prose,
//   Markdown) than one piece after another. Prefetching the memo's slots as well gave
//   nothing measurable and was dropped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "merge_rule.hpp"
#include "pair_memo.hpp"
#include "vocab.hpp"

namespace tokenomix::bpe {

// Pieces of at most kShortPiece bytes take the stack-array path, whose scan for the lowest
// pair made 128-byte pieces (a run of 40 CJK characters) cost 15 us each; up to kHeapPiece
// bytes the heap, beyond it the buckets.
inline constexpr std::size_t kShortPiece = 32;
inline constexpr std::size_t kHeapPiece = 4096;

// The merge of one short piece, one join at a time. After begin(), call issue() and then
// complete() until issue() returns false; tokens() then holds the result.
class ShortMerge {
 public:
  void begin(const Vocab& vocab, const MergeRule& rule, const unsigned char* p, std::uint32_t n);

  // Join the pair of lowest priority and ask for the joins of the (up to two) pairs this
  // creates: from the memo at once, or with their first probe prefetched for complete().
  // False, doing nothing, when no pair joins.
  bool issue(const Vocab& vocab, const MergeRule& rule, const PairMemo& memo);

  // Finish the lookups issue() left pending.
  void complete(const Vocab& vocab, const MergeRule& rule, PairMemo& memo);

  std::uint32_t parts() const { return parts_; }
  const Rank* tokens() const { return token_; }

 private:
  struct Lookup {
    std::uint32_t at;
    Key key;
    std::uint64_t hash;
    std::uint64_t memo_hash;
  };

  const unsigned char* p_ = nullptr;
  std::uint32_t parts_ = 0;
  std::uint32_t pending_ = 0;
  Lookup lookups_[2];
  // Part i spans [start_[i], start_[i + 1]) and is the token token_[i]; pair_[i] is the join
  // of parts i and i + 1.
  std::uint32_t start_[kShortPiece + 1];
  Rank token_[kShortPiece + 1];
  Join pair_[kShortPiece + 1];
};

// Run issue()/complete() rounds over `n` (at most 64) started merges until all are done.
void merge_in_lockstep(const Vocab& vocab, const MergeRule& rule, PairMemo& memo,
                       ShortMerge* merges, std::size_t n);

// State one thread keeps across the pieces it merges with one vocabulary: the pair memo, and
// buffers for long pieces.
struct MergeScratch {
  PairMemo memo;
  std::vector<std::uint32_t> next, prev;
  std::vector<Join> pair;
  std::vector<Rank> token;
  std::vector<std::uint64_t> heap;
  std::vector<std::uint32_t> bucket_of_priority;  // index into buckets, or kNoBucket
  std::vector<std::vector<std::uint32_t>> buckets;
  std::vector<Rank> bucket_priorities;  // min-heap of priorities whose bucket is waiting
  std::vector<Rank> used_priorities;    // priorities given a bucket by the current piece
};

// Merge the piece [p, p + len) (len >= 1) into tokens; return their number and, when `out` is
// given, append their ids. Precondition: every byte is a token of `vocab`.
std::size_t merge_piece(const Vocab& vocab, const MergeRule& rule, const unsigned char* p,
                        std::size_t len, MergeScratch& scratch, std::vector<Rank>* out);

// The same merge by the heap alone: the slow, exact path, kept public for tests.
std::size_t merge_piece_heap(const Vocab& vocab, const MergeRule& rule, const unsigned char* p,
                             std::size_t len, MergeScratch& scratch, std::vector<Rank>* out);

}  // namespace tokenomix::bpe
