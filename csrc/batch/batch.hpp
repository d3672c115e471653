// Counting and encoding many texts at once on the thread pool.
//
// Texts are handed out in tasks of roughly kTaskBytes, several small texts to a task, so that
// a million short log lines cost a few thousand scheduling steps, not a million.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "bpe/encoder.hpp"

namespace tokenomix::batch {

inline constexpr std::size_t kTaskBytes = 64 * 1024;

// counts[i] = encoder.count(texts[i]), on up to `threads` threads.
void count_many(const bpe::Encoder& encoder, const std::vector<std::string_view>& texts,
                std::int64_t* counts, std::size_t threads);

// The ids of every text; with `allowed` (one flag per special token), special tokens are
// recognised as in Encoder::encode, otherwise the texts are read as ordinary text.
std::vector<std::vector<bpe::Rank>> encode_many(const bpe::Encoder& encoder,
                                                const std::vector<std::string_view>& texts,
                                                const std::vector<bool>* allowed,
                                                std::size_t threads);

}  // namespace tokenomix::batch
