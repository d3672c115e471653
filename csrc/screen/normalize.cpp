#include "screen/normalize.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <unordered_map>
#include <utility>

namespace tokenomix::screen {

namespace {

struct CombiningRun {
  char32_t first;
  char32_t last;
  std::uint8_t cls;
};

struct Decomposition {
  char32_t cp;
  std::uint16_t canonical;
  std::uint8_t canonical_length;
  std::uint16_t compatible;
  std::uint8_t compatible_length;
};

struct Composition {
  char32_t first;
  char32_t second;
  char32_t composite;
};

#include "screen/normalize_data.inc"

// Hangul syllables decompose and compose by arithmetic (Unicode, section 3.12).
constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr char32_t kLCount = 19, kVCount = 21, kTCount = 28;
constexpr char32_t kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;

// What normalization needs to know of one code point: its canonical combining class (the
// low byte) and 1 + the index of its decomposition in kDecompositions, 0 for none.
using Props = std::uint32_t;

std::vector<Props> all_props() {
  std::vector<Props> all(kCodePoints);
  for (const CombiningRun& run : kCombiningRuns) {
    for (char32_t cp = run.first; cp <= run.last; ++cp) all[cp] = run.cls;
  }
  for (std::size_t i = 0; i < std::size(kDecompositions); ++i) {
    all[kDecompositions[i].cp] |= static_cast<Props>(i + 1) << 8;
  }
  return all;
}

// The data of every code point, and the compositions.
class Tables {
 public:
  Tables() : props_(all_props()) {
    for (const Composition& c : kCompositions) {
      compositions_.emplace(key(c.first, c.second), c.composite);
    }
  }

  std::uint8_t cls(char32_t cp) const { return props_[cp] & 0xFF; }

  // 1 + the index of the decomposition of cp in kDecompositions, 0 for none.
  std::size_t decomposition(char32_t cp) const { return props_[cp] >> 8; }

  // The primary composite of a pair, or 0 when there is none.
  char32_t compose(char32_t first, char32_t second) const {
    if (first - kLBase < kLCount && second - kVBase < kVCount) {
      return kSBase + ((first - kLBase) * kVCount + (second - kVBase)) * kTCount;
    }
    if (first - kSBase < kSCount && (first - kSBase) % kTCount == 0 && second > kTBase &&
        second - kTBase < kTCount) {
      return first + (second - kTBase);
    }
    const auto it = compositions_.find(key(first, second));
    return it == compositions_.end() ? 0 : it->second;
  }

 private:
  static std::uint64_t key(char32_t first, char32_t second) {
    return std::uint64_t{first} << 32 | second;
  }

