// Whole texts as byte buffers: UTF-8 checks, and counting one large text on many threads.
//
// A large text is cut into chunks at positions where every split pattern we ship is known to
// end a piece whether or not the text goes on: in "a\nb", between the line feed and b, where
// a and b are printable ASCII and b is not '/'. No piece of r50k, cl100k or o200k holds "\nb"
// (their pieces keep \r and \n to whitespace runs and to the tail of a punctuation run;
// o200k's tail [\r\n/]* is why '/' is excluded), and with a non-space before the line feed the
// piece that ends there is "\n" or a punctuation run, at the end of a text or not (r50k's
// \s+(?!\S) would otherwise split "  \n" differently). Lines can be long (minified JSON), so
// a second cut is taken too: in "a b" with a and b ASCII letters, before the space, where a
// letter run ends and " b..." starts in every pattern. So the chunks' counts add up to the
// count of the whole text.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "bpe/encoder.hpp"

namespace tokenomix::batch {

// Offset of the first byte that is not part of valid UTF-8 (as Python's strict decoder
// judges it: no overlong forms, no surrogates, nothing above U+10FFFF), or nullopt.
std::optional<std::size_t> first_invalid_utf8(std::string_view text);

// Number of code points of valid UTF-8.
std::size_t count_code_points(std::string_view text);

// Chunk boundaries of about `chunk_bytes` each: 0, cuts at safe positions, text.size().
std::vector<std::size_t> chunk_bounds(std::string_view text, std::size_t chunk_bytes);

// The lines of a text, without their terminators ("\n", or "\r\n"); a text that ends with a
// line feed has no empty last line.
std::vector<std::string_view> split_lines(std::string_view text);

// encoder.count(text), with the text cut into chunks counted on up to `threads` threads.
std::size_t count_text(const bpe::Encoder& encoder, std::string_view text, std::size_t threads);

}  // namespace tokenomix::batch
