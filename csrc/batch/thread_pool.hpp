// A persistent pool of worker threads that runs one parallel loop at a time.
//
// The pool starts its threads on first use and keeps them, so a batch call costs a wake-up,
// not a thread start. It survives fork(): the child, which inherits none of the threads,
// drops the parent's pool (without touching its mutexes or threads) and builds a new one on
// its next call.
#pragma once

#include <cstddef>
#include <functional>

namespace tokenomix::batch {

// Number of hardware threads, at least 1.
std::size_t hardware_threads();

// Call body(i) for every i in [0, n), on at most `threads` threads (the caller's included),
// handing out indices in order as threads come free. Returns when every call has returned;
// if any threw, rethrows the first exception. Calls from several threads take turns.
void parallel_for(std::size_t n, std::size_t threads, const std::function<void(std::size_t)>& body);

}  // namespace tokenomix::batch
