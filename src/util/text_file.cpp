#include "util/text_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "util/errors.h"

namespace attn {

size_t find_invalid_utf8(const std::string& s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size(), i = 0;
  while (i < n) {
    unsigned char c = p[i];
    size_t len;
    unsigned min_cp;
    unsigned cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1F, min_cp = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F, min_cp = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07, min_cp = 0x10000;
    } else {
      return i;
    }
    if (i + len > n) return i;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if (cp < min_cp || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += len;
  }
  return std::string::npos;
}

void strip_bom(std::string& first_line) {
  if (first_line.rfind("\xEF\xBB\xBF", 0) == 0) first_line.erase(0, 3);
}

std::vector<std::string> read_lines(const std::string& path) {
  if (!std::filesystem::exists(path)) throw DataError(path + ": no such file");
  if (std::filesystem::is_directory(path)) throw DataError(path + ": is a directory, expected a text file");
  // gzopen reads plain files as they are, so one path serves both.
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw DataError(path + ": cannot open for reading");
  gzbuffer(f, 1 << 17);
  std::vector<std::string> lines;
  std::string cur;
  char buf[1 << 16];
  int got;
  while ((got = gzread(f, buf, sizeof buf)) > 0) {
    for (int i = 0; i < got; ++i) {
      if (buf[i] == '\n') {
        if (!cur.empty() && cur.back() == '\r') cur.pop_back();
        lines.push_back(std::move(cur));
        cur.clear();
      } else {
        cur.push_back(buf[i]);
      }
    }
  }
  int err = 0;
  const char* msg = gzerror(f, &err);
  gzclose(f);
  if (got < 0 || (err != Z_OK && err != Z_STREAM_END))
    throw DataError(path + ": read error after line " + std::to_string(lines.size()) + ": " + msg);
  if (!cur.empty()) {
    if (cur.back() == '\r') cur.pop_back();
    lines.push_back(std::move(cur));
  }
  if (!lines.empty()) strip_bom(lines[0]);
  for (size_t i = 0; i < lines.size(); ++i) {
    size_t bad = find_invalid_utf8(lines[i]);
    if (bad != std::string::npos)
      throw DataError(path + ":" + std::to_string(i + 1) + ": invalid UTF-8 at byte " + std::to_string(bad + 1));
  }
  return lines;
}

namespace {

std::string why(int err) { return std::strerror(err); }

// write(2) until done; false with errno set on failure.
bool write_all(int fd, const std::string& content) {
  const char* p = content.data();
  size_t left = content.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

void check_writable(const std::string& path) {
  // Nothing is created here: a command refused later must leave no folder behind.
  std::filesystem::path p(path);
  std::error_code ec;
  if (std::filesystem::is_directory(p, ec)) throw WriteError(path + ": is a directory, expected a file name");
  std::filesystem::path dir = p.parent_path();
  while (!dir.empty() && !std::filesystem::exists(dir, ec)) dir = dir.parent_path();
  if (dir.empty()) dir = ".";
  if (!std::filesystem::is_directory(dir, ec))
    throw WriteError(path + ": cannot create its folder: " + dir.string() + " is not a directory");
  if (::access(dir.c_str(), W_OK) != 0) throw WriteError(path + ": cannot write there: " + why(errno));
}

namespace {
void make_parent(const std::string& path) {
  std::filesystem::path p(path);
  if (!p.has_parent_path()) return;
  std::error_code ec;
  std::filesystem::create_directories(p.parent_path(), ec);
  if (ec) throw WriteError(path + ": cannot create its folder: " + ec.message());
}
}  // namespace

void write_file_atomic(const std::string& path, const std::string& content) {
  check_writable(path);
  make_parent(path);
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) throw WriteError(path + ": cannot write: " + why(errno));
  auto fail = [&](bool close_it) {
    int err = errno;
    if (close_it) ::close(fd);
    ::unlink(tmp.c_str());
    throw WriteError(path + ": cannot write: " + why(err));
  };
  if (!write_all(fd, content)) fail(true);
  if (::close(fd) != 0) fail(false);
  if (::rename(tmp.c_str(), path.c_str()) != 0) fail(false);
}

void append_file(const std::string& path, const std::string& content) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
  if (fd < 0) throw WriteError(path + ": cannot write: " + why(errno));
  struct stat st {};
  off_t before = ::fstat(fd, &st) == 0 ? st.st_size : -1;
  bool ok = write_all(fd, content);
  int err = errno;
  if (!ok && before >= 0) (void)!::ftruncate(fd, before);
  if (::close(fd) != 0 && ok) ok = false, err = errno;
  if (!ok) throw WriteError(path + ": cannot write: " + why(err));
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw DataError(path + ": cannot open for reading");
  std::string bytes(static_cast<size_t>(in.tellg()), '\0');
  in.seekg(0);
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!in) throw DataError(path + ": read error");
  return bytes;
}

std::vector<std::string> split_ws(const std::string& s) {
  std::vector<std::string> out;
  size_t i = 0, n = s.size();
  while (i < n) {
    while (i < n && (s[i] == ' ' || s[i] == '\t')) ++i;
    size_t j = i;
    while (j < n && s[j] != ' ' && s[j] != '\t') ++j;
    if (j > i) out.emplace_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += sep;
    s += v[i];
  }
  return s;
}

}  // namespace attn
