// File: core/torch7/codec.h
//
// The Torch7 codecs ("t7": binary, "t7-ascii": text) for the CodecRegistry.
#ifndef SERIALD_CORE_TORCH7_CODEC_H_
#define SERIALD_CORE_TORCH7_CODEC_H_

#include "core/format/codec.h"

namespace seriald {

// Adds "t7" and "t7-ascii" to `registry`.
void RegisterTorch7Codecs(CodecRegistry& registry);

}  // namespace seriald

#endif  // SERIALD_CORE_TORCH7_CODEC_H_
