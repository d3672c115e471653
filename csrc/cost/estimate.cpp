// The fused per-request loop of the cost estimate.
//
// Design notes. Each request reads three counts and writes eight numbers, with a branch-light
// body of closed-form sums (series.hpp): no per-token or per-layer loop. The decode time is
// the sum over steps of max(compute time, memory time); both grow linearly with the keys
// attended, with one bend at the sliding window, so it splits into at most two segments of
// two straight lines each. A per-step loop gives the same numbers (the Python reference in
// tests/cost_reference.py is exactly that loop) but costs O(output tokens) per request.
//
// Everything that depends on the model only (reciprocals of the rates, the lines of a decode
// step and where they cross) is derived once per batch in a Plan. Computing the crossing per
// request, with two divisions more, ran at 38 M requests/s; the Plan at 51 M (one core of the
// 2-core Xeon development VM, 1M requests of Llama-3.1-8B on an H100, outputs allocated).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "batch/thread_pool.hpp"
#include "cost/cost.hpp"
#include "cost/series.hpp"

namespace tokenomix::cost {

namespace {

using detail::sum_range;
using detail::window_pairs;

// Counts above this are rejected: 2^40 tokens keeps every product of a count with a per-token
// byte figure inside int64 (KV bytes per token stay far below 2^23).
constexpr std::int64_t kMaxTokens = std::int64_t{1} << 40;

// Requests per task on the thread pool: large enough that scheduling costs nothing.
constexpr std::size_t kTaskRequests = std::size_t{1} << 16;

[[noreturn]] void reject(const char* array, std::size_t i, std::int64_t value, const char* why) {
  throw std::invalid_argument(std::string(array) + "[" + std::to_string(i) + "] is " +
                              std::to_string(value) + ": " + why);
}

void check(const Requests& r, std::size_t i, std::int64_t n, std::int64_t c, std::int64_t m) {
  if (n < 0) reject("input_tokens", i, n, "token counts must be non-negative");
  if (m < 0) reject("output_tokens", i, m, "token counts must be non-negative");
  if (n > kMaxTokens) reject("input_tokens", i, n, "more than 2**40 tokens");
  if (m > kMaxTokens) reject("output_tokens", i, m, "more than 2**40 tokens");
  if (r.cached == nullptr) return;
  if (c < 0) reject("cached_tokens", i, c, "token counts must be non-negative");
  if (c > n) {
    reject("cached_tokens", i, c,
           ("more cached tokens than input tokens (" + std::to_string(n) + ")").c_str());
  }
}

// Shapes of one request that every quantity below shares.
struct Shape {
  double input;     // n
  double computed;  // c': prefix-cache hits that prefill skips
  double prefill;   // n - c': positions prefill computes
  double steps;     // decode steps, max(m - 1, 0)
};

// What the loop needs of a CostModel, derived once per batch: no division inside the loop.
struct Plan {
  explicit Plan(const CostModel& cm)
      : cm(cm),
        window(cm.window > 0 ? static_cast<double>(cm.window) : HUGE_VAL),
        per_token(cm.linear_flops_per_token + cm.lm_head_flops),
        kv_full(static_cast<double>(cm.kv_bytes_per_token_full)),
        kv_window(static_cast<double>(cm.kv_bytes_per_token_window)),
        seconds_per_flop(1 / cm.flops_per_second),
        seconds_per_byte(1 / cm.bytes_per_second),
        step_weights_per_sequence(cm.decode_step_weight_bytes / cm.decode_batch_size),
        // The batch's step: batch x one sequence's FLOPs; the weights once plus batch x its
        // KV. Below the window min(x, w) = x, above it min(x, w) = w.
        below_window(step_line(cm, per_token,
                               cm.decode_pair_flops_full + cm.decode_pair_flops_window, 0,
                               kv_full + kv_window)),
        above_window(step_line(cm, per_token + cm.decode_pair_flops_window * window,
                               cm.decode_pair_flops_full, cm.decode_batch_size * kv_window * window,
                               kv_full)) {}

  // Compute and memory seconds of a decode step over x keys: a0 + a1 x and b0 + b1 x.
  static detail::MaxOfLines step_line(const CostModel& cm, double flops0, double flops1,
                                      double extra_bytes0, double kv1) {
    if (!std::isfinite(flops0)) return {0, 0, 0, 0};  // no window: segment 2 is empty
    const double compute = cm.decode_batch_size / cm.flops_per_second;
    const double memory = 1 / cm.bytes_per_second;
    return {flops0 * compute, flops1 * compute,
            (cm.decode_step_weight_bytes + extra_bytes0) * memory,
            cm.decode_batch_size * kv1 * memory};
  }

