#include "arrow.hpp"

#include <cstring>
#include <string>

namespace py = pybind11;

namespace tokenomix::bindings {

namespace {

template <class T>
T* capsule_pointer(const py::handle& capsule, const char* name) {
  void* p = PyCapsule_GetPointer(capsule.ptr(), name);
  if (p == nullptr) throw py::error_already_set();
  return static_cast<T*>(p);
}

// Move a struct out of a producer's capsule: the capsule's destructor then sees a released
// struct and does nothing, and we call `release` ourselves when done.
template <class T>
T take(T* source) {
  T copy = *source;
  source->release = nullptr;
  return copy;
}

bool is_string_format(const char* format) {
  return std::strcmp(format, "u") == 0 || std::strcmp(format, "U") == 0 ||
         std::strcmp(format, "vu") == 0;
}

// One string of a string-view column ("vu"): a 16-byte view holds the length, then either
// the bytes themselves (up to 12) or a prefix, a data buffer index and an offset.
std::string_view string_view_at(const ArrowArray& array, std::int64_t i) {
  const auto* view = static_cast<const unsigned char*>(array.buffers[1]) + 16 * i;
  std::int32_t length, buffer, offset;
  std::memcpy(&length, view, 4);
  if (length <= 12) return {reinterpret_cast<const char*>(view + 4), static_cast<std::size_t>(length)};
  std::memcpy(&buffer, view + 8, 4);
  std::memcpy(&offset, view + 12, 4);
  const char* data = static_cast<const char*>(array.buffers[2 + buffer]);
  return {data + offset, static_cast<std::size_t>(length)};
}

}  // namespace

ArrowTexts::~ArrowTexts() {
  for (ArrowArray& a : chunks_) {
    if (a.release != nullptr) a.release(&a);
  }
  for (ArrowSchema& s : schemas_) {
    if (s.release != nullptr) s.release(&s);
  }
}

// The value at index i of an integer column of the given format, or -1 for another format.
std::int64_t integer_at(const char* format, const void* buffer, std::int64_t i) {
  switch (format[1] == '\0' ? format[0] : '?') {
    case 'c': return static_cast<const std::int8_t*>(buffer)[i];
    case 'C': return static_cast<const std::uint8_t*>(buffer)[i];
    case 's': return static_cast<const std::int16_t*>(buffer)[i];
    case 'S': return static_cast<const std::uint16_t*>(buffer)[i];
    case 'i': return static_cast<const std::int32_t*>(buffer)[i];
    case 'I': return static_cast<const std::uint32_t*>(buffer)[i];
    case 'l': return static_cast<const std::int64_t*>(buffer)[i];
    case 'L': return static_cast<const std::int64_t*>(buffer)[i];
    default: return -1;
  }
}

void ArrowTexts::add_chunk(const ArrowSchema& schema, ArrowArray& array) {
  if (schema.dictionary != nullptr && array.dictionary != nullptr) {
    // Dictionary-encoded (pandas and polars categoricals): look each index up.
    ArrowTexts dictionary;
    dictionary.add_chunk(*schema.dictionary, *array.dictionary);
    const auto* validity = static_cast<const std::uint8_t*>(array.buffers[0]);
    for (std::int64_t i = array.offset; i < array.offset + array.length; ++i) {
      if (array.null_count != 0 && validity != nullptr && !(validity[i / 8] >> (i % 8) & 1)) {
        views.emplace_back();
        continue;
      }
      const std::int64_t index = integer_at(schema.format, array.buffers[1], i);
      if (index < 0 || index >= static_cast<std::int64_t>(dictionary.views.size())) {
        throw py::type_error("Arrow dictionary column has an index out of range or of type '" +
                             std::string(schema.format) + "'");
      }
      views.push_back(dictionary.views[static_cast<std::size_t>(index)]);
    }
    return;
  }
  if (!is_string_format(schema.format)) {
    throw py::type_error(std::string("Arrow column has type format '") + schema.format +
                         "'; only string columns ('u', 'U', 'vu', or dictionaries of "
                         "them) hold texts");
  }
  const bool large = schema.format[0] == 'U';
  const bool view = schema.format[0] == 'v';
  const auto* validity = static_cast<const std::uint8_t*>(array.buffers[0]);
  const char* data = static_cast<const char*>(array.buffers[2]);
  for (std::int64_t i = array.offset; i < array.offset + array.length; ++i) {
    if (array.null_count != 0 && validity != nullptr && !(validity[i / 8] >> (i % 8) & 1)) {
      views.emplace_back();
      continue;
    }
    if (view) {
      views.push_back(string_view_at(array, i));
      continue;
    }
    std::int64_t begin, end;
    if (large) {
      const auto* offsets = static_cast<const std::int64_t*>(array.buffers[1]);
      begin = offsets[i];
      end = offsets[i + 1];
    } else {
      const auto* offsets = static_cast<const std::int32_t*>(array.buffers[1]);
      begin = offsets[i];
      end = offsets[i + 1];
    }
    views.emplace_back(data == nullptr ? "" : data + begin, static_cast<std::size_t>(end - begin));
  }
}

std::unique_ptr<ArrowTexts> ArrowTexts::from(py::handle obj) {
  auto texts = std::make_unique<ArrowTexts>();
  if (py::hasattr(obj, "__arrow_c_stream__")) {
    const py::object capsule = obj.attr("__arrow_c_stream__")();
    ArrowArrayStream stream = take(capsule_pointer<ArrowArrayStream>(capsule, "arrow_array_stream"));
    struct Releaser {
      ArrowArrayStream* s;
      ~Releaser() { s->release(s); }
    } releaser{&stream};
    ArrowSchema schema;
    if (stream.get_schema(&stream, &schema) != 0) {
      throw py::value_error(std::string("Arrow stream: ") + stream.get_last_error(&stream));
    }
    texts->schemas_.push_back(schema);
    while (true) {
      ArrowArray chunk;
      if (stream.get_next(&stream, &chunk) != 0) {
        throw py::value_error(std::string("Arrow stream: ") + stream.get_last_error(&stream));
      }
      if (chunk.release == nullptr) break;  // end of stream
      texts->chunks_.push_back(chunk);
      texts->add_chunk(texts->schemas_.front(), texts->chunks_.back());
    }
    return texts;
  }
  if (py::hasattr(obj, "__arrow_c_array__")) {
    const py::tuple capsules = obj.attr("__arrow_c_array__")();
    texts->schemas_.push_back(take(capsule_pointer<ArrowSchema>(capsules[0], "arrow_schema")));
    texts->chunks_.push_back(take(capsule_pointer<ArrowArray>(capsules[1], "arrow_array")));
    texts->add_chunk(texts->schemas_.front(), texts->chunks_.front());
    return texts;
  }
  return nullptr;
}

}  // namespace tokenomix::bindings
