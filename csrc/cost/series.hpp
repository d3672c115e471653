// Closed forms of the sums over token positions that the estimate needs, so that a request of
// a million output tokens costs as much as one of ten.
//
// Keys are counted from 1: the query at 0-based position t attends over x = t + 1 keys on a
// full-attention layer and over min(x, w) keys on a layer with a sliding window of w tokens.
//
// Worked example (checked in tests/test_cost_estimate.py through the public estimate): a
// window of w = 4, positions 0..5, so x = 1..6 and min(x, 4) = 1 2 3 4 4 4, whose sum
// window_pairs(6, 4) = 4 * 5 / 2 + (6 - 4) * 4 = 18.
#pragma once

#include <algorithm>
#include <cmath>

namespace tokenomix::cost::detail {

// Sum of the integers x in [lo, hi]; 0 when the range is empty.
inline double sum_range(double lo, double hi) {
  const double count = hi - lo + 1;
  return count > 0 ? (lo + hi) * count / 2 : 0;
}

// Sum of min(x, w) for x in [1, n]: the (query, key) pairs of the first n positions of a
// window-w layer. n <= 0 gives 0.
inline double window_pairs(double n, double w) {
  if (n <= 0) return 0;
  if (n <= w) return n * (n + 1) / 2;
  return w * (w + 1) / 2 + (n - w) * w;
}

// Sums over ranges of integers x of max(a0 + a1 x, b0 + b1 x), for lines fixed once.
//
// max(a, b) = b + max(a - b, 0), and a - b = e0 + s x is positive on one side of its root
// -e0 / s only: above `from_` when s > 0, below `to_` when s < 0. The boundary is found once
// per pair of lines, so a sum costs a few multiplications and no division. Near the root
// a - b is close to 0, so placing a boundary point on the wrong side changes the sum by about
// one rounding error.
class MaxOfLines {
 public:
  MaxOfLines(double a0, double a1, double b0, double b1)
      : b0_(b0), b1_(b1), e0_(a0 - b0), s_(a1 - b1) {
    const double root = s_ != 0 ? -e0_ / s_ : 0;
    if (s_ > 0) from_ = std::floor(root) + 1;
    if (s_ < 0) to_ = std::ceil(root) - 1;
  }

  // The sum over the integers x in [lo, hi]; 0 when the range is empty.
  double sum(double lo, double hi) const {
    if (hi < lo) return 0;
    const double count = hi - lo + 1;
    const double base = b0_ * count + b1_ * sum_range(lo, hi);
    if (s_ == 0) return base + count * std::max(e0_, 0.0);
    const double from = std::max(lo, from_);
    const double to = std::min(hi, to_);
    if (to < from) return base;
    return base + e0_ * (to - from + 1) + s_ * sum_range(from, to);
  }

 private:
  double b0_, b1_, e0_, s_;
  double from_ = -HUGE_VAL;
  double to_ = HUGE_VAL;
};

}  // namespace tokenomix::cost::detail
