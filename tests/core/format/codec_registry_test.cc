// Tests of CodecRegistry: finding codecs by name, detecting an input's format, and the messages
// for inputs nothing recognises (including formats people mistake for Torch7 or R files).
#include <memory>
#include <string>

#include "core/format/codec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace seriald {
namespace {

using ::testing::HasSubstr;

// A codec that recognises inputs starting with `magic`, reads them as one string node and writes
// `magic` followed by that string.
class FakeCodec : public Codec {
 public:
  FakeCodec(std::string name, std::string family, std::string magic)
      : name_(std::move(name)), family_(std::move(family)), magic_(std::move(magic)) {}
  std::string_view name() const override { return name_; }
  std::string_view description() const override { return "a fake format"; }
  std::string_view family() const override { return family_; }
  Recognition Recognize(const Buffer& input) const override {
    ++recognize_calls;
    if (input.view().substr(0, magic_.size()) == magic_) return {Recognition::kYes, "magic"};
    return {Recognition::kNo, "no " + magic_ + " magic"};
  }
  absl::StatusOr<Value> Read(const Buffer& input, const ReadOptions&) const override {
    Value value;
    value.roots().push_back(value.AddString(input.view().substr(magic_.size())));
    return value;
  }
  absl::Status Write(const Value& value, const WriteOptions&, ByteWriter& out) const override {
    out.Append(magic_);
    out.Append(value.Get<StringValue>(value.roots()[0]).bytes);
    return absl::OkStatus();
  }
  mutable int recognize_calls = 0;

 private:
  std::string name_, family_, magic_;
};

Buffer Input(std::string_view bytes) { return Buffer::Copy(bytes); }

struct Registry {
  CodecRegistry registry;
  FakeCodec* alpha;
  FakeCodec* alpha_text;
  FakeCodec* beta;
};

Registry MakeRegistry() {
  Registry r;
  auto alpha = std::make_unique<FakeCodec>("alpha", "alpha", "AL");
  auto alpha_text = std::make_unique<FakeCodec>("alpha-text", "alpha", "AL");
  auto beta = std::make_unique<FakeCodec>("beta", "beta", "BE");
  r.alpha = alpha.get();
  r.alpha_text = alpha_text.get();
  r.beta = beta.get();
  r.registry.Register(std::move(alpha));
  r.registry.Register(std::move(alpha_text));
  r.registry.Register(std::move(beta));
  return r;
}

// The first block of a tar archive (POSIX ustar), as PyTorch's legacy torch.save wrote one.
std::string TarHeader() {
  std::string block(512, '\0');
  block.replace(0, 8, "storages");
  block.replace(257, 8,
                std::string("ustar\0"
                            "00",
                            8));
  return block;
}

TEST(CodecRegistryTest, FindsByNameAndListsTheKnownNamesOtherwise) {
  Registry r = MakeRegistry();
  ASSERT_TRUE(r.registry.Find("beta").ok());
  EXPECT_EQ(*r.registry.Find("beta"), r.beta);
  absl::Status unknown = r.registry.Find("gamma").status();
  EXPECT_EQ(unknown.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(unknown.message(), "unknown format \"gamma\" (known: alpha, alpha-text, beta)");
  ASSERT_EQ(r.registry.codecs().size(), 3u);
  EXPECT_EQ(r.registry.codecs()[1], r.alpha_text);
}

TEST(CodecRegistryTest, DetectAsksOneCodecPerFamily) {
  Registry r = MakeRegistry();
  absl::StatusOr<const Codec*> detected = r.registry.Detect(Input("ALxyz"));
  ASSERT_TRUE(detected.ok()) << detected.status();
  EXPECT_EQ(*detected, r.alpha);  // the family's first codec reads every encoding
  EXPECT_EQ(r.alpha_text->recognize_calls, 0);
  EXPECT_EQ(*r.registry.Detect(Input("BE")), r.beta);
}

TEST(CodecRegistryTest, DetectReportsAmbiguity) {
  CodecRegistry registry;
  registry.Register(std::make_unique<FakeCodec>("one", "one", "X"));
  registry.Register(std::make_unique<FakeCodec>("two", "two", "X"));
  absl::Status status = registry.Detect(Input("X\n")).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "cannot tell the input format: it could be one or two; name it with --from");
}

TEST(CodecRegistryTest, DetectNamesForeignFormatsAndWhatWasTried) {
  Registry r = MakeRegistry();
  struct Case {
    std::string input;
    std::string expected;
  };
  const Case cases[] = {
      {std::string("\x80\x02\x8a\x0a", 4),
       "unrecognised input: it is a Python pickle (protocol 2), as PyTorch's torch.save wrote "
       "before 1.6"},
      {std::string("PK\x03\x04\x14\0", 6), "unrecognised input: it is a ZIP archive"},
      {TarHeader(), "unrecognised input: it is a tar archive, as PyTorch's torch.save wrote"},
      {std::string("\x93NUMPY\x01\0", 8), "unrecognised input: it is a NumPy .npy file"},
      {std::string("\x89HDF\r\n\x1a\n", 8), "unrecognised input: it is an HDF5 file"},
      {"", "unrecognised input: it is empty"},
      {"hello,\tworld\n", "unrecognised input: it looks like text (\"hello,.world.\")"},
  };
  for (const Case& c : cases) {
    absl::Status status = r.registry.Detect(Input(c.input)).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(status.message()), HasSubstr(c.expected));
    EXPECT_THAT(std::string(status.message()),
                HasSubstr("(tried alpha: no AL magic; beta: no BE magic)"));
  }
  // Binary that is nothing known: just what was tried.
  absl::Status binary = r.registry.Detect(Input(std::string("\x01\x02\x03", 3))).status();
  EXPECT_EQ(binary.message(), "unrecognised input (tried alpha: no AL magic; beta: no BE magic)");
}

TEST(CodecRegistryTest, ReadAsAndWriteAsUseTheNamedOrDetectedCodec) {
  Registry r = MakeRegistry();
  absl::StatusOr<Value> detected = ReadAs(r.registry, "", Input("BEhello"), ReadOptions{});
  ASSERT_TRUE(detected.ok()) << detected.status();
  EXPECT_EQ(detected->Get<StringValue>(detected->roots()[0]).bytes, "hello");
  absl::StatusOr<Value> named = ReadAs(r.registry, "alpha", Input("ALxy"), ReadOptions{});
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(named->Get<StringValue>(0).bytes, "xy");
  EXPECT_EQ(ReadAs(r.registry, "nope", Input("AL"), ReadOptions{}).status().code(),
            absl::StatusCode::kNotFound);

  absl::StatusOr<BufferChain> written = WriteAs(r.registry, "beta", *named, WriteOptions{});
  ASSERT_TRUE(written.ok());
  EXPECT_EQ(written->ToString(), "BExy");
}

}  // namespace
}  // namespace seriald
