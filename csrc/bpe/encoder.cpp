#include "encoder.hpp"

#include <algorithm>
#include <atomic>
#include <stdexcept>

#include "long_piece_cache.hpp"
#include "piece_cache.hpp"

namespace tokenomix::bpe {

// What one thread keeps for one encoder: the piece cache and the merge state. Both are
// keyed by ranks or pieces of that encoder's vocabulary, so each encoder has its own; a
// thread keeps those of the last few encoders it served, under ids that are never reused.
struct ThreadState {
  PieceCache cache;
  LongPieceCache long_cache;
  MergeScratch scratch;
  ShortMerge merges[16];
  std::vector<Rank> ids;  // the tokens of one long piece
};

namespace {

std::uint64_t next_encoder_id() {
  static std::atomic<std::uint64_t> counter{0};
  return ++counter;
}

ThreadState& thread_state(std::uint64_t encoder_id) {
  constexpr std::size_t kEncodersPerThread = 4;
  thread_local std::vector<std::pair<std::uint64_t, std::unique_ptr<ThreadState>>> states;
  if (!states.empty() && states.front().first == encoder_id) return *states.front().second;
  auto it = std::find_if(states.begin(), states.end(),
                         [&](const auto& s) { return s.first == encoder_id; });
  if (it == states.end()) {
    if (states.size() == kEncodersPerThread) states.pop_back();
    states.emplace_back(encoder_id, std::make_unique<ThreadState>());
    it = states.end() - 1;
  }
  std::rotate(states.begin(), it, it + 1);  // most recently used first
  return *states.front().second;
}

MergeRule make_rule(const Vocab& vocab, const std::vector<std::pair<Rank, Rank>>& merges) {
  return merges.empty() ? MergeRule(vocab) : MergeRule(vocab, merges);
}

}  // namespace

Encoder::Encoder(Vocab vocab, const std::vector<std::pair<Rank, Rank>>& merges,
                 EncoderOptions options, std::vector<std::pair<std::string, Rank>> special_tokens)
    : vocab_(std::move(vocab)),
      rule_(make_rule(vocab_, merges)),
      options_(options),
      specials_(std::move(special_tokens)),
      special_first_byte_(256, 0),
      rank_limit_(vocab_.rank_limit()),
      id_(next_encoder_id()) {
  for (int b = 0; b < 256; ++b) {
    if (vocab_.byte_rank(static_cast<unsigned char>(b)) == kNoRank) {
      throw std::invalid_argument("vocabulary has no token for the byte " + std::to_string(b) +
                                  "; byte-level BPE needs all 256");
    }
  }
  for (const auto& [text, rank] : specials_) {
    if (text.empty()) throw std::invalid_argument("special token is empty");
    if (rank >= kRankLimit) {
      throw std::invalid_argument("special token " + text + " has rank " + std::to_string(rank) +
                                  "; ranks go up to " + std::to_string(kRankLimit - 1));
    }
    if (vocab_.contains_rank(rank)) {
      throw std::invalid_argument("special token " + text + " has rank " + std::to_string(rank) +
                                  ", which the vocabulary already uses");
    }
    special_first_byte_[static_cast<unsigned char>(text[0])] = 1;
    rank_limit_ = std::max(rank_limit_, rank + 1);
  }
  if (!options_.whole_piece_first) {
    // A piece's tokens depend on its bytes alone: a piece spelling a token that its own
    // bytes merge into is that token, and needs no merging.
    merged_whole_.assign(vocab_.rank_limit(), 0);
    MergeScratch scratch;
    for (Rank rank = 0; rank < vocab_.rank_limit(); ++rank) {
      if (!vocab_.contains_rank(rank)) continue;
      const std::string_view bytes = vocab_.bytes(rank);
      const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
      merged_whole_[rank] = merge_piece(vocab_, rule_, p, bytes.size(), scratch, nullptr) == 1;
    }
  }
}

namespace {

// A scanner over piece ends given by the caller (see Encoder::count_split).
class GivenPieces {
 public:
  GivenPieces(std::string_view text, const std::vector<std::size_t>& bounds)
      : base_(reinterpret_cast<const unsigned char*>(text.data())), bounds_(bounds) {
    std::size_t last = 0;
    for (const std::size_t b : bounds) {
      if (b <= last || b > text.size()) {
        throw std::invalid_argument("piece bounds must increase and stay within the text");
      }
      last = b;
    }
    if (last != text.size()) throw std::invalid_argument("piece bounds must end at the text's end");
  }
  const unsigned char* operator()(const unsigned char*, const unsigned char*) {
    return base_ + bounds_[next_++];
  }

