// Bindings of the cost estimator: the arrays are checked and allocated while holding the GIL,
// then the whole batch runs without it.
#include "cost/cost.hpp"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <string>

#include "batch/thread_pool.hpp"
#include "bindings.hpp"

namespace py = pybind11;

namespace tokenomix::bindings {

namespace {

using Counts = py::array_t<std::int64_t, py::array::c_style>;

// The data of a one-dimensional int64 array of `size` elements (size -1: any).
const std::int64_t* counts_data(const Counts& array, const char* name, py::ssize_t size) {
  if (array.ndim() != 1) {
    throw py::value_error(std::string(name) + " must be one-dimensional");
  }
  if (size >= 0 && array.shape(0) != size) {
    throw py::value_error(std::string(name) + " has " + std::to_string(array.shape(0)) +
                          " elements, input_tokens has " + std::to_string(size));
  }
  return array.data();
}

template <class T>
T* column(py::dict& out, const char* name, py::ssize_t size) {
  py::array_t<T> array(size);
  out[name] = array;
  return array.mutable_data();
}

py::dict estimate_requests(const cost::CostModel& model, const Counts& input,
                           const std::optional<Counts>& cached, const Counts& output,
                           std::optional<std::size_t> num_threads) {
  cost::Requests requests;
  requests.input = counts_data(input, "input_tokens", -1);
  const py::ssize_t size = input.shape(0);
  requests.output = counts_data(output, "output_tokens", size);
  if (cached) requests.cached = counts_data(*cached, "cached_tokens", size);
  requests.size = static_cast<std::size_t>(size);
  if (num_threads && *num_threads == 0) {
    throw py::value_error("num_threads must be at least 1, or None");
  }
  const std::size_t threads = num_threads ? *num_threads : batch::hardware_threads();

  py::dict out;
  cost::Estimates estimates;
  estimates.prefill_flops = column<double>(out, "prefill_flops", size);
  estimates.decode_flops = column<double>(out, "decode_flops", size);
  estimates.kv_cache_bytes = column<std::int64_t>(out, "kv_cache_bytes", size);
  estimates.prefill_bytes = column<double>(out, "prefill_bytes", size);
  estimates.decode_bytes = column<double>(out, "decode_bytes", size);
  estimates.prefill_seconds = column<double>(out, "prefill_seconds", size);
  estimates.decode_seconds = column<double>(out, "decode_seconds", size);
  if (model.has_prices) estimates.cost_usd = column<double>(out, "cost_usd", size);
  {
    py::gil_scoped_release release;
    cost::estimate(model, requests, estimates, threads);
  }
  return out;
}

}  // namespace

void bind_cost(py::module_& m) {
  py::class_<cost::CostModel>(m, "CostModel",
                              "Per-token constants of one model on one GPU type (see cost.hpp).")
      .def(py::init<>())
      .def_readwrite("linear_flops_per_token", &cost::CostModel::linear_flops_per_token)
      .def_readwrite("lm_head_flops", &cost::CostModel::lm_head_flops)
      .def_readwrite("cached_token_flops", &cost::CostModel::cached_token_flops)
      .def_readwrite("prefill_pair_flops_full", &cost::CostModel::prefill_pair_flops_full)
      .def_readwrite("prefill_pair_flops_window", &cost::CostModel::prefill_pair_flops_window)
      .def_readwrite("decode_pair_flops_full", &cost::CostModel::decode_pair_flops_full)
      .def_readwrite("decode_pair_flops_window", &cost::CostModel::decode_pair_flops_window)
      .def_readwrite("window", &cost::CostModel::window)
      .def_readwrite("kv_bytes_per_token_full", &cost::CostModel::kv_bytes_per_token_full)
      .def_readwrite("kv_bytes_per_token_window", &cost::CostModel::kv_bytes_per_token_window)
      .def_readwrite("prefill_weight_bytes", &cost::CostModel::prefill_weight_bytes)
      .def_readwrite("routed_expert_bytes", &cost::CostModel::routed_expert_bytes)
      .def_readwrite("log_expert_miss", &cost::CostModel::log_expert_miss)
      .def_readwrite("decode_step_weight_bytes", &cost::CostModel::decode_step_weight_bytes)
      .def_readwrite("decode_batch_size", &cost::CostModel::decode_batch_size)
      .def_readwrite("flops_per_second", &cost::CostModel::flops_per_second)
      .def_readwrite("bytes_per_second", &cost::CostModel::bytes_per_second)
      .def_readwrite("has_prices", &cost::CostModel::has_prices)
      .def_readwrite("usd_per_input_token", &cost::CostModel::usd_per_input_token)
      .def_readwrite("usd_per_cached_input_token", &cost::CostModel::usd_per_cached_input_token)
      .def_readwrite("usd_per_output_token", &cost::CostModel::usd_per_output_token);
  m.def("estimate_requests", &estimate_requests, py::arg("model"), py::arg("input_tokens"),
        py::arg("cached_tokens"), py::arg("output_tokens"), py::arg("num_threads") = py::none(),
        "Estimate every request of int64 arrays in one pass; returns a dict of arrays.");
}

}  // namespace tokenomix::bindings
