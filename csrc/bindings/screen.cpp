// Bindings of the text screen: the UTF-8 of every text gathered while holding the GIL, the
// scan run without it, on the thread pool.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <string>
#include <vector>

#include "batch/thread_pool.hpp"
#include "bindings.hpp"
#include "screen/screen.hpp"

namespace py = pybind11;

namespace tokenomix::bindings {

namespace {

// Texts smaller than this are scanned several to a task.
constexpr std::size_t kTaskBytes = 64 * 1024;

std::vector<std::uint8_t> table_of(const std::optional<py::bytes>& classes) {
  if (!classes) return {};
  const std::string_view view = *classes;
  return {view.begin(), view.end()};
}

// flags[i] = 1 where texts[i] needs the Python path: a str with lone surrogates (no UTF-8),
// or one the screen flags.
py::array_t<bool> flag_texts(const screen::Screen& screen, const py::list& texts,
                             std::optional<std::size_t> num_threads) {
  const std::size_t n = texts.size();
  py::array_t<bool> result(static_cast<py::ssize_t>(n));
  bool* flags = result.mutable_data();
  std::vector<std::string_view> views(n);
  for (std::size_t i = 0; i < n; ++i) {
    Py_ssize_t size = 0;
    const char* data = PyUnicode_Check(texts[i].ptr())
                           ? PyUnicode_AsUTF8AndSize(texts[i].ptr(), &size)
                           : nullptr;
    if (data == nullptr) PyErr_Clear();
    flags[i] = data == nullptr;
    if (data != nullptr) views[i] = {data, static_cast<std::size_t>(size)};
  }
  // Tasks of consecutive texts of about kTaskBytes.
  std::vector<std::size_t> starts{0};
  for (std::size_t i = 0, bytes = 0; i < n; ++i) {
    bytes += views[i].size() + 16;
    if (bytes >= kTaskBytes && i + 1 < n) {
      starts.push_back(i + 1);
      bytes = 0;
    }
  }
  starts.push_back(n);
  const std::size_t threads = num_threads.value_or(batch::hardware_threads());
  {
    py::gil_scoped_release release;
    batch::parallel_for(starts.size() - 1, threads, [&](std::size_t task) {
      for (std::size_t i = starts[task]; i < starts[task + 1]; ++i) {
        if (!flags[i]) flags[i] = screen.flags(views[i]);
      }
    });
  }
  return result;
}

}  // namespace

void bind_screen(py::module_& m) {
  py::class_<screen::Screen>(m, "TextScreen")
      .def(py::init([](const std::vector<std::string>& needles,
                       const std::optional<py::bytes>& classes) {
             return screen::Screen(needles, table_of(classes));
           }),
           py::arg("needles"), py::arg("classes") = py::none(),
           "Flags texts that hold a needle, or that may change under the normalization whose "
           "`classes` are given (one byte per code point: 255 may change, else the canonical "
           "combining class).")
      .def_readonly_static("MAY_CHANGE", &screen::Screen::kMayChange)
      .def("flags", &flag_texts, py::arg("texts"), py::arg("num_threads") = py::none(),
           "A bool array: True where a text (a list of str) needs the slow path.");
}

}  // namespace tokenomix::bindings