  CodePointTable<Props> props_;
  std::unordered_map<std::uint64_t, char32_t> compositions_;
};

const Tables& tables() {
  static const Tables instance;
  return instance;
}

void decode(std::string_view text, std::u32string& out) {
  out.clear();
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  for (std::size_t i = 0; i < text.size();) {
    const auto [cp, length] = decode_utf8(p + i);
    out.push_back(cp);
    i += length;
  }
}

void append_utf8(const std::u32string& cps, std::string& out) {
  for (const char32_t cp : cps) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | cp >> 6));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | cp >> 12));
      out.push_back(static_cast<char>(0x80 | (cp >> 6 & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | cp >> 18));
      out.push_back(static_cast<char>(0x80 | (cp >> 12 & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp >> 6 & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }
}

// Append cp, moving it before the marks of a higher class that end `out` (the canonical
// ordering: a stable sort of each run of marks by class).
void append_ordered(const Tables& t, char32_t cp, std::u32string& out) {
  const std::uint8_t cls = t.cls(cp);
  std::size_t at = out.size();
  if (cls != 0) {
    while (at > 0 && t.cls(out[at - 1]) > cls) --at;
  }
  out.insert(out.begin() + static_cast<std::ptrdiff_t>(at), cp);
}

// The full decomposition of every character, canonically ordered.
void decompose(const Tables& t, const std::u32string& in, bool compatible, std::u32string& out) {
  out.clear();
  for (const char32_t cp : in) {
    if (cp - kSBase < kSCount) {  // Jamo are starters: no ordering to do
      const char32_t s = cp - kSBase;
      out.push_back(kLBase + s / kNCount);
      out.push_back(kVBase + s % kNCount / kTCount);
      if (s % kTCount != 0) out.push_back(kTBase + s % kTCount);
      continue;
    }
    const std::size_t index = t.decomposition(cp);
    if (index == 0) {
      append_ordered(t, cp, out);
      continue;
    }
    const Decomposition& d = kDecompositions[index - 1];
    const std::size_t offset = compatible ? d.compatible : d.canonical;
    const std::size_t length = compatible ? d.compatible_length : d.canonical_length;
    for (std::size_t i = 0; i < length; ++i) append_ordered(t, kDecomposed[offset + i], out);
  }
}

// Canonical composition, in place: each character joins the last starter when it has a
// primary composite with it and no character between them blocks it (one of class 0, or of
// a class not lower than its own).
void compose(const Tables& t, std::u32string& s) {
  constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  std::size_t starter = kNone;  // where the last starter kept stands
  int last = 0;  // the class of the last character kept: 0 when it is that starter
  std::size_t kept = 0;
  for (const char32_t cp : s) {
    const int cls = t.cls(cp);
    if (starter != kNone && (last == 0 || last < cls)) {
      const char32_t composite = t.compose(s[starter], cp);
      if (composite != 0) {
        s[starter] = composite;
        continue;
      }
    }
    if (cls == 0) starter = kept;
    last = cls;
    s[kept++] = cp;
  }
  s.resize(kept);
}

bool composes(Form form) { return form == Form::kNFC || form == Form::kNFKC; }

// The algorithm of the standard: `cps` normalized in place.
void run_algorithm(const Tables& t, Form form, std::u32string& cps, std::u32string& scratch) {
  decompose(t, cps, form == Form::kNFKC || form == Form::kNFKD, scratch);
  if (composes(form)) compose(t, scratch);
  std::swap(cps, scratch);
}

// The quick check of one form, one byte per code point.
std::vector<std::uint8_t> quick_check_values(Form form) {
  const Tables& t = tables();
  std::vector<std::uint8_t> table(kCodePoints);
  for (const CombiningRun& run : kCombiningRuns) {
    std::fill(table.begin() + run.first, table.begin() + run.last + 1, run.cls);
  }
  std::u32string cps, scratch;
  for (const Decomposition& d : kDecompositions) {
    cps.assign(1, d.cp);
    run_algorithm(t, form, cps, scratch);
    if (cps != std::u32string(1, d.cp)) table[d.cp] = kMayChange;
  }
  if (composes(form)) {
    for (const Composition& c : kCompositions) table[c.second] = kMayChange;
    for (char32_t v = kVBase; v < kVBase + kVCount; ++v) table[v] = kMayChange;
    for (char32_t tc = kTBase + 1; tc < kTBase + kTCount; ++tc) table[tc] = kMayChange;
  } else {
    for (char32_t cp = kSBase; cp < kSBase + kSCount; ++cp) table[cp] = kMayChange;
  }
  return table;
}

const std::shared_ptr<const QuickCheck>& quick_check_of(Form form) {
  static const std::array<std::shared_ptr<const QuickCheck>, 4> of_forms = {
      std::make_shared<const QuickCheck>(quick_check_values(Form::kNFC)),
      std::make_shared<const QuickCheck>(quick_check_values(Form::kNFD)),
      std::make_shared<const QuickCheck>(quick_check_values(Form::kNFKC)),
      std::make_shared<const QuickCheck>(quick_check_values(Form::kNFKD))};
  return of_forms[static_cast<std::size_t>(form)];
}

// `text` in one form, appended to `out`. A character of class 0 in the quick-check table is
// a boundary: unchanged, and joining nothing before it, so that the text normalizes piece by
// piece between boundaries. The stretches that pass the quick check are copied; the others,
// from the boundary before them to the boundary after, run through the algorithm.
void run_form(Form form, std::string_view text, std::string& out) {
  const Tables& t = tables();
  const QuickCheck& classes = *quick_check_of(form);
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  thread_local std::u32string cps, scratch;
  std::size_t copied = 0;    // text[0, copied) is in out
  std::size_t boundary = 0;  // where the last boundary stands
  std::uint8_t last = 0;     // the class of the previous character
  for (std::size_t i = 0; i < n;) {
    if (p[i] < 0x80) {  // ASCII characters are boundaries under every form
      boundary = i++;
      last = 0;
      continue;
    }
    const auto [cp, length] = decode_utf8(p + i);
    const std::uint8_t cls = classes[cp];
    if (cls == 0) boundary = i;
    if (cls != kMayChange && (cls == 0 || cls >= last)) {
      last = cls;
      i += length;
      continue;
    }
    std::size_t end = i + length;
    while (end < n) {
      const auto [next, next_length] = decode_utf8(p + end);
      if (classes[next] == 0) break;
      end += next_length;
    }
    out.append(text.substr(copied, boundary - copied));
    decode(text.substr(boundary, end - boundary), cps);
    run_algorithm(t, form, cps, scratch);
    append_utf8(cps, out);
    copied = i = end;
    last = 0;
  }
  out.append(text.substr(copied));
}

}  // namespace

Form form_named(std::string_view name) {
  if (name == "NFC") return Form::kNFC;
  if (name == "NFD") return Form::kNFD;
  if (name == "NFKC") return Form::kNFKC;
  if (name == "NFKD") return Form::kNFKD;
  throw std::invalid_argument("unknown normalization form: " + std::string(name));
}

Normalizer::Normalizer(std::vector<Form> forms) : forms_(std::move(forms)) {
  if (forms_.size() == 1) {
    quick_check_ = quick_check_of(forms_[0]);
    return;
  }
  std::vector<std::uint8_t> values(kCodePoints);
  for (char32_t cp = 0; cp < kCodePoints; ++cp) {
    values[cp] = tables().cls(cp);
    for (const Form form : forms_) {
      if ((*quick_check_of(form))[cp] == kMayChange) values[cp] = kMayChange;
    }
  }
  quick_check_ = std::make_shared<const QuickCheck>(values);
}

void Normalizer::normalize(std::string_view text, std::string& out) const {
  out.clear();
  if (forms_.empty()) {
    out.assign(text);
    return;
  }
  run_form(forms_[0], text, out);
  std::string previous;
  for (std::size_t i = 1; i < forms_.size(); ++i) {
    std::swap(previous, out);
    out.clear();
    run_form(forms_[i], previous, out);
  }
}

}  // namespace tokenomix::screen
