#include "batch/batch.hpp"

#include "batch/thread_pool.hpp"

namespace tokenomix::batch {

namespace {

// Boundaries of tasks over the texts: task t covers texts [bounds[t], bounds[t + 1]).
std::vector<std::size_t> task_bounds(const std::vector<std::string_view>& texts) {
  std::vector<std::size_t> bounds{0};
  std::size_t bytes = 0;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    bytes += texts[i].size() + 16;  // a per-text cost, so empty texts still spread out
    if (bytes >= kTaskBytes) {
      bounds.push_back(i + 1);
      bytes = 0;
    }
  }
  if (bounds.back() != texts.size()) bounds.push_back(texts.size());
  return bounds;
}

template <class PerText>
void for_each_text(const std::vector<std::string_view>& texts, std::size_t threads,
                   PerText per_text) {
  const std::vector<std::size_t> bounds = task_bounds(texts);
  parallel_for(bounds.size() - 1, threads, [&](std::size_t task) {
    for (std::size_t i = bounds[task]; i < bounds[task + 1]; ++i) per_text(i);
  });
}

}  // namespace

void count_many(const bpe::Encoder& encoder, const std::vector<std::string_view>& texts,
                std::int64_t* counts, std::size_t threads) {
  for_each_text(texts, threads, [&](std::size_t i) {
    counts[i] = static_cast<std::int64_t>(encoder.count(texts[i]));
  });
}

std::vector<std::vector<bpe::Rank>> encode_many(const bpe::Encoder& encoder,
                                                const std::vector<std::string_view>& texts,
                                                const std::vector<bool>* allowed,
                                                std::size_t threads) {
  std::vector<std::vector<bpe::Rank>> ids(texts.size());
  for_each_text(texts, threads, [&](std::size_t i) {
    if (allowed != nullptr) {
      encoder.encode(texts[i], *allowed, ids[i]);
    } else {
      encoder.encode_ordinary(texts[i], ids[i]);
    }
  });
  return ids;
}

}  // namespace tokenomix::batch
