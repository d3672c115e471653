// The tokenomix._core extension module. Private: the package re-exports what users need.
#include <pybind11/pybind11.h>

#include "bindings.hpp"
#include "bpe/vocab.hpp"

PYBIND11_MODULE(_core, m) {
  m.doc() = "Native core of tokenomix (private; use the tokenomix package).";
  m.attr("RANK_LIMIT") = tokenomix::bpe::kRankLimit;
  tokenomix::bindings::bind_bpe(m);
  tokenomix::bindings::bind_batch(m);
  tokenomix::bindings::bind_cost(m);
  tokenomix::bindings::bind_screen(m);
}
