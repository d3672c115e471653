#include "batch/text.hpp"

#include <atomic>
#include <cstring>

#include "batch/thread_pool.hpp"

namespace tokenomix::batch {

namespace {

constexpr std::size_t kChunkBytes = 256 * 1024;

bool is_printable_ascii(char c) { return c > ' ' && c < 0x7F; }
bool is_ascii_letter(char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }

// See the header: pos is the offset of b in "a\nb" (a, b printable ASCII, b != '/') or of
// the space in "a b" (a, b ASCII letters).
bool is_safe_cut(std::string_view text, std::size_t pos) {
  if (pos < 2 || pos + 1 >= text.size()) return false;
  if (text[pos - 1] == '\n') {
    return is_printable_ascii(text[pos - 2]) && is_printable_ascii(text[pos]) && text[pos] != '/';
  }
  return text[pos] == ' ' && is_ascii_letter(text[pos - 1]) && is_ascii_letter(text[pos + 1]);
}

}  // namespace

std::optional<std::size_t> first_invalid_utf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    // Skip ASCII eight bytes at a time.
    if (i + 8 <= n) {
      std::uint64_t word;
      std::memcpy(&word, p + i, 8);
      if ((word & 0x8080808080808080ull) == 0) {
        i += 8;
        continue;
      }
    }
    const unsigned b = p[i];
    if (b < 0x80) {
      ++i;
      continue;
    }
    // Valid second-byte ranges per lead byte (Unicode Table 3-7).
    std::size_t len;
    unsigned lo = 0x80, hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) {
      len = 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
      len = 3;
      if (b == 0xE0) lo = 0xA0;
      if (b == 0xED) hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      len = 4;
      if (b == 0xF0) lo = 0x90;
      if (b == 0xF4) hi = 0x8F;
    } else {
      return i;
    }
    if (i + len > n || p[i + 1] < lo || p[i + 1] > hi) return i;
    for (std::size_t k = 2; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return i;
    }
    i += len;
  }
  return std::nullopt;
}

std::size_t count_code_points(std::string_view text) {
  std::size_t continuation = 0;
  for (const char c : text) continuation += (static_cast<unsigned char>(c) & 0xC0) == 0x80;
  return text.size() - continuation;
}

std::vector<std::size_t> chunk_bounds(std::string_view text, std::size_t chunk_bytes) {
  std::vector<std::size_t> bounds{0};
  std::size_t target = chunk_bytes;
  while (target < text.size()) {
    std::size_t pos = target;
    while (pos < text.size() && !is_safe_cut(text, pos)) ++pos;
    if (pos >= text.size()) break;
    bounds.push_back(pos);
    target = pos + chunk_bytes;
  }
  bounds.push_back(text.size());
  return bounds;
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    const std::size_t next = end == std::string_view::npos ? text.size() : end + 1;
    if (end == std::string_view::npos) end = text.size();
    if (end > start && text[end - 1] == '\r' && end < text.size()) --end;
    lines.push_back(text.substr(start, end - start));
    start = next;
  }
  return lines;
}

std::size_t count_text(const bpe::Encoder& encoder, std::string_view text, std::size_t threads) {
  if (threads <= 1 || text.size() < 2 * kChunkBytes) return encoder.count(text);
  const std::vector<std::size_t> bounds = chunk_bounds(text, kChunkBytes);
  std::atomic<std::size_t> total{0};
  parallel_for(bounds.size() - 1, threads, [&](std::size_t i) {
    total += encoder.count(text.substr(bounds[i], bounds[i + 1] - bounds[i]));
  });
  return total.load();
}

}  // namespace tokenomix::batch
