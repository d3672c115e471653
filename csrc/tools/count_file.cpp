// Count the tokens of files with a tiktoken rank file, outside Python: a driver for
// profilers (perf, valgrind --tool=callgrind) and a smoke test of the engine alone.
//
//   count_file RANKS.tiktoken {r50k|cl100k|o200k} REPEAT FILE...
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "bpe/encoder.hpp"

namespace {

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
  const Encoder encoder(Vocab::from_tiktoken(read_file(argv[1])), p, {});
  const int repeat = std::atoi(argv[3]);
  std::string text;
  for (int i = 4; i < argc; ++i) text += read_file(argv[i]);

  const auto start = std::chrono::steady_clock::now();
  std::size_t tokens = 0;
  for (int r = 0; r < repeat; ++r) tokens += encoder.count(text);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%zu tokens, %.1f MB/s\n", tokens / repeat,
              static_cast<double>(text.size()) * repeat / seconds / 1e6);
  return 0;
}