  const CostModel& cm;
  double window;  // w, or +inf without window layers
  double per_token;
  double kv_full;
  double kv_window;
  double seconds_per_flop;
  double seconds_per_byte;
  double step_weights_per_sequence;
  detail::MaxOfLines below_window;
  detail::MaxOfLines above_window;
};

void prefill(const Plan& plan, const Shape& s, double& flops, double& bytes, double& seconds) {
  const CostModel& cm = plan.cm;
  if (s.prefill <= 0) {
    flops = bytes = seconds = 0;
    return;
  }
  // Queries at positions c'..n-1 attend over keys x = c'+1..n.
  const double pairs_full = sum_range(s.computed + 1, s.input);
  const double pairs_window =
      window_pairs(s.input, plan.window) - window_pairs(s.computed, plan.window);
  flops = s.prefill * cm.linear_flops_per_token + cm.lm_head_flops +
          s.computed * cm.cached_token_flops + pairs_full * cm.prefill_pair_flops_full +
          pairs_window * cm.prefill_pair_flops_window;

  // Weights once (each routed expert if any of the p tokens picks it), the new tokens' KV
  // written, the cached prefix's KV read.
  double weights = cm.prefill_weight_bytes;
  if (cm.log_expert_miss != 0) {
    weights += cm.routed_expert_bytes * -std::expm1(s.prefill * cm.log_expert_miss);
  }
  bytes = weights + s.prefill * (plan.kv_full + plan.kv_window) + s.computed * plan.kv_full +
          std::min(s.computed, plan.window) * plan.kv_window;
  seconds = std::max(flops * plan.seconds_per_flop, bytes * plan.seconds_per_byte);
}

// Decode steps 0..m-2. Time per step is max(compute, memory), each a straight line in the
// keys x below the window and another above it.
void decode(const Plan& plan, const Shape& s, double& flops, double& bytes, double& seconds) {
  const CostModel& cm = plan.cm;
  if (s.steps <= 0) {
    flops = bytes = seconds = 0;
    return;
  }
  // Step k feeds position n + k and attends over x = n + k + 1 keys.
  const double lo = s.input + 1;
  const double hi = s.input + s.steps;
  const double keys_full = sum_range(lo, hi);
  const double keys_window = window_pairs(hi, plan.window) - window_pairs(lo - 1, plan.window);
  flops = s.steps * plan.per_token + keys_full * cm.decode_pair_flops_full +
          keys_window * cm.decode_pair_flops_window;
  bytes = s.steps * plan.step_weights_per_sequence + keys_full * plan.kv_full +
          keys_window * plan.kv_window;
  seconds = plan.below_window.sum(lo, std::min(hi, plan.window));
  if (hi > plan.window) seconds += plan.above_window.sum(std::max(lo, plan.window + 1), hi);
}

}  // namespace

void estimate_range(const CostModel& cm, const Requests& r, const Estimates& out, std::size_t begin,
                    std::size_t end) {
  const Plan plan(cm);
  for (std::size_t i = begin; i < end; ++i) {
    const std::int64_t n = r.input[i];
    const std::int64_t m = r.output[i];
    const std::int64_t c = r.cached != nullptr ? r.cached[i] : 0;
    check(r, i, n, c, m);
    const std::int64_t computed = n > 0 ? std::min(c, n - 1) : 0;
    const Shape s{static_cast<double>(n), static_cast<double>(computed),
                  static_cast<double>(n - computed), static_cast<double>(m > 0 ? m - 1 : 0)};

    prefill(plan, s, out.prefill_flops[i], out.prefill_bytes[i], out.prefill_seconds[i]);
    decode(plan, s, out.decode_flops[i], out.decode_bytes[i], out.decode_seconds[i]);
    const std::int64_t length = n + m;
    out.kv_cache_bytes[i] =
        cm.kv_bytes_per_token_full * length +
        cm.kv_bytes_per_token_window * (cm.window > 0 ? std::min(length, cm.window) : length);
    if (cm.has_prices && out.cost_usd != nullptr) {
      out.cost_usd[i] = static_cast<double>(n - c) * cm.usd_per_input_token +
                        static_cast<double>(c) * cm.usd_per_cached_input_token +
                        static_cast<double>(m) * cm.usd_per_output_token;
    }
  }
}

void estimate(const CostModel& cm, const Requests& r, const Estimates& out, std::size_t threads) {
  const std::size_t tasks = (r.size + kTaskRequests - 1) / kTaskRequests;
  if (threads <= 1 || tasks <= 1) {
    estimate_range(cm, r, out, 0, r.size);
    return;
  }
  batch::parallel_for(tasks, threads, [&](std::size_t task) {
    const std::size_t begin = task * kTaskRequests;
    estimate_range(cm, r, out, begin, std::min(r.size, begin + kTaskRequests));
  });
}

}  // namespace tokenomix::cost
