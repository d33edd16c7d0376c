#include "train/zip_check.h"

#include <zlib.h>

#include <cstdint>

namespace attn {

namespace {

// Little-endian reads, bounds-checked by the callers.
uint64_t le(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

constexpr uint32_t kLocal = 0x04034b50, kCentral = 0x02014b50, kEnd = 0x06054b50;
constexpr uint32_t kEnd64 = 0x06064b50, kEnd64Locator = 0x07064b50;
constexpr uint64_t k32 = 0xFFFFFFFFu;

}  // namespace

std::string zip_damage(const char* d, size_t n) {
  // End of central directory: 22 bytes plus a comment of at most 64 KiB.
  if (n < 22) return "too short to be a checkpoint (" + std::to_string(n) + " bytes)";
  size_t end = std::string::npos;
  for (size_t i = n - 22 + 1; i-- > 0 && n - i <= 22 + 0xFFFF;) {
    if (le(d + i, 4) == kEnd) {
      end = i;
      break;
    }
  }
  if (end == std::string::npos) return "truncated (no zip directory at the end)";
  uint64_t count = le(d + end + 10, 2), dir = le(d + end + 16, 4);
  if (count == 0xFFFF || dir == k32) {  // zip64: the real values are in the zip64 end record
    if (end < 20 || le(d + end - 20, 4) != kEnd64Locator) return "damaged zip64 directory";
    uint64_t e64 = le(d + end - 20 + 8, 8);
    if (e64 + 56 > n || le(d + e64, 4) != kEnd64) return "damaged zip64 directory";
    count = le(d + e64 + 32, 8);
    dir = le(d + e64 + 48, 8);
  }
  size_t p = dir;
  for (uint64_t k = 0; k < count; ++k) {
    if (p + 46 > n || le(d + p, 4) != kCentral) return "damaged zip directory";
    uint64_t method = le(d + p + 10, 2), crc = le(d + p + 16, 4);
    uint64_t csize = le(d + p + 20, 4), size = le(d + p + 24, 4), local = le(d + p + 42, 4);
    size_t name_len = le(d + p + 28, 2), extra_len = le(d + p + 30, 2), comment_len = le(d + p + 32, 2);
    if (p + 46 + name_len + extra_len > n) return "damaged zip directory";
    std::string name(d + p + 46, name_len);
    // Zip64 extra field: 64-bit values for whichever of these were 0xFFFFFFFF, in this order.
    for (size_t x = p + 46 + name_len, xe = x + extra_len; x + 4 <= xe;) {
      size_t id = le(d + x, 2), len = le(d + x + 2, 2), v = x + 4;
      if (id == 1) {
        for (uint64_t* f : {&size, &csize, &local}) {
          if (*f == k32 && v + 8 <= x + 4 + len) *f = le(d + v, 8), v += 8;
        }
      }
      x += 4 + len;
    }
    if (local + 30 > n || le(d + local, 4) != kLocal) return "entry " + name + ": damaged header";
    size_t data = local + 30 + le(d + local + 26, 2) + le(d + local + 28, 2);
    if (data + csize > n) return "entry " + name + ": truncated";
    // LibTorch stores entries uncompressed; anything else is not ours to check.
    if (method == 0 && crc32_z(0, reinterpret_cast<const Bytef*>(d + data), csize) != crc)
      return "entry " + name + ": CRC mismatch (the file was changed after it was written)";
    p += 46 + name_len + extra_len + comment_len;
  }
  return "";
}

}  // namespace attn
