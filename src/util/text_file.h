// Reading and writing text files: gzip transparently, UTF-8 checked, and
// atomic writes (temp name, then rename) so nothing is left half-written.
#pragma once
#include <string>
#include <vector>

namespace attn {

// All lines of a plain or .gz file, without newlines (a trailing \r is kept
// out too). Throws DataError "file:line: ..." on unreadable files or invalid UTF-8.
std::vector<std::string> read_lines(const std::string& path);
// Removes a UTF-8 byte-order mark from the start of a text's first line (some
// editors write one; left in, it glues itself to the first word).
void strip_bom(std::string& first_line);

// Byte offset of the first invalid UTF-8 sequence, or npos.
size_t find_invalid_utf8(const std::string& s);

// Write `content` to `path` through `path.tmp` + rename. On any failure the
// temp file is removed, `path` keeps its old content, and WriteError says
// why ("No space left on device", "Is a directory", ...).
void write_file_atomic(const std::string& path, const std::string& content);
// Append `content` to `path` (created if absent). A failed write is undone
// (the file is cut back to its old size, so no half line stays) and throws WriteError.
void append_file(const std::string& path, const std::string& content);
// Throws WriteError unless `path` could be written: not a directory, its
// folder exists or can be made (nothing is created). Checked before long work,
// not after. write_file_atomic makes the folder when it writes.
void check_writable(const std::string& path);
std::string read_file(const std::string& path);

// Split on runs of spaces/tabs.
std::vector<std::string> split_ws(const std::string& s);
std::string join(const std::vector<std::string>& v, const std::string& sep = " ");

}  // namespace attn
