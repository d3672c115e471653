// Bindings of the batch drivers: gather the UTF-8 of every text while holding the GIL, then
// release it for the whole batch.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <string_view>
#include <vector>

#include "arrow.hpp"
#include "batch/batch.hpp"
#include "batch/text.hpp"
#include "batch/thread_pool.hpp"
#include "bindings.hpp"

namespace py = pybind11;

namespace tokenomix::bindings {

namespace {

// The texts of a batch as UTF-8 views: an Arrow string column read in place, or a sequence
// of str. A str with lone surrogates is repaired as tiktoken does (a UTF-16 round trip that
// pairs what it can and replaces the rest with U+FFFD). Whatever the views point into lives
// in the returned holder and `keep`.
struct Batch {
  std::vector<std::string_view> views;
  std::unique_ptr<ArrowTexts> arrow;
  std::vector<py::object> keep;
};

Batch gather(const py::handle& texts) {
  Batch batch;
  if ((batch.arrow = ArrowTexts::from(texts))) {
    batch.views = std::move(batch.arrow->views);
    return batch;
  }
  const py::sequence seq = py::reinterpret_borrow<py::sequence>(texts);
  batch.views.reserve(seq.size());
  for (const py::handle item : seq) {
    if (!PyUnicode_Check(item.ptr())) {
      throw py::type_error("texts must hold str, found " +
                           std::string(py::str(py::type::of(item).attr("__name__"))));
    }
    Py_ssize_t size = 0;
    const char* data = PyUnicode_AsUTF8AndSize(item.ptr(), &size);
    if (data == nullptr) {
      PyErr_Clear();
      batch.keep.push_back(repair_surrogates(item));
      batch.views.push_back(utf8_view(batch.keep.back()));
      continue;
    }
    batch.views.emplace_back(data, static_cast<std::size_t>(size));
  }
  return batch;
}

// The bytes of any object with the buffer protocol (bytes, bytearray, mmap, memoryview).
std::string_view buffer_view(const py::buffer& buffer, py::buffer_info& info) {
  info = buffer.request();
  if (info.itemsize != 1 || info.ndim != 1) {
    throw py::type_error("expected a contiguous buffer of bytes");
  }
  return {static_cast<const char*>(info.ptr), static_cast<std::size_t>(info.size)};
}

std::size_t thread_count(const std::optional<std::size_t>& num_threads) {
  if (!num_threads) return batch::hardware_threads();
  if (*num_threads == 0) throw py::value_error("num_threads must be at least 1, or None");
  return *num_threads;
}

}  // namespace

py::object repair_surrogates(py::handle text) {
  return text.attr("encode")("utf-16", "surrogatepass").attr("decode")("utf-16", "replace");
}

void bind_batch(py::module_& m) {
  m.def(
      "count_batch",
      [](const bpe::Encoder& encoder, py::handle texts, std::optional<std::size_t> num_threads) {
        const Batch batch = gather(texts);
        const std::vector<std::string_view>& views = batch.views;
        py::array_t<std::int64_t> counts(static_cast<py::ssize_t>(views.size()));
        std::int64_t* out = counts.mutable_data();
        const std::size_t threads = thread_count(num_threads);
        {
          py::gil_scoped_release release;
          batch::count_many(encoder, views, out, threads);
        }
        return counts;
      },
      py::arg("encoder"), py::arg("texts"), py::arg("num_threads") = py::none());
  m.def(
      "encode_batch",
      [](const bpe::Encoder& encoder, py::handle texts, std::optional<std::size_t> num_threads,
         std::optional<std::vector<bool>> allowed, std::optional<std::vector<bool>> disallowed,
         const std::vector<std::string>& disallowed_strings) {
        const Batch batch = gather(texts);
        const std::vector<std::string_view>& views = batch.views;
        const std::size_t threads = thread_count(num_threads);
        for (const auto* mask : {&allowed, &disallowed}) {
          if (*mask && (*mask)->size() != encoder.special_tokens().size()) {
            throw py::value_error("special-token mask has the wrong length");
          }
        }
        // Refuse the batch if any text holds a disallowed special token (or string).
        for (std::size_t i = 0; i < views.size(); ++i) {
          const auto match = disallowed ? encoder.find_special(views[i], 0, *disallowed)
                                        : std::nullopt;
          std::string found = match ? encoder.special_tokens()[match->index].first : "";
          for (const std::string& s : disallowed_strings) {
            if (found.empty() && views[i].find(s) != std::string_view::npos) found = s;
          }
          if (!found.empty()) {
            throw py::value_error("text " + std::to_string(i) + " contains the special token " +
                                  std::string(py::repr(py::str(found))) +
                                  ", which is disallowed. Pass it in allowed_special to encode "
                                  "it as the special token, or leave it out of "
                                  "disallowed_special (e.g. disallowed_special=()) to encode it "
                                  "as plain text.");
          }
        }
        std::vector<std::vector<bpe::Rank>> ids;
        {
          py::gil_scoped_release release;
          ids = batch::encode_many(encoder, views, allowed ? &*allowed : nullptr, threads);
        }
        py::list result(ids.size());
        for (std::size_t i = 0; i < ids.size(); ++i) result[i] = to_list(ids[i]);
        return result;
      },
      py::arg("encoder"), py::arg("texts"), py::arg("num_threads") = py::none(),
      py::arg("allowed") = py::none(), py::arg("disallowed") = py::none(),
      py::arg("disallowed_strings") = std::vector<std::string>{});
  m.def(
      "count_buffer",
      [](const bpe::Encoder& encoder, const py::buffer& buffer,
         std::optional<std::size_t> num_threads) {
        py::buffer_info info;
        const std::string_view text = buffer_view(buffer, info);
        const std::size_t threads = thread_count(num_threads);
        py::gil_scoped_release release;
        return batch::count_text(encoder, text, threads);
      },
      py::arg("encoder"), py::arg("buffer"), py::arg("num_threads") = py::none(),
      "Count the tokens of UTF-8 bytes (checked beforehand) as one text, on several threads.");
  m.def(
      "count_lines",
      [](const bpe::Encoder& encoder, const py::buffer& buffer,
         std::optional<std::size_t> num_threads) {
        py::buffer_info info;
        const std::string_view text = buffer_view(buffer, info);
        const std::vector<std::string_view> lines = batch::split_lines(text);
        py::array_t<std::int64_t> counts(static_cast<py::ssize_t>(lines.size()));
        py::array_t<std::int64_t> starts(static_cast<py::ssize_t>(lines.size()));
        py::array_t<std::int64_t> sizes(static_cast<py::ssize_t>(lines.size()));
        for (std::size_t i = 0; i < lines.size(); ++i) {
          starts.mutable_at(i) = lines[i].data() - text.data();
          sizes.mutable_at(i) = static_cast<std::int64_t>(lines[i].size());
        }
        std::int64_t* out = counts.mutable_data();
        const std::size_t threads = thread_count(num_threads);
        {
          py::gil_scoped_release release;
          batch::count_many(encoder, lines, out, threads);
        }
        return py::make_tuple(counts, starts, sizes);
      },
      py::arg("encoder"), py::arg("buffer"), py::arg("num_threads") = py::none(),
      "Count each line of UTF-8 bytes (checked beforehand): (counts, starts, sizes).");
  m.def(
      "first_invalid_utf8",
      [](const py::buffer& buffer) -> std::optional<std::size_t> {
        py::buffer_info info;
        const std::string_view text = buffer_view(buffer, info);
        py::gil_scoped_release release;
        return batch::first_invalid_utf8(text);
      },
      py::arg("buffer"), "Offset of the first byte that is not valid UTF-8, or None.");
  m.def(
      "count_code_points",
      [](const py::buffer& buffer) {
        py::buffer_info info;
        const std::string_view text = buffer_view(buffer, info);
        py::gil_scoped_release release;
        return batch::count_code_points(text);
      },
      py::arg("buffer"), "Number of characters of valid UTF-8 bytes.");
  m.def("hardware_threads", &batch::hardware_threads);
}

}  // namespace tokenomix::bindings
