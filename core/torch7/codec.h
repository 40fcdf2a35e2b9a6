// File: core/torch7/codec.h
//
// The Torch7 codecs for the CodecRegistry, both of family "t7":
//   "t7"        reads binary or ascii (detecting mode, byte order and long size, see reader.h);
//               writes binary
//   "t7-ascii"  reads ascii only; writes ascii (torch.save(path, obj, 'ascii'))
// Writing takes the long size and byte order from WriteOptions, else from the stream the value
// was read from (value.source().torch7: converting a 4-byte-long or big-endian file to "t7"
// reproduces it), else little-endian with 8-byte longs. Ascii output does not take a binary
// source's layout: text records none, and readers assume 8-byte little-endian longs (only a
// torch.Generator's raw state depends on it).
//
// Example:
//
//   CodecRegistry registry;
//   RegisterTorch7Codecs(registry);
//   ASSIGN_OR_RETURN(BufferChain text, WriteAs(registry, "t7-ascii", value, WriteOptions{}));
#ifndef SERIALD_CORE_TORCH7_CODEC_H_
#define SERIALD_CORE_TORCH7_CODEC_H_

#include "core/format/codec.h"

namespace seriald {

// Adds "t7" and "t7-ascii" to `registry`.
void RegisterTorch7Codecs(CodecRegistry& registry);

// The layout "t7" (ascii false) or "t7-ascii" (ascii true) writes `value` in with `options`, by
// the rules above; read back with it as ReadOptions, the output gives the value again.
Torch7Layout Torch7OutputLayout(const Value& value, const WriteOptions& options, bool ascii);
// The same for a stream read with `source` (a layout as Value::source().torch7 records it).
Torch7Layout Torch7OutputLayout(const Torch7Layout& source, const WriteOptions& options,
                                bool ascii);

}  // namespace seriald

#endif  // SERIALD_CORE_TORCH7_CODEC_H_
