// Integrity of a checkpoint file. LibTorch writes checkpoints as zip archives
// with a CRC-32 per entry, but its reader does not verify them (PyTorch builds
// miniz with CRC checks off), so a few flipped bytes inside a tensor load
// silently and the model translates wrongly. This walks the zip's central
// directory and checks every stored entry's CRC.
#pragma once
#include <cstddef>
#include <string>

namespace attn {

// "" when the archive is whole and every entry's CRC-32 matches its bytes;
// otherwise what is wrong, e.g. "entry archive/data/3: CRC mismatch".
std::string zip_damage(const char* data, size_t size);

}  // namespace attn
