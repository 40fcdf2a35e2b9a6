#include "core/format/codec.h"
#include "core/torch7/codec.h"

namespace seriald {

CodecRegistry CoreCodecs() {
  CodecRegistry registry;
  RegisterTorch7Codecs(registry);
  return registry;
}

}  // namespace seriald
