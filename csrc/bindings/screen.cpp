// Bindings of the text screen and the normalizer: the UTF-8 of every text gathered while
// holding the GIL, the scan (and, for the texts it clears, normalizing and the engine's count
// or ids) run without it, on the thread pool.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "batch/thread_pool.hpp"
#include "bindings.hpp"
#include "bpe/encoder.hpp"
#include "screen/normalize.hpp"
#include "screen/screen.hpp"

namespace py = pybind11;

namespace tokenomix::bindings {

namespace {

// Texts smaller than this are handled several to a task.
constexpr std::size_t kTaskBytes = 64 * 1024;

// The UTF-8 of every str of a list (borrowed: CPython caches it), and which could not be
// read: a str with lone surrogates, or not a str at all. Holds the GIL.
struct Views {
  std::vector<std::string_view> texts;
  std::vector<bool> unreadable;
};

Views gather(const py::list& texts) {
  Views views{std::vector<std::string_view>(texts.size()), std::vector<bool>(texts.size())};
  for (std::size_t i = 0; i < texts.size(); ++i) {
    Py_ssize_t size = 0;
    const char* data = PyUnicode_Check(texts[i].ptr())
                           ? PyUnicode_AsUTF8AndSize(texts[i].ptr(), &size)
                           : nullptr;
    if (data == nullptr) {
      PyErr_Clear();
      views.unreadable[i] = true;
      continue;
    }
    views.texts[i] = {data, static_cast<std::size_t>(size)};
  }
  return views;
}

// Call per_text(i) for every text on the thread pool, consecutive texts of about kTaskBytes
// to a task. Runs without the GIL.
template <class PerText>
void for_each_text(const std::vector<std::string_view>& texts,
                   std::optional<std::size_t> num_threads, PerText per_text) {
  std::vector<std::size_t> starts{0};
  for (std::size_t i = 0, bytes = 0; i < texts.size(); ++i) {
    bytes += texts[i].size() + 16;
    if (bytes >= kTaskBytes && i + 1 < texts.size()) {
      starts.push_back(i + 1);
      bytes = 0;
    }
  }
  starts.push_back(texts.size());
  if (num_threads && *num_threads == 0) {
    throw py::value_error("num_threads must be at least 1, or None");
  }
  const std::size_t threads = num_threads.value_or(batch::hardware_threads());
  py::gil_scoped_release release;
  batch::parallel_for(starts.size() - 1, threads, [&](std::size_t task) {
    for (std::size_t i = starts[task]; i < starts[task + 1]; ++i) per_text(i);
  });
}

// What the engine reads for a text that passed the screen: the text, or a space and the
// text when the pre-tokenizer puts one before text that does not start with one.
std::string_view engine_text(std::string_view text, bool prefix_space, std::string& buffer) {
  if (!prefix_space || text.empty() || text[0] == ' ') return text;
  buffer.assign(1, ' ');
  buffer.append(text);
  return buffer;
}

// flags[i] = True where texts[i] needs the Python path.
py::array_t<bool> flag_texts(const screen::Screen& screen, const py::list& texts,
                             std::optional<std::size_t> num_threads) {
  const Views views = gather(texts);
  py::array_t<bool> result(static_cast<py::ssize_t>(texts.size()));
  bool* flags = result.mutable_data();
  for_each_text(views.texts, num_threads, [&](std::size_t i) {
    flags[i] = views.unreadable[i] || screen.flags(views.texts[i]);
  });
  return result;
}

// counts[i] = the count of texts[i], normalized and cut at added tokens where the screen
// can, or -1 where it needs the slow path.
py::array_t<std::int64_t> count_screened(const bpe::Encoder& encoder,
                                         const screen::Screen& screen, const py::list& texts,
                                         bool prefix_space,
                                         std::optional<std::size_t> num_threads) {
  const Views views = gather(texts);
  py::array_t<std::int64_t> result(static_cast<py::ssize_t>(texts.size()));
  std::int64_t* counts = result.mutable_data();
  for_each_text(views.texts, num_threads, [&](std::size_t i) {
    std::string normalized, buffer;
    std::int64_t count = 0;
    const bool done = !views.unreadable[i] &&
                      screen.parts(
                          views.texts[i], normalized,
                          [&](std::string_view part) {
                            count += static_cast<std::int64_t>(
                                encoder.count(engine_text(part, prefix_space, buffer)));
                          },
                          [&](std::int64_t) { ++count; });
    counts[i] = done ? count : -1;
  });
  return result;
}

// The ids of each text, or None where it needs the slow path.
py::list encode_screened(const bpe::Encoder& encoder, const screen::Screen& screen,
                         const py::list& texts, bool prefix_space,
                         std::optional<std::size_t> num_threads) {
  const Views views = gather(texts);
  std::vector<std::vector<bpe::Rank>> ids(texts.size());
  std::vector<char> flagged(texts.size());
  for_each_text(views.texts, num_threads, [&](std::size_t i) {
    std::string normalized, buffer;
    std::vector<bpe::Rank>& out = ids[i];
    flagged[i] = views.unreadable[i] ||
                 !screen.parts(
                     views.texts[i], normalized,
                     [&](std::string_view part) {
                       encoder.encode_ordinary(engine_text(part, prefix_space, buffer), out);
                     },
                     [&](std::int64_t id) { out.push_back(static_cast<bpe::Rank>(id)); });
  });
  py::list result(texts.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    result[i] = flagged[i] ? py::none() : py::object(to_list(ids[i]));
  }
  return result;
}

}  // namespace

void bind_screen(py::module_& m) {
  py::class_<screen::Normalizer, std::shared_ptr<screen::Normalizer>>(m, "Normalizer")
      .def(py::init([](const std::vector<std::string>& forms) {
             std::vector<screen::Form> parsed;
             for (const std::string& form : forms) parsed.push_back(screen::form_named(form));
             return std::make_shared<screen::Normalizer>(std::move(parsed));
           }),
           py::arg("forms"),
           "Unicode normalization as Hugging Face tokenizers 0.23 runs it (Unicode 9.0 data): "
           "the forms ('NFC', 'NFD', 'NFKC', 'NFKD') in order.")
      .def(
          "__call__",
          [](const screen::Normalizer& normalizer, std::string_view text) {
            std::string out;
            normalizer.normalize(text, out);
            return out;
          },
          py::arg("text"), "The text (a str without lone surrogates) normalized.");
  py::class_<screen::Screen>(m, "TextScreen")
      .def(py::init([](const std::vector<std::string>& needles,
                       std::shared_ptr<screen::Normalizer> normalizer,
                       const std::vector<std::pair<std::string, std::int64_t>>& cuts) {
             std::vector<screen::Cut> parsed;
             for (const auto& [pattern, id] : cuts) parsed.push_back(screen::Cut{pattern, id});
             return screen::Screen(needles, std::move(normalizer), std::move(parsed));
           }),
           py::arg("needles"), py::arg("normalizer") = py::none(),
           py::arg("cuts") = std::vector<std::pair<std::string, std::int64_t>>{},
           "Finds texts that hold a needle, or that the normalizer may change. count_screened "
           "and encode_screened normalize texts, and cut those with needles at the added "
           "tokens `cuts` names ((pattern, id) pairs, id -1 for a token read as text; none: "
           "such texts take the slow path).")
      .def("flags", &flag_texts, py::arg("texts"), py::arg("num_threads") = py::none(),
           "A bool array: True where a text (a list of str) is not read as it is.");
  m.def("count_screened", &count_screened, py::arg("encoder"), py::arg("screen"),
        py::arg("texts"), py::arg("prefix_space"), py::arg("num_threads") = py::none(),
        "The count of each text (a list of str), or -1 where it needs the slow path; with "
        "prefix_space, text not starting with a space is counted after one.");
  m.def("encode_screened", &encode_screened, py::arg("encoder"), py::arg("screen"),
        py::arg("texts"), py::arg("prefix_space"), py::arg("num_threads") = py::none(),
        "The ids of each text (a list of str), or None where it needs the slow path.");
}

}  // namespace tokenomix::bindings