 private:
  const unsigned char* base_;
  const std::vector<std::size_t>& bounds_;
  std::size_t next_ = 0;
};

}  // namespace

void Encoder::require_scanner() const {
  if (options_.pattern == Pattern::kNone) {
    throw std::invalid_argument(
        "this encoder's split pattern has no built-in scanner: split the text first");
  }
}

std::size_t Encoder::count(std::string_view text) const {
  require_scanner();
  return with_scanner(options_.pattern,
                      [&](auto next_piece) { return count_pieces(next_piece, text); });
}

void Encoder::encode_ordinary(std::string_view text, std::vector<Rank>& out) const {
  require_scanner();
  with_scanner(options_.pattern,
               [&](auto next_piece) { encode_pieces(next_piece, text, out); });
}

std::size_t Encoder::count_split(std::string_view text,
                                 const std::vector<std::size_t>& bounds) const {
  return count_pieces(GivenPieces(text, bounds), text);
}

void Encoder::encode_split(std::string_view text, const std::vector<std::size_t>& bounds,
                           std::vector<Rank>& out) const {
  encode_pieces(GivenPieces(text, bounds), text, out);
}

// Encoding looks each piece up in its cache (the piece cache up to 16 bytes, the long-piece
// cache beyond), then in the vocabulary as a whole (when the rule makes the whole piece that
// token), and merges it otherwise.
template <class NextPiece>
void Encoder::encode_pieces(NextPiece next_piece, std::string_view text,
                            std::vector<Rank>& out) const {
  ThreadState& state = thread_state(id_);
  PieceCache& cache = state.cache;
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    const unsigned char* b = p;
    p = next_piece(p, end);
    const auto len = static_cast<std::size_t>(p - b);
    if (len == 1) {
      out.push_back(vocab_.byte_rank(*b));
      continue;
    }
    if (len > PieceCache::kMaxPiece) {
      const std::vector<Rank>& ids = long_piece(b, len, state);
      out.insert(out.end(), ids.begin(), ids.end());
      continue;
    }
    const Key key = Key::of(b, len);
    const std::uint64_t hash = key.hash();
    const PieceCache::Entry* hit = cache.find(key, hash);
    if (hit != nullptr && hit->count <= PieceCache::kMaxIds && hit->ids[0] != kNoRank) {
      out.insert(out.end(), hit->ids, hit->ids + hit->count);
      continue;
    }
    Rank rank = whole_token(b, key, hash);
    if (rank != kNoRank) {
      cache.insert(key, hash, 1, &rank);
      out.push_back(rank);
      continue;
    }
    const std::size_t first = out.size();
    const std::size_t n = merge_piece(vocab_, rule_, b, len, state.scratch, &out);
    cache.insert(key, hash, n, out.data() + first);
  }
}

