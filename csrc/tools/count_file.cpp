// Count the tokens of files with a tiktoken rank file, outside Python: a driver for
// profilers (perf, valgrind --tool=callgrind) and a smoke test of the engine alone.
//
//   count_file RANKS.tiktoken {r50k|cl100k|o200k} REPEAT FILE...
//
// With TOKENOMIX_SPLIT_ONLY set, only the pre-tokenizer runs, and pieces are counted.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "bpe/encoder.hpp"

namespace {

// The timed passes, kept out of line so that a profiler can count them alone
// (valgrind --tool=callgrind --toggle-collect='*run_passes*').
[[gnu::noinline]] std::size_t run_passes(const tokenomix::bpe::Encoder& encoder,
                                         const std::vector<std::string>& texts, bool split_only) {
  using namespace tokenomix::bpe;
  std::size_t tokens = 0;
  for (const std::string& text : texts) {
    if (split_only) {
      for_each_piece(encoder.options().pattern, text,
                     [&](const unsigned char*, const unsigned char*) { ++tokens; });
    } else {
      tokens += encoder.count(text);
    }
  }
  return tokens;
}

std::string read_file(const char* path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace tokenomix::bpe;
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s RANKS {r50k|cl100k|o200k} REPEAT FILE...\n", argv[0]);
    return 2;
  }
  const std::string pattern = argv[2];
  const Pattern p = pattern == "r50k" ? Pattern::kR50k
                    : pattern == "cl100k" ? Pattern::kCl100k : Pattern::kO200k;
  const Encoder encoder(Vocab::from_tiktoken(read_file(argv[1])), {}, EncoderOptions{p}, {});
  const int repeat = std::atoi(argv[3]);
  std::string text;
  for (int i = 4; i < argc; ++i) text += read_file(argv[i]);

  // Warm the tables on the reversed text (other pieces), then time fresh text: `repeat`
  // rotations of it, so that no run sees the same piece boundaries twice.
  encoder.count(std::string(text.rbegin(), text.rend()));
  std::vector<std::string> rotations;
  for (int r = 0; r < repeat; ++r) {
    rotations.push_back(text);
    std::rotate(text.begin(), text.begin() + text.size() / 7, text.end());
  }
  const bool split_only = std::getenv("TOKENOMIX_SPLIT_ONLY") != nullptr;
  const auto start = std::chrono::steady_clock::now();
  const std::size_t tokens = run_passes(encoder, rotations, split_only);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%zu tokens, %.1f MB/s\n", tokens / static_cast<std::size_t>(repeat),
              static_cast<double>(text.size()) * repeat / seconds / 1e6);
  return 0;
}
