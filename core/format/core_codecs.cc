#include "core/convert/array_codecs.h"
#include "core/format/codec.h"
#include "core/rds/codec.h"
#include "core/torch7/codec.h"

namespace seriald {

CodecRegistry CoreCodecs() {
  CodecRegistry registry;
  RegisterTorch7Codecs(registry);
  RegisterRdsCodecs(registry);
  RegisterArrayCodecs(registry);
  return registry;
}

}  // namespace seriald