// Counting keeps the pieces that miss the piece cache waiting, up to kWaiting of them, then
// resolves them together: the vocabulary slots of all were prefetched as they arrived, and
// the ones that need merging are merged in lockstep, so that their lookups overlap instead
// of paying one cache miss after another. Pieces over kShortPiece bytes are resolved at once
// (long_piece), from the long-piece cache or by the long merges.
template <class NextPiece>
std::size_t Encoder::count_pieces(NextPiece next_piece, std::string_view text) const {
  constexpr std::size_t kWaiting = 16;
  struct Waiting {
    const unsigned char* begin;
    std::uint32_t len;
    Key key;
    std::uint64_t hash;
    std::uint64_t long_hash;  // LongPieceCache's, for pieces too long for the piece cache
  };
  ThreadState& state = thread_state(id_);
  PieceCache& cache = state.cache;
  ShortMerge* merges = state.merges;
  Waiting waiting[kWaiting];
  std::size_t waiting_count = 0;
  std::size_t total = 0;

  auto resolve_waiting = [&] {
    std::size_t merge_of[kWaiting];
    std::size_t merge_count = 0;
    for (std::size_t i = 0; i < waiting_count; ++i) {
      const Waiting& w = waiting[i];
      Rank rank = whole_token(w.begin, w.key, w.hash);
      if (rank != kNoRank) {
        ++total;
        if (w.len <= PieceCache::kMaxPiece) {
          cache.insert(w.key, w.hash, 1, &rank);
        } else {
          state.long_cache.insert(w.begin, w.len, w.long_hash, &rank, 1);
        }
        merge_of[i] = kWaiting;
        continue;
      }
      merges[merge_count].begin(vocab_, rule_, w.begin, w.len);
      merge_of[i] = merge_count++;
    }
    merge_in_lockstep(vocab_, rule_, state.scratch.memo, merges, merge_count);
    for (std::size_t i = 0; i < waiting_count; ++i) {
      if (merge_of[i] == kWaiting) continue;
      const ShortMerge& m = merges[merge_of[i]];
      const Waiting& w = waiting[i];
      total += m.parts();
      if (w.len <= PieceCache::kMaxPiece) {
        cache.insert(w.key, w.hash, m.parts(), m.tokens());
      } else {
        state.long_cache.insert(w.begin, w.len, w.long_hash, m.tokens(), m.parts());
      }
    }
    waiting_count = 0;
  };

  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    const unsigned char* b = p;
    p = next_piece(p, end);
    const auto len = static_cast<std::size_t>(p - b);
    if (len == 1) {
      ++total;
      continue;
    }
    if (len > kShortPiece) {
      total += long_piece(b, len, state).size();
      continue;
    }
    const Key key = Key::of(b, len);
    const std::uint64_t hash = key.hash();
    std::uint64_t long_hash = 0;
    if (len <= PieceCache::kMaxPiece) {
      if (const PieceCache::Entry* hit = cache.find(key, hash)) {
        total += hit->count;
        continue;
      }
    } else {
      long_hash = LongPieceCache::hash(b, len);
      if (const LongPieceCache::Entry* hit = state.long_cache.find(b, len, long_hash)) {
        total += hit->ids.size();
        continue;
      }
    }
    vocab_.prefetch(hash);
    waiting[waiting_count++] = Waiting{b, static_cast<std::uint32_t>(len), key, hash, long_hash};
    if (waiting_count == kWaiting) resolve_waiting();
  }
  resolve_waiting();
  return total;
}

const std::vector<Rank>& Encoder::long_piece(const unsigned char* p, std::size_t len,
                                              ThreadState& state) const {
  const std::uint64_t hash = LongPieceCache::hash(p, len);
  if (const LongPieceCache::Entry* hit = state.long_cache.find(p, len, hash)) return hit->ids;
  state.ids.clear();
  const Key key = Key::of(p, len);
  const Rank rank = whole_token(p, key, key.hash());
  if (rank != kNoRank) {
    state.ids.push_back(rank);
  } else {
    merge_piece(vocab_, rule_, p, len, state.scratch, &state.ids);
  }
  state.long_cache.insert(p, len, hash, state.ids.data(), state.ids.size());
  return state.ids;
}

void Encoder::encode(std::string_view text, const std::vector<bool>& allowed,
                     std::vector<Rank>& out) const {
  std::size_t start = 0;
  while (true) {
    const std::optional<SpecialMatch> match = find_special(text, start, allowed);
    const std::size_t end = match ? match->begin : text.size();
    encode_ordinary(text.substr(start, end - start), out);
    if (!match) return;
    out.push_back(specials_[match->index].second);
    start = match->end;
  }
}

std::optional<SpecialMatch> Encoder::find_special(std::string_view text, std::size_t from,
                                                  const std::vector<bool>& only) const {
  if (only.size() != specials_.size()) {
    throw std::invalid_argument("special-token mask has the wrong length");
  }
  for (std::size_t pos = from; pos < text.size(); ++pos) {
    if (!special_first_byte_[static_cast<unsigned char>(text[pos])]) continue;
    std::optional<SpecialMatch> best;
    for (std::size_t i = 0; i < specials_.size(); ++i) {
      const std::string& s = specials_[i].first;
      if (!only[i] || text.compare(pos, s.size(), s) != 0) continue;
      if (!best || s.size() > best->end - best->begin) best = SpecialMatch{i, pos, pos + s.size()};
    }
    if (best) return best;
  }
  return std::nullopt;
}

void Encoder::append_bytes(Rank rank, std::string& out) const {
  if (vocab_.contains_rank(rank)) {
    out += vocab_.bytes(rank);
    return;
  }
  for (const auto& [text, special_rank] : specials_) {
    if (special_rank == rank) {
      out += text;
      return;
    }
  }
  throw UnknownToken(rank);
}

}  // namespace tokenomix::bpe
