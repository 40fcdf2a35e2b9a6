// File: proto/json_codec.h
//
// The "json" codec: the JSON form of a Value (value_json.h) as a format of the CodecRegistry, so
// that serialctl and the service convert to and from JSON like any other format. It recognises
// input whose first non-whitespace byte is '{', reads with ValueFromJson (then applies
// ReadOptions::max_depth to the node graph, measured as a writer nests it) and writes with
// WriteValueJson (ValueToJson's text, large arrays' data encoded as it is written) followed by a
// newline, indented when WriteOptions::json_pretty is set.
//
// Example:
//
//   CodecRegistry registry = CoreCodecs();
//   RegisterJsonCodec(registry);
//   ASSIGN_OR_RETURN(BufferChain text,
//                    WriteAs(registry, "json", value, WriteOptions{.json_pretty = true}));
#ifndef SERIALD_PROTO_JSON_CODEC_H_
#define SERIALD_PROTO_JSON_CODEC_H_

#include "core/format/codec.h"

namespace seriald {

// Adds "json" (family "json") to `registry`.
void RegisterJsonCodec(CodecRegistry& registry);

}  // namespace seriald

#endif  // SERIALD_PROTO_JSON_CODEC_H_
