#pragma once

#include <pybind11/pybind11.h>

#include <string_view>
#include <vector>

namespace tokenomix::bindings {

// The UTF-8 bytes of a str, borrowed from the object (CPython caches them). Raises
// UnicodeEncodeError for a str holding lone surrogates; the Python layer repairs those.
std::string_view utf8_view(pybind11::handle str);

// A copy of a str with lone surrogates repaired as tiktoken repairs them: a UTF-16 round trip
// that joins valid pairs and replaces the rest with U+FFFD.
pybind11::object repair_surrogates(pybind11::handle text);

// A Python list of ints from token ids.
pybind11::list to_list(const std::vector<unsigned>& ids);

void bind_bpe(pybind11::module_& m);
void bind_batch(pybind11::module_& m);
void bind_cost(pybind11::module_& m);
void bind_screen(pybind11::module_& m);

}  // namespace tokenomix::bindings
