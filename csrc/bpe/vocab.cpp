#include "vocab.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace tokenomix::bpe {

namespace {

// Value of one base64 character, or -1.
int base64_value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Decode standard base64 with optional '=' padding; false if the text is not base64.
bool decode_base64(std::string_view text, std::string& out) {
  out.clear();
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::uint32_t acc = 0;
  int bits = 0;
  for (const unsigned char c : text) {
    const int v = base64_value(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return bits < 6;
}

// Ranks above this are refused rather than allocated for.

std::invalid_argument bad_line(std::size_t line, const std::string& why) {
  return std::invalid_argument("tiktoken rank file, line " + std::to_string(line) + ": " + why);
}

}  // namespace

Vocab::Vocab(std::vector<std::string> tokens) {
  if (tokens.size() > kRankLimit) {
    throw std::invalid_argument("ranks go up to " + std::to_string(kRankLimit - 1));
  }
  offsets_.reserve(tokens.size() + 1);
  offsets_.push_back(0);
  std::size_t total = 0;
  for (const std::string& t : tokens) total += t.size();
  bytes_.reserve(total);
  for (const std::string& t : tokens) {
    bytes_ += t;
    offsets_.push_back(static_cast<std::uint32_t>(bytes_.size()));
    if (!t.empty()) ++size_;
    max_token_length_ = std::max(max_token_length_, t.size());
  }

  std::size_t capacity = 16;
  while (capacity < 2 * size_) capacity *= 2;
  slots_ = TableMemory<Slot>(capacity, Slot{0, 0, kNoRank});
  mask_ = capacity - 1;
  std::fill(std::begin(byte_ranks_), std::end(byte_ranks_), kNoRank);
  for (Rank r = 0; r < rank_limit(); ++r) {
    if (contains_rank(r)) insert(r);
  }
}

void Vocab::insert(Rank rank) {
  const std::string_view token = bytes(rank);
  const auto* p = reinterpret_cast<const unsigned char*>(token.data());
  if (find(p, token.size()) != kNoRank) {
    throw std::invalid_argument("vocabulary lists the same token twice (ranks " +
                                std::to_string(find(p, token.size())) + " and " +
                                std::to_string(rank) + ")");
  }
  const Key key = Key::of(p, token.size());
  const std::uint64_t hash = key.hash();
  std::uint64_t i = hash & mask_;
  while (slots_[i].meta != 0) i = (i + 1) & mask_;
  slots_[i] = Slot{key.head, meta_of(key, hash), rank};
  if (token.size() == 1) byte_ranks_[p[0]] = rank;
}

Vocab Vocab::from_tiktoken(std::string_view contents) {
  std::vector<std::string> tokens;
  std::string decoded;
  std::size_t line_number = 0;
  while (!contents.empty()) {
    const std::size_t eol = contents.find('\n');
    std::string_view line = contents.substr(0, eol);
    contents.remove_prefix(eol == std::string_view::npos ? contents.size() : eol + 1);
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;

    const std::size_t space = line.find(' ');
    if (space == std::string_view::npos) throw bad_line(line_number, "expected '<base64> <rank>'");
    if (!decode_base64(line.substr(0, space), decoded) || decoded.empty()) {
      throw bad_line(line_number, "token is not non-empty base64");
    }
    std::uint64_t rank = 0;
    const std::string_view digits = line.substr(space + 1);
    if (digits.empty() || digits.size() > 10) throw bad_line(line_number, "rank is not a number");
    for (const char c : digits) {
      if (c < '0' || c > '9') throw bad_line(line_number, "rank is not a number");
      rank = rank * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (rank >= kRankLimit) throw bad_line(line_number, "rank is too large");
    if (rank >= tokens.size()) tokens.resize(rank + 1);
    if (!tokens[rank].empty()) throw bad_line(line_number, "rank appears twice");
    tokens[rank] = decoded;
  }
  return Vocab(std::move(tokens));
}

}  // namespace tokenomix::bpe
