// The sentencepiece bridge: C ABI of libattn_spm_bridge.so.
//
// Why a bridge: libsentencepiece.so.0 carries its own protobuf-lite, and
// libtorch links the system protobuf; both in one link namespace crash before
// main. The bridge links sentencepiece and is loaded with
// dlmopen(LM_ID_NEWLM), so its protobuf lives in a namespace of its own.
// Only plain C types cross: each namespace has its own libc heap, so the
// caller owns every buffer (functions return the length they need; the
// caller grows the buffer and calls again).
#pragma once
#include <cstddef>

extern "C" {
// Trains a model with sentencepiece's "--key=value ..." argument string.
typedef int (*attn_spm_train_fn)(const char* args, char* err, int err_len);
// Loads a serialized model; returns a handle or null (message in err).
typedef void* (*attn_spm_load_fn)(const char* bytes, size_t len, char* err, int err_len);
typedef void (*attn_spm_free_fn)(void* handle);
// Pieces of `text`, separated by '\n'. Returns the full length needed.
typedef int (*attn_spm_encode_fn)(void* handle, const char* text, char* out, int out_len);
// Text of '\n'-separated pieces. Returns the full length needed.
typedef int (*attn_spm_decode_fn)(void* handle, const char* pieces, char* out, int out_len);
// All pieces of the model in id order, '\n'-separated.
typedef int (*attn_spm_pieces_fn)(void* handle, char* out, int out_len);
}
