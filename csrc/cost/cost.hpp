// Batched cost estimate of LLM requests: FLOPs, KV-cache bytes, bytes moved, roofline time and
// dollars, for millions of requests in one pass over arrays of token counts.
//
// The caller (the Python package) reduces a model, a GPU and the serving options to the
// per-token constants of a `CostModel`; this file only loops. Every constant is documented
// where the Python side derives it (python/tokenomix/cost/estimate.py), with its source.
//
// Conventions, for request i with n = input_tokens[i], c = cached_tokens[i], m =
// output_tokens[i]:
// - Prefill computes the input tokens that are not served from the prefix cache. As in vLLM
//   (vllm/v1/core/kv_cache_manager.py, get_computed_blocks), at least the last input token
//   is recomputed to obtain its logits, so the computed prefix is min(c, n - 1) when n > 0.
// - Prefill samples the first output token; each further output token costs one decode step.
//   Decode step s (0-based) feeds the token at position n + s and attends over n + s + 1
//   keys (fewer on a sliding-window layer).
// - The KV cache at the end holds the whole sequence, n + m tokens, as vLLM sizes it
//   (a sliding-window layer keeps at most its window).
#pragma once

#include <cstddef>
#include <cstdint>

namespace tokenomix::cost {

// Per-token constants of one model on one GPU type under one set of serving options.
// Attention terms are summed over the layers of each kind: full layers attend over every
// earlier token, window layers over the last `window` tokens only.
struct CostModel {
  // FLOPs per token of the weight matmuls (active experts only), lm_head excluded.
  double linear_flops_per_token = 0;
  // FLOPs of the lm_head for one position.
  double lm_head_flops = 0;
  // FLOPs per prefix-cached token that prefill must still spend on it (MLA up-projects the
  // cached latent); 0 for other attention kinds.
  double cached_token_flops = 0;
  // Attention FLOPs per (query, key) pair in prefill and in decode, by layer kind.
  double prefill_pair_flops_full = 0;
  double prefill_pair_flops_window = 0;
  double decode_pair_flops_full = 0;
  double decode_pair_flops_window = 0;
  // Sliding window in tokens; 0 when the model has no window layer.
  std::int64_t window = 0;
  // KV-cache bytes per token, summed over the layers of each kind and over the GPUs of one
  // tensor-parallel group.
  std::int64_t kv_bytes_per_token_full = 0;
  std::int64_t kv_bytes_per_token_window = 0;
  // Weight bytes read by a prefill pass that touches no routed expert, the bytes of all routed
  // experts, and ln(1 - k / E): a prefill of p tokens reads each routed expert with
  // probability 1 - exp(p * log_expert_miss) under uniform routing.
  double prefill_weight_bytes = 0;
  double routed_expert_bytes = 0;
  double log_expert_miss = 0;
  // Weight bytes read by one decode step of the whole batch.
  double decode_step_weight_bytes = 0;
  // Sequences decoded together; each step's weights are shared by all of them.
  double decode_batch_size = 1;
  // Achieved FLOP/s and bytes/s of the tensor-parallel group (peak x efficiency x GPUs).
  double flops_per_second = 1;
  double bytes_per_second = 1;
  // Dollars per token; `has_prices` false leaves cost_usd untouched.
  bool has_prices = false;
  double usd_per_input_token = 0;
  double usd_per_cached_input_token = 0;
  double usd_per_output_token = 0;
};

// Token counts of a batch of requests; `cached` may be null (no prefix-cache hits).
struct Requests {
  const std::int64_t* input = nullptr;
  const std::int64_t* cached = nullptr;
  const std::int64_t* output = nullptr;
  std::size_t size = 0;
};

// One output array per quantity, each of Requests::size elements; `cost_usd` may be null.
struct Estimates {
  double* prefill_flops = nullptr;
  double* decode_flops = nullptr;
  std::int64_t* kv_cache_bytes = nullptr;
  double* prefill_bytes = nullptr;
  double* decode_bytes = nullptr;
  double* prefill_seconds = nullptr;
  double* decode_seconds = nullptr;
  double* cost_usd = nullptr;
};

// Fill `out` for every request, on up to `threads` threads. Throws std::invalid_argument
// naming the first bad request found (a negative count, or more cached than input tokens);
// the outputs are then unspecified.
void estimate(const CostModel& model, const Requests& requests, const Estimates& out,
              std::size_t threads);

// Fill `out` for requests [begin, end) on the calling thread.
void estimate_range(const CostModel& model, const Requests& requests, const Estimates& out,
                    std::size_t begin, std::size_t end);

}  // namespace tokenomix::cost
