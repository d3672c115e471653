// Bindings of the BPE engine: one native call per Python call, the GIL released while the
// engine runs.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <vector>

#include "bindings.hpp"
#include "bpe/encoder.hpp"

namespace py = pybind11;

namespace tokenomix::bindings {

using bpe::Encoder;
using bpe::Pattern;
using bpe::Rank;

std::string_view utf8_view(py::handle str) {
  if (!PyUnicode_Check(str.ptr())) {
    throw py::type_error("expected str, got " + std::string(py::str(py::type::of(str))));
  }
  Py_ssize_t size = 0;
  const char* data = PyUnicode_AsUTF8AndSize(str.ptr(), &size);
  if (data == nullptr) throw py::error_already_set();
  return {data, static_cast<std::size_t>(size)};
}

py::list to_list(const std::vector<Rank>& ids) {
  PyObject* list = PyList_New(static_cast<Py_ssize_t>(ids.size()));
  if (list == nullptr) throw py::error_already_set();
  for (std::size_t i = 0; i < ids.size(); ++i) {
    PyList_SET_ITEM(list, static_cast<Py_ssize_t>(i), PyLong_FromUnsignedLong(ids[i]));
  }
  return py::reinterpret_steal<py::list>(list);
}

namespace {

bpe::EncoderOptions options_named(const std::string& pattern, bool whole_piece_first) {
  static const std::pair<const char*, Pattern> kPatterns[] = {
      {"r50k", Pattern::kR50k},   {"cl100k", Pattern::kCl100k}, {"llama3", Pattern::kLlama3},
      {"qwen2", Pattern::kQwen2}, {"o200k", Pattern::kO200k},   {"tekken", Pattern::kTekken},
      {"none", Pattern::kNone},
  };
  bpe::EncoderOptions options;
  options.whole_piece_first = whole_piece_first;
  for (const auto& [name, value] : kPatterns) {
    if (pattern == name) {
      options.pattern = value;
      return options;
    }
  }
  throw py::value_error("no built-in pre-tokenizer named " + pattern);
}

using Specials = std::vector<std::pair<std::string, Rank>>;

std::vector<bool> special_mask(const Encoder& encoder, const py::handle& allowed) {
  // `allowed` is a collection of special-token strings.
  std::vector<bool> mask(encoder.special_tokens().size(), false);
  const py::set wanted = py::reinterpret_borrow<py::object>(allowed);
  for (std::size_t i = 0; i < mask.size(); ++i) {
    mask[i] = wanted.contains(py::str(encoder.special_tokens()[i].first));
  }
  return mask;
}

py::bytes decode_bytes(const Encoder& encoder, const std::vector<Rank>& ids) {
  std::string out;
  {
    py::gil_scoped_release release;
    for (const Rank id : ids) encoder.append_bytes(id, out);
  }
  return py::bytes(out);
}

}  // namespace

void bind_bpe(py::module_& m) {
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const bpe::UnknownToken& e) {
      PyErr_SetObject(PyExc_KeyError, py::int_(e.rank()).ptr());
    }
  });

  py::class_<Encoder>(m, "CoreEncoder")
      .def_static(
          "from_tiktoken",
          [](py::bytes contents, const std::string& pattern, Specials specials) {
            const std::string_view view = contents;
            return Encoder(bpe::Vocab::from_tiktoken(view), {}, options_named(pattern, true),
                           std::move(specials));
          },
          py::arg("contents"), py::arg("pattern"), py::arg("special_tokens"),
          "Build an encoder from the text of a tiktoken rank file.")
      .def_static(
          "from_ranks",
          [](const py::dict& ranks, const std::string& pattern, Specials specials) {
            std::vector<std::string> tokens;
            for (const auto& [key, value] : ranks) {
              const auto rank = value.cast<std::size_t>();
              if (rank >= bpe::kRankLimit) throw py::value_error("rank is too large");
              if (rank >= tokens.size()) tokens.resize(rank + 1);
              if (!tokens[rank].empty()) {
                throw py::value_error("rank " + std::to_string(rank) + " is given twice");
              }
              tokens[rank] = key.cast<std::string>();
              if (tokens[rank].empty()) throw py::value_error("a token is empty");
            }
            return Encoder(bpe::Vocab(std::move(tokens)), {}, options_named(pattern, true),
                           std::move(specials));
          },
          py::arg("ranks"), py::arg("pattern"), py::arg("special_tokens"),
          "Build an encoder with tiktoken's merge rule from a dict of token bytes to rank.")
      .def_static(
          "from_merges",
          [](std::vector<std::string> tokens, const std::vector<std::pair<Rank, Rank>>& merges,
             const std::string& pattern, Specials specials, bool whole_piece_first) {
            if (merges.empty()) throw py::value_error("the merge list is empty");
            return Encoder(bpe::Vocab(std::move(tokens)), merges,
                           options_named(pattern, whole_piece_first),
                           std::move(specials));
          },
          py::arg("tokens"), py::arg("merges"), py::arg("pattern"), py::arg("special_tokens"),
          py::arg("whole_piece_first"),
          "Build an encoder with a merge list (Hugging Face): tokens[id] is the bytes of a "
          "token (b'' for an unused id), merges[i] the (left, right) ids joined with "
          "priority i.")
      .def(
          "count_split",
          [](const Encoder& e, py::handle text, const std::vector<std::size_t>& bounds) {
            const std::string_view view = utf8_view(text);
            py::gil_scoped_release release;
            return e.count_split(view, bounds);
          },
          py::arg("text"), py::arg("bounds"),
          "Count text already split: piece i ends at UTF-8 byte offset bounds[i].")
      .def(
          "encode_split",
          [](const Encoder& e, py::handle text, const std::vector<std::size_t>& bounds) {
            const std::string_view view = utf8_view(text);
            std::vector<Rank> ids;
            {
              py::gil_scoped_release release;
              e.encode_split(view, bounds, ids);
            }
            return to_list(ids);
          },
          py::arg("text"), py::arg("bounds"))
      .def(
          "count",
          [](const Encoder& e, py::handle text) {
            const std::string_view view = utf8_view(text);
            py::gil_scoped_release release;
            return e.count(view);
          },
          py::arg("text"), "Number of tokens of text, special-token text read as text.")
      .def(
          "encode_ordinary",
          [](const Encoder& e, py::handle text) {
            const std::string_view view = utf8_view(text);
            std::vector<Rank> ids;
            {
              py::gil_scoped_release release;
              e.encode_ordinary(view, ids);
            }
            return to_list(ids);
          },
          py::arg("text"))
      .def(
          "encode",
          [](const Encoder& e, py::handle text, py::handle allowed_special) {
            const std::string_view view = utf8_view(text);
            const std::vector<bool> mask = special_mask(e, allowed_special);
            std::vector<Rank> ids;
            {
              py::gil_scoped_release release;
              e.encode(view, mask, ids);
            }
            return to_list(ids);
          },
          py::arg("text"), py::arg("allowed_special"))
      .def(
          "find_special",
          [](const Encoder& e, py::handle text, py::handle among) -> py::object {
            const std::string_view view = utf8_view(text);
            const auto match = e.find_special(view, 0, special_mask(e, among));
            if (!match) return py::none();
            return py::str(e.special_tokens()[match->index].first);
          },
          py::arg("text"), py::arg("among"),
          "The first special token of `among` found in text, or None.")
      .def("decode_bytes", &decode_bytes, py::arg("tokens"))
      .def(
          "token_bytes",
          [](const Encoder& e, Rank rank) {
            std::string out;
            e.append_bytes(rank, out);
            return py::bytes(out);
          },
          py::arg("token"))
      .def_property_readonly("rank_limit", &Encoder::rank_limit)
      .def_property_readonly("special_tokens", &Encoder::special_tokens)
      .def_property_readonly("vocab_size", [](const Encoder& e) { return e.vocab().size(); })
      .def_property_readonly("max_token_length",
                             [](const Encoder& e) { return e.vocab().max_token_length(); })
      .def(
          "vocab_rank",
          [](const Encoder& e, py::bytes token) -> py::object {
            const std::string_view view = token;
            const Rank r = e.vocab().find(reinterpret_cast<const unsigned char*>(view.data()),
                                          view.size());
            if (r == bpe::kNoRank) return py::none();
            return py::int_(r);
          },
          py::arg("token"), "Rank of a byte string in the vocabulary, or None.");
}

}  // namespace tokenomix::bindings
