// File: core/rds/sexptype.h
//
// The numbers of R's serialization format shared by the reader and the writer: SEXPTYPE codes
// (Rinternals.h:106-138), the pseudo-types that only exist on the wire (serialize.c:690-720), the
// layout of the flags word that starts every item (PackFlags/UnpackFlags, serialize.c:732-765)
// and the CHARSXP encoding bits (Defn.h:797-803).
//
// Example:
//
//   rds::ItemFlags flags = rds::UnpackFlags(word);
//   if (flags.type == rds::kRefSxp) index = rds::RefIndex(word);
#ifndef SERIALD_CORE_RDS_SEXPTYPE_H_
#define SERIALD_CORE_RDS_SEXPTYPE_H_

#include <cstdint>
#include <string_view>

namespace seriald::rds {

enum SexpType : int32_t {
  kNilSxp = 0,
  kSymSxp = 1,
  kListSxp = 2,
  kCloSxp = 3,
  kEnvSxp = 4,
  kPromSxp = 5,
  kLangSxp = 6,
  kSpecialSxp = 7,
  kBuiltinSxp = 8,
  kCharSxp = 9,
  kLglSxp = 10,
  kIntSxp = 13,
  kRealSxp = 14,
  kCplxSxp = 15,
  kStrSxp = 16,
  kDotSxp = 17,
  kVecSxp = 19,
  kExprSxp = 20,
  kBcodeSxp = 21,
  kExtptrSxp = 22,
  kWeakrefSxp = 23,
  kRawSxp = 24,
  kS4Sxp = 25,
  // Pseudo-types (serialize.c:690-720).
  kRefSxp = 255,
  kNilValueSxp = 254,
  kGlobalEnvSxp = 253,
  kUnboundValueSxp = 252,
  kMissingArgSxp = 251,
  kBaseNamespaceSxp = 250,
  kNamespaceSxp = 249,
  kPackageSxp = 248,
  kPersistSxp = 247,
  kClassRefSxp = 246,
  kGenericRefSxp = 245,
  kBcRepDef = 244,
  kBcRepRef = 243,
  kEmptyEnvSxp = 242,
  kBaseEnvSxp = 241,
  kAttrLangSxp = 240,
  kAttrListSxp = 239,
  kAltrepSxp = 238,
};

// Flags word bits.
inline constexpr int32_t kIsObjectBit = 1 << 8;
inline constexpr int32_t kHasAttrBit = 1 << 9;
inline constexpr int32_t kHasTagBit = 1 << 10;

// CHARSXP levels (Defn.h:797-803).
inline constexpr uint16_t kBytesMask = 1 << 1;
inline constexpr uint16_t kLatin1Mask = 1 << 2;
inline constexpr uint16_t kUtf8Mask = 1 << 3;
inline constexpr uint16_t kCachedMask = 1 << 5;
inline constexpr uint16_t kAsciiMask = 1 << 6;
inline constexpr uint16_t kHashMask = 1;

// The type words of a language object in byte code's form (serialize.c ReadBCLang): a cell of a
// chain (with attributes: the ATTR variants), and a cell shared within a byte code object, defined
// or referred to by its index.
inline bool IsBcCellType(int32_t type) {
  return type == kLangSxp || type == kListSxp || type == kAttrLangSxp || type == kAttrListSxp;
}
inline bool IsBcLangType(int32_t type) {
  return IsBcCellType(type) || type == kBcRepDef || type == kBcRepRef;
}

// Largest reference index that fits in the flags word (INT_MAX >> 8).
inline constexpr int32_t kMaxPackedRefIndex = 0x7FFFFFFF >> 8;

// Stream versions and R_Version(v, p, s) numbers.
inline constexpr int32_t kRVersion422 = 0x00040202;
// The longest native encoding name a version-3 header holds (R_CODESET_MAX, serialize.c).
inline constexpr int32_t kMaxNativeEncodingBytes = 63;
inline constexpr int32_t kMinReaderVersion2 = 0x00020300;  // R_Version(2, 3, 0)
inline constexpr int32_t kMinReaderVersion3 = 0x00030500;  // R_Version(3, 5, 0)

struct ItemFlags {
  int32_t type = 0;
  uint16_t levels = 0;
  bool is_object = false;
  bool has_attr = false;
  bool has_tag = false;
};

inline ItemFlags UnpackFlags(int32_t word) {
  const auto bits = static_cast<uint32_t>(word);
  return ItemFlags{static_cast<int32_t>(bits & 0xFF), static_cast<uint16_t>(bits >> 12),
                   (bits & kIsObjectBit) != 0, (bits & kHasAttrBit) != 0, (bits & kHasTagBit) != 0};
}

inline int32_t PackFlags(int32_t type, uint16_t levels, bool is_object, bool has_attr,
                         bool has_tag) {
  uint32_t word = static_cast<uint32_t>(type) | (static_cast<uint32_t>(levels) << 12);
  if (is_object) word |= kIsObjectBit;
  if (has_attr) word |= kHasAttrBit;
  if (has_tag) word |= kHasTagBit;
  return static_cast<int32_t>(word);
}

// The reference index packed into a REFSXP flags word (0: the index follows as an int).
inline int32_t RefIndex(int32_t word) {
  return static_cast<int32_t>(static_cast<uint32_t>(word) >> 8);
}

// The words of a reference to 1-based `index` (OutRefIndex, serialize.c:778-798): one packed
// word, or REFSXP followed by the index when it does not fit. Returns how many words.
inline int PackRef(int32_t index, int32_t words[2]) {
  if (index > kMaxPackedRefIndex) {
    words[0] = kRefSxp;
    words[1] = index;
    return 2;
  }
  words[0] = static_cast<int32_t>((static_cast<uint32_t>(index) << 8) | kRefSxp);
  return 1;
}

// Whether `head` starts with a save() file magic: "RDX2\n", "RDX3\n", "RDA2\n", "RDA3\n",
// "RDB2\n" or "RDB3\n" (saveload.c:1763-1797).
inline bool IsRDataMagic(std::string_view head) {
  return head.size() >= 5 && head.substr(0, 2) == "RD" &&
         (head[2] == 'X' || head[2] == 'A' || head[2] == 'B') &&
         (head[3] == '2' || head[3] == '3') && head[4] == '\n';
}

}  // namespace seriald::rds

#endif  // SERIALD_CORE_RDS_SEXPTYPE_H_
