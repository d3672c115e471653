// Reading Arrow string columns in place through the Arrow PyCapsule interface
// (__arrow_c_array__ / __arrow_c_stream__), without a dependency on any Arrow library.
//
// The structs are the Arrow C data interface, a stable ABI published in the Arrow
// specification ("The Arrow C data interface"); only what string columns need is used.
#pragma once

#include <pybind11/pybind11.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

namespace tokenomix::bindings {

struct ArrowSchema {
  const char* format;
  const char* name;
  const char* metadata;
  std::int64_t flags;
  std::int64_t n_children;
  ArrowSchema** children;
  ArrowSchema* dictionary;
  void (*release)(ArrowSchema*);
  void* private_data;
};

struct ArrowArray {
  std::int64_t length;
  std::int64_t null_count;
  std::int64_t offset;
  std::int64_t n_buffers;
  std::int64_t n_children;
  const void** buffers;
  ArrowArray** children;
  ArrowArray* dictionary;
  void (*release)(ArrowArray*);
  void* private_data;
};

struct ArrowArrayStream {
  int (*get_schema)(ArrowArrayStream*, ArrowSchema* out);
  int (*get_next)(ArrowArrayStream*, ArrowArray* out);
  const char* (*get_last_error)(ArrowArrayStream*);
  void (*release)(ArrowArrayStream*);
  void* private_data;
};

// The texts of an Arrow string column, as views into its buffers, which stay alive (and are
// released by their producer) for as long as this object lives. A null counts as "".
class ArrowTexts {
 public:
  ~ArrowTexts();
  std::vector<std::string_view> views;

  // The texts of `obj` if it exports an Arrow array or stream, else nullptr. Raises
  // TypeError for a column that is not of a string type.
  static std::unique_ptr<ArrowTexts> from(pybind11::handle obj);

 private:
  void add_chunk(const ArrowSchema& schema, ArrowArray& array);
  std::vector<ArrowArray> chunks_;
  std::vector<ArrowSchema> schemas_;
};

}  // namespace tokenomix::bindings
