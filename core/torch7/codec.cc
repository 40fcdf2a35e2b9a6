#include "core/torch7/codec.h"

namespace seriald {

void RegisterTorch7Codecs(CodecRegistry& registry) {}

}  // namespace seriald
