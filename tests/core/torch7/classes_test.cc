// Torch7 class knowledge: type stems both ways, version strings, and the torch.Generator struct's
// layouts.
#include "core/torch7/classes.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace seriald::torch7 {
namespace {

TEST(Torch7ClassesTest, TypeStemsNameTheCpuClassesAndClassifyBack) {
  const std::pair<ElementType, std::string_view> stems[] = {
      {ElementType::kUint8, "Byte"},    {ElementType::kInt8, "Char"},
      {ElementType::kInt16, "Short"},   {ElementType::kInt32, "Int"},
      {ElementType::kInt64, "Long"},    {ElementType::kFloat16, "Half"},
      {ElementType::kFloat32, "Float"}, {ElementType::kFloat64, "Double"},
  };
  for (const auto& [type, stem] : stems) {
    EXPECT_EQ(TypeStem(type), stem);
    const ClassInfo tensor = ClassifyClass("torch." + std::string(stem) + "Tensor");
    EXPECT_EQ(tensor.payload, Payload::kTensor) << stem;
    EXPECT_EQ(tensor.element_type, type) << stem;
  }
  // Types Torch7 has no class for.
  EXPECT_EQ(TypeStem(ElementType::kLogical), "");
  EXPECT_EQ(TypeStem(ElementType::kRaw), "");
  EXPECT_EQ(TypeStem(ElementType::kComplex128), "");
}

TEST(Torch7ClassesTest, VersionStringsAreWhatLuasTonumberAccepts) {
  EXPECT_EQ(VersionOf("V 1"), "1");
  EXPECT_EQ(VersionOf("V  2.5 "), " 2.5 ");
  EXPECT_EQ(VersionOf("V 0x10"), "0x10");
  EXPECT_EQ(VersionOf("V -3"), "-3");
  EXPECT_EQ(VersionOf("V \x05"), std::nullopt);
  EXPECT_EQ(VersionOf("V "), std::nullopt);
  EXPECT_EQ(VersionOf("V 1x"), std::nullopt);
  EXPECT_EQ(VersionOf("nn.Linear"), std::nullopt);
}

TEST(Torch7ClassesTest, GeneratorStateSizesAndRelayErrors) {
  EXPECT_EQ(GeneratorStateSize(8), 5048u);
  EXPECT_EQ(GeneratorStateSize(4), 2544u);
  // The state must have its layout's size.
  absl::StatusOr<std::string> short_state =
      RelayGeneratorState(std::string(100, '\0'), {8, false}, {4, false});
  ASSERT_FALSE(short_state.ok());
  EXPECT_EQ(short_state.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(short_state.status().message(),
            "a torch.Generator state written with 8-byte longs has 5048 bytes, not 100");
  // Byte order alone: every field swapped in place, the same size.
  std::string state(2544, '\0');
  state[0] = 1;  // the_initial_seed = 1, little-endian
  absl::StatusOr<std::string> big = RelayGeneratorState(state, {4, false}, {4, true});
  ASSERT_TRUE(big.ok()) << big.status();
  EXPECT_EQ(big->substr(0, 4), std::string("\0\0\0\x01", 4));
  absl::StatusOr<std::string> back = RelayGeneratorState(*big, {4, true}, {4, false});
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, state);
}

}  // namespace
}  // namespace seriald::torch7
