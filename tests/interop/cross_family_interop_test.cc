// Torch7 <-> R conversions (core/convert/cross_family.h) with real R, and an independent Torch7
// reader, as the oracles:
//
//   * every tensor and storage of the Torch7 corpus converted to .rds is, in R, a numeric vector
//     or array at the same path with the documented type, dim and torch7_type attribute, and
//     with the Torch7 elements in R's column-major order (computed here by hand from the
//     tensor's sizes, strides and offset); R's own indexing (x[i, j]) agrees on a few modules;
//   * R objects of every mapped kind, written by R's saveRDS() and converted by serialctl, are,
//     for /work/shared/tools/t7dump.py, the documented tensors and tables, element by element;
//     a closure is refused by path unless --drop-unconvertible leaves it out with a note;
//   * Torch7 -> rds -> R's readRDS()/saveRDS() -> Torch7 keeps every tensor's type, sizes and
//     values.
// Each part runs one batched Rscript process.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/data/torch7_mapping.h"
#include "core/torch7/reader.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/core/convert/convert_testing.h"
#include "tests/core/torch7/testing/corpus.h"
#include "tests/core/torch7/testing/json.h"
#include "tests/testing/files.h"
#include "tests/testing/subprocess.h"

namespace seriald {
namespace {

namespace fs = std::filesystem;
using testing::ConvertBytes;
using testing::CorpusFile;
using testing::CorpusStreams;
using testing::ElementAsDouble;
using ::testing::HasSubstr;
using testing::Json;
using testing::RunProgram;
using testing::RunResult;
using testing::ScratchDir;

const std::string kRscript = "/usr/bin/Rscript";
const std::string kPython = "/usr/bin/python3";
const std::string kSerialctl = SERIALD_BINARY_DIR "/bin/serialctl";
const std::string kT7Dump = SERIALD_SHARED_DIR "/tools/t7dump.py";
const std::string kWalkScript = SERIALD_SOURCE_DIR "/tests/interop/cross_family_walk.R";

// ---- Torch7 side: every tensor and storage of a file's plain data, by every path R will have.

struct TorchArray {
  std::string path;          // dotted, as R's names and positions give it
  bool under_pairs = false;  // below a table with keys that are not all strings: R's path differs
  data::NdArray array;
  std::string storage_class;  // "torch.FloatStorage" for storages, "" for tensors
};

// Element [index...] of `array`, located by hand from its strides and offset.
double ElementAt(const data::NdArray& array, const std::vector<int64_t>& index) {
  int64_t at = static_cast<int64_t>(array.offset);
  for (size_t d = 0; d < index.size(); ++d) at += index[d] * array.strides[d];
  return ElementAsDouble(array, static_cast<uint64_t>(at));
}

// Calls `visit` with every index of `shape`, the first index varying fastest (R's order).
void ForEachIndexColumnMajor(const std::vector<int64_t>& shape,
                             const std::function<void(const std::vector<int64_t>&)>& visit) {
  for (int64_t size : shape) {
    if (size == 0) return;
  }
  std::vector<int64_t> index(shape.size(), 0);
  while (true) {
    visit(index);
    size_t d = 0;
    for (; d < index.size(); ++d) {
      if (++index[d] < shape[d]) break;
      index[d] = 0;
    }
    if (d == index.size()) return;
  }
}

// The elements in R's column-major order.
std::vector<double> ColumnMajorValues(const data::NdArray& array) {
  std::vector<double> values;
  ForEachIndexColumnMajor(array.shape, [&](const std::vector<int64_t>& index) {
    values.push_back(ElementAt(array, index));
  });
  return values;
}

std::string JoinPath(const std::string& path, const std::string& key) {
  return path.empty() ? key : absl::StrCat(path, ".", key);
}

// Every tensor and storage of `plain` at the path of its first occurrence, walking depth-first
// with children (and a table's keys before their values) in order. That is where R has it: R
// shares no lists, so the conversion writes a shared table in full where it is first used and a
// copy, or NULL (a cycle, or a DAG too big to expand), at its other uses. Below a table whose keys
// are not all strings, R has a list of list(key = , value = ) pairs and so other paths: those
// arrays are marked `under_pairs`.
class TorchArrayWalk {
 public:
  explicit TorchArrayWalk(const data::Data& plain) : plain_(plain), visited_(plain.size(), false) {}

  std::vector<TorchArray> Run() {
    const std::vector<ItemId>& roots = plain_.roots();
    for (size_t r = 0; r < roots.size(); ++r) {
      Visit(roots[r], roots.size() == 1 ? std::string() : absl::StrCat(r + 1), false);
    }
    return std::move(out_);
  }

 private:
  void Visit(ItemId id, const std::string& path, bool under_pairs) {
    if (!plain_.Contains(id) || visited_[id]) return;
    visited_[id] = true;
    const data::Item& item = plain_.item(id);
    if (const auto* array = plain_.GetIf<data::NdArray>(id)) {
      out_.push_back({path, under_pairs, *array, item.classes.empty() ? "" : item.classes[0]});
    } else if (const auto* sequence = plain_.GetIf<data::Sequence>(id)) {
      for (size_t i = 0; i < sequence->items.size(); ++i) {
        Visit(sequence->items[i], JoinPath(path, absl::StrCat(i + 1)), under_pairs);
      }
    } else if (const auto* map = plain_.GetIf<data::Map>(id)) {
      const bool string_keys = std::all_of(map->entries.begin(), map->entries.end(), [&](auto& e) {
        return plain_.GetIf<data::String>(e.first) != nullptr;
      });
      for (const auto& [key, value] : map->entries) {
        if (string_keys) {
          Visit(value, JoinPath(path, plain_.GetIf<data::String>(key)->bytes), under_pairs);
        } else {
          Visit(key, JoinPath(path, "?"), true);
          Visit(value, JoinPath(path, "?"), true);
        }
      }
    }
  }

  const data::Data& plain_;
  std::vector<bool> visited_;
  std::vector<TorchArray> out_;
};

std::vector<TorchArray> TorchArrays(const data::Data& plain) { return TorchArrayWalk(plain).Run(); }

// What the documented mapping makes of a Torch7 element type in R.
bool IsRDouble(ElementType type) {
  return type == ElementType::kFloat64 || type == ElementType::kFloat32 ||
         type == ElementType::kFloat16 || type == ElementType::kInt64;
}

std::string TorchStem(ElementType type) {
  switch (type) {
    case ElementType::kUint8:
      return "Byte";
    case ElementType::kInt8:
      return "Char";
    case ElementType::kInt16:
      return "Short";
    case ElementType::kInt32:
      return "Int";
    case ElementType::kInt64:
      return "Long";
    case ElementType::kFloat16:
      return "Half";
    case ElementType::kFloat32:
      return "Float";
    case ElementType::kFloat64:
      return "Double";
    default:
      return "?";
  }
}

// R's dim: c(sizes) from two dimensions up, and for one element (a 1-d array, dim 1); plain
// vectors otherwise.
std::string ExpectedRShape(const std::vector<int64_t>& shape) {
  if (shape.size() >= 2 || (shape.size() == 1 && shape[0] == 1)) {
    return absl::StrCat("dim=", absl::StrJoin(shape, ","));
  }
  return absl::StrCat("len=", shape.empty() ? 0 : shape[0]);
}

// The torch7_type attribute: named when R's type differs, and always for storages.
std::string ExpectedTorch7Type(const TorchArray& a) {
  if (!a.storage_class.empty()) return a.storage_class;
  if (a.array.dtype == ElementType::kFloat64 || a.array.dtype == ElementType::kInt32) return "";
  return absl::StrCat("torch.", TorchStem(a.array.dtype), "Tensor");
}

// ---- R side

struct RArray {
  std::string path, type, shape, torch7_type;
  std::vector<double> values;
  std::vector<bool> na;  // R's NA (distinct from NaN for integers, which have no NaN)
  bool used = false;
};

RArray ParseRArray(const std::vector<std::string>& f) {
  RArray a{f[2], f[3], f[4], f[5], {}, {}};
  for (absl::string_view v : absl::StrSplit(f[6], ' ', absl::SkipEmpty())) {
    const bool na = v == "NA";
    a.na.push_back(na);
    a.values.push_back(na ? std::nan("") : std::strtod(std::string(v).c_str(), nullptr));
  }
  return a;
}

bool SameValues(const std::vector<double>& expected, const RArray& got) {
  if (expected.size() != got.values.size()) return false;
  for (size_t i = 0; i < expected.size(); ++i) {
    if (std::isnan(expected[i])) {
      if (!std::isnan(got.values[i])) return false;
    } else if (got.na[i] || got.values[i] != expected[i] ||
               std::signbit(got.values[i]) != std::signbit(expected[i])) {
      return false;
    }
  }
  return true;
}

std::string Preview(const std::vector<double>& values) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < values.size() && i < 12; ++i) parts.push_back(absl::StrCat(values[i]));
  if (values.size() > 12) parts.push_back("...");
  return absl::StrCat("[", absl::StrJoin(parts, " "), "]");
}

void WriteText(const std::string& path, const std::string& text) {
  testing::WriteBytes(path, text);
}

RunResult Rscript(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/usr/bin/env", "LANG=C.UTF-8", kRscript};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProgram(argv, "", absl::Seconds(120));
}

// An R indexing expression checked against the Torch7 value it should give.
struct IndexCheck {
  std::string file, expression;
  std::string text;              // expected text (class, dim), when `number` is unset
  std::optional<double> number;  // expected element
};

// m<prefix>[i, j, ...] for every index of the Torch7 array at `path` of `arrays`, expecting
// t[i-1][j-1]...
void AddIndexChecks(const std::string& file, const std::string& prefix, const std::string& path,
                    const std::vector<TorchArray>& arrays, std::vector<IndexCheck>& checks) {
  auto it = std::find_if(arrays.begin(), arrays.end(),
                         [&](const TorchArray& a) { return a.path == path; });
  ASSERT_NE(it, arrays.end()) << file << " has no tensor at " << path;
  ASSERT_GE(it->array.shape.size(), 2u) << file << " " << path;
  checks.push_back({file, absl::StrCat("dim(m", prefix, ")"), absl::StrJoin(it->array.shape, ","),
                    std::nullopt});
  ForEachIndexColumnMajor(it->array.shape, [&](const std::vector<int64_t>& index) {
    std::vector<int64_t> one_based;
    for (int64_t i : index) one_based.push_back(i + 1);
    checks.push_back({file, absl::StrCat("m", prefix, "[", absl::StrJoin(one_based, ", "), "]"), "",
                      ElementAt(it->array, index)});
  });
}

// ---- 1. Torch7 -> R

TEST(CrossFamilyInteropTest, EveryCorpusTensorReachesRWithItsValuesAtTheSameIndices) {
  ScratchDir dir;
  WriteOptions drop;
  drop.drop_unconvertible = true;  // functions and cycles elsewhere in a file are not the point
  std::map<std::string, std::vector<TorchArray>> expected;
  std::ostringstream files;
  int refused_by_reader = 0, converted = 0;
  for (const std::string& path : CorpusStreams()) {
    const Buffer input = CorpusFile(path);
    absl::StatusOr<Value> value = ReadTorch7(input);
    if (!value.ok()) {  // the generator blob
      ++refused_by_reader;
      continue;
    }
    absl::StatusOr<data::Data> torch = Torch7ToData(*value);
    ASSERT_TRUE(torch.ok()) << path << ": " << torch.status();
    absl::StatusOr<testing::Converted> r = ConvertBytes(input, "t7", "rds", drop);
    ASSERT_TRUE(r.ok()) << path << ": " << r.status();
    const std::string out = dir.File(absl::StrCat(converted++, ".rds"));
    WriteText(out, std::string(r->bytes.view()));
    files << path << '\t' << out << '\n';
    expected[path] = TorchArrays(*torch);
  }
  EXPECT_LE(refused_by_reader, 2);
  EXPECT_GE(converted, 140);

  // R's own indexing on modules and views whose layout is not R's.
  std::vector<IndexCheck> checks = {
      {"generated/nn_sequential.bin.t7", "class(m)", "nn.Sequential,torch7_object", {}},
      {"generated/nn_sequential.bin.t7", "class(m$modules[[1]])", "nn.Linear,torch7_object", {}},
      {"generated/nn_sequential.bin.t7", "class(m$modules[[2]])", "nn.ReLU,torch7_object", {}},
      {"generated/nn_sequential.bin.t7", "class(m$modules[[3]])", "nn.Tanh,torch7_object", {}},
      {"generated/nn_sequential.bin.t7", "length(m$modules)", "", 3},
      {"generated/checkpoint_like.bin.t7", "class(m$model)", "nn.Linear,torch7_object", {}},
      {"generated/nn_linear.bin.t7", "class(m)", "nn.Linear,torch7_object", {}},
      {"generated/tensor_float_2x3.bin.t7", "attr(m, 'torch7_type')", "torch.FloatTensor", {}},
  };
  AddIndexChecks("generated/nn_sequential.bin.t7", "$modules[[1]]$weight", "modules.1.weight",
                 expected["generated/nn_sequential.bin.t7"], checks);
  AddIndexChecks("generated/checkpoint_like.bin.t7", "$model$weight", "model.weight",
                 expected["generated/checkpoint_like.bin.t7"], checks);
  AddIndexChecks("generated/nn_linear.bin.t7", "$weight", "weight",
                 expected["generated/nn_linear.bin.t7"], checks);
  AddIndexChecks("generated/tensor_transposed.bin.t7", "", "",
                 expected["generated/tensor_transposed.bin.t7"], checks);
  AddIndexChecks("generated/tensor_float_3d.bin.t7", "", "",
                 expected["generated/tensor_float_3d.bin.t7"], checks);
  std::ostringstream check_lines;
  for (const IndexCheck& c : checks) check_lines << c.file << '\t' << c.expression << '\n';

  WriteText(dir.File("files.tsv"), files.str());
  WriteText(dir.File("checks.tsv"), check_lines.str());
  RunResult run =
      Rscript({kWalkScript, dir.File("files.tsv"), dir.File("checks.tsv"), dir.File("r.tsv")});
  ASSERT_EQ(run.exit_code, 0) << run.err;

  std::map<std::string, std::vector<RArray>> seen;  // by file
  std::map<std::pair<std::string, std::string>, std::string> check_results;
  std::map<std::string, std::string> unreadable;  // file -> R's message
  std::ifstream report(dir.File("r.tsv"));
  std::string line;
  while (std::getline(report, line)) {
    std::vector<std::string> f = absl::StrSplit(line, '\t');
    if (f[0] == "unreadable") {
      ASSERT_EQ(f.size(), 3u) << line;
      unreadable[f[1]] = f[2];
    } else if (f[0] == "check") {
      ASSERT_EQ(f.size(), 4u) << line;
      check_results[{f[1], f[2]}] = f[3];
    } else {
      ASSERT_EQ(f.size(), 7u) << line;
      seen[f[1]].push_back(ParseRArray(f));
    }
  }

  // R must read every file seriald writes.
  for (const auto& [file, message] : unreadable) {
    ADD_FAILURE() << "R cannot read the conversion of " << file << ": " << message;
  }
  int tensors = 0, by_path = 0, by_value = 0;
  for (const auto& [file, arrays] : expected) {
    if (unreadable.count(file)) continue;
    std::vector<RArray>& in_r = seen[file];
    for (const TorchArray& a : arrays) {
      SCOPED_TRACE(absl::StrCat(file, " at \"", a.path, "\""));
      ++tensors;
      const std::vector<double> values = ColumnMajorValues(a.array);
      const std::string shape = ExpectedRShape(a.array.shape);
      const bool r_double = IsRDouble(a.array.dtype);
      RArray* got = nullptr;
      if (!a.under_pairs) {
        for (RArray& r : in_r) {
          if (r.path == a.path) got = &r;
        }
        if (got == nullptr) {
          ADD_FAILURE() << "R has no numeric vector at this path";
          continue;
        }
        ++by_path;
      } else {
        // R holds list(key = , value = ) pairs here: the same values at a key or value.
        for (RArray& r : in_r) {
          if (!r.used && r.shape == shape && SameValues(values, r) &&
              (absl::StrContains(absl::StrCat(".", r.path, "."), ".value.") ||
               absl::StrContains(absl::StrCat(".", r.path, "."), ".key."))) {
            got = &r;
            break;
          }
        }
        if (got == nullptr) {
          ADD_FAILURE() << "R has no list(key, value) pair holding " << Preview(values);
          continue;
        }
        ++by_value;
      }
      got->used = true;
      EXPECT_EQ(got->type, r_double ? "double" : "integer") << TorchStem(a.array.dtype);
      EXPECT_EQ(got->shape, shape);
      EXPECT_EQ(got->torch7_type, ExpectedTorch7Type(a));
      ASSERT_EQ(got->values.size(), values.size());
      for (size_t i = 0; i < values.size(); ++i) {
        if (std::isnan(values[i])) {
          EXPECT_TRUE(std::isnan(got->values[i])) << "element " << i;
        } else {
          EXPECT_FALSE(got->na[i]) << "element " << i << ": R has NA for " << values[i];
          EXPECT_EQ(got->values[i], values[i]) << "element " << i << " (column-major)";
        }
      }
    }
  }
  EXPECT_GE(tensors, 150);
  // Every tensor not below a table with non-string keys was found by its path (a failure above
  // otherwise). The others are nngraph's: a gModule's first reference to each module's tensors is
  // in a node's mapindex, a table keyed by tables (11 of 164 in the corpus).
  EXPECT_GE(by_path, tensors * 90 / 100) << by_path << " of " << tensors << " matched by path";

  for (const IndexCheck& c : checks) {
    SCOPED_TRACE(absl::StrCat(c.file, ": ", c.expression));
    auto it = check_results.find({c.file, c.expression});
    ASSERT_NE(it, check_results.end());
    if (c.number.has_value()) {
      EXPECT_EQ(std::strtod(it->second.c_str(), nullptr), *c.number) << it->second;
    } else {
      EXPECT_EQ(it->second, c.text);
    }
  }
  std::printf(
      "%d corpus files in R: %d tensors and storages checked (%d by path, %d by value under "
      "non-string keys), %zu R indexing checks\n",
      converted, tensors, by_path, by_value, checks.size());
}

// ---- 2. R -> Torch7, read back by t7dump.py

// t7dump.py's JSON, with its "$id"s resolved.
class Dump {
 public:
  explicit Dump(Json root) : root_(std::move(root)) { Index(root_); }
  const Json& root() const { return root_; }
  const Json& Resolve(const Json& j) const {
    if (j.type == Json::Type::kObject && j.object.count("$ref")) {
      auto it = ids_.find(j.object.at("$ref").integer);
      if (it != ids_.end()) return *it->second;
    }
    return j;
  }

 private:
  void Index(const Json& j) {
    if (j.type == Json::Type::kObject) {
      if (auto it = j.object.find("$id"); it != j.object.end()) ids_[it->second.integer] = &j;
      for (const auto& [k, v] : j.object) Index(v);
    } else if (j.type == Json::Type::kArray) {
      for (const Json& v : j.array) Index(v);
    }
  }
  Json root_;
  std::map<int64_t, const Json*> ids_;
};

double JsonNumber(const Json& j) {
  switch (j.type) {
    case Json::Type::kInt:
      return static_cast<double>(j.integer);
    case Json::Type::kDouble:
      return j.number;
    case Json::Type::kString:
      if (j.string == "nan") return std::nan("");
      if (j.string == "inf") return INFINITY;
      if (j.string == "-inf") return -INFINITY;
      if (j.string == "-0.0") return -0.0;
      [[fallthrough]];
    default:
      ADD_FAILURE() << "not a number: " << testing::ToText(j);
      return std::nan("");
  }
}

// The value of `key` ("name" or a number as text) in a "$table", or nullptr.
const Json* TableField(const Dump& dump, const Json& table, const std::string& key) {
  const Json& t = dump.Resolve(table);
  if (t.type != Json::Type::kObject || !t.object.count("$table")) return nullptr;
  for (const Json& entry : t.object.at("$table").array) {
    const Json& k = entry.array[0];
    const bool match = (k.type == Json::Type::kString && k.string == key) ||
                       (k.type == Json::Type::kInt && absl::StrCat(k.integer) == key);
    if (match) return &dump.Resolve(entry.array[1]);
  }
  return nullptr;
}

// The keys of a "$table" as text, in file order.
std::vector<std::string> TableKeys(const Dump& dump, const Json& table) {
  std::vector<std::string> keys;
  const Json& t = dump.Resolve(table);
  if (t.type != Json::Type::kObject || !t.object.count("$table")) return keys;
  for (const Json& entry : t.object.at("$table").array) {
    const Json& k = entry.array[0];
    keys.push_back(k.type == Json::Type::kString ? k.string : testing::ToText(k));
  }
  return keys;
}

// Checks that `json` is a `class` tensor of `sizes` whose element [i, j, ...] (located through
// its stride, storageOffset and storage data) is `r_values` at R's column-major position, i.e.
// R's x[i+1, j+1, ...].
void ExpectTensor(const Dump& dump, const Json* json, const std::string& class_name,
                  const std::vector<int64_t>& sizes, const std::vector<double>& r_values) {
  ASSERT_NE(json, nullptr);
  const Json& t = dump.Resolve(*json);
  ASSERT_EQ(t.type, Json::Type::kObject) << testing::ToText(t);
  ASSERT_TRUE(t.object.count("$class")) << testing::ToText(t);
  EXPECT_EQ(t.object.at("$class").string, class_name);
  std::vector<int64_t> size, stride;
  for (const Json& s : t.object.at("size").array) size.push_back(s.integer);
  for (const Json& s : t.object.at("stride").array) stride.push_back(s.integer);
  ASSERT_EQ(size, sizes);
  ASSERT_EQ(stride.size(), size.size());
  const int64_t offset = t.object.at("storageOffset(1-based)").integer - 1;
  const Json& storage = dump.Resolve(t.object.at("storage"));
  EXPECT_EQ(storage.object.at("$class").string,
            absl::StrCat(class_name.substr(0, class_name.size() - 6), "Storage"));
  EXPECT_FALSE(storage.object.count("data_truncated"));
  const std::vector<Json>& data = storage.object.at("data").array;
  size_t checked = 0;
  ForEachIndexColumnMajor(sizes, [&](const std::vector<int64_t>& index) {
    int64_t at = offset, r_position = 0, r_step = 1;
    for (size_t d = 0; d < index.size(); ++d) {
      at += index[d] * stride[d];
      r_position += index[d] * r_step;
      r_step *= sizes[d];
    }
    ASSERT_GE(at, 0);
    ASSERT_LT(static_cast<size_t>(at), data.size());
    EXPECT_EQ(JsonNumber(data[at]), r_values[r_position]) << "index " << absl::StrJoin(index, ",");
    ++checked;
  });
  EXPECT_EQ(checked, r_values.size());
}

void ExpectStrings(const Dump& dump, const Json* table, const std::vector<std::string>& values) {
  ASSERT_NE(table, nullptr);
  std::vector<std::string> keys;
  for (size_t i = 1; i <= values.size(); ++i) keys.push_back(absl::StrCat(i));
  EXPECT_EQ(TableKeys(dump, *table), keys);
  for (size_t i = 0; i < values.size(); ++i) {
    const Json* v = TableField(dump, *table, absl::StrCat(i + 1));
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(v->string, values[i]);
  }
}

TEST(CrossFamilyInteropTest, RObjectsOfEveryMappedKindReachTorch7AsDocumented) {
  ScratchDir dir;
  const std::string script = absl::StrCat("dir <- '", dir.path(), "'\n", R"(
save <- function(x, name) saveRDS(x, file.path(dir, paste0(name, ".rds")))
save(c(1.5, -2, 3.25, 1e-300, 4), "double")
save(c(1L, -2L, 3L, .Machine$integer.max, -7L), "integer")
save(c(TRUE, FALSE, TRUE, TRUE), "logical")
save(as.raw(c(0, 1, 127, 128, 255)), "raw")
save(matrix(c(1.5, 2, 3, 4, 5, 6), 2), "matrix")
save(array(1:24, c(2, 3, 4)), "array3")
save(matrix(c(TRUE, FALSE, FALSE, TRUE, TRUE, FALSE), 3), "logical_matrix")
save(list(lr = 0.01, n = 5L, ok = TRUE, name = "x"), "scalars")
save(list(a = list(b = list(c = c(1, 2, 3)), d = list(1L, "two", FALSE)), e = matrix(1:6, 3)),
     "nested")
save(data.frame(x = c(1.5, 2.5), y = c("a", "b"), stringsAsFactors = FALSE), "data_frame")
save(factor(c("lo", "hi", "lo")), "factor")
save(c("alpha", "beta", "gamma"), "character")
save(list(keep = c(1, 2), f = function(x) x), "closure")
)");
  RunResult written = Rscript({"-e", script});
  ASSERT_EQ(written.exit_code, 0) << written.err;

  const std::vector<std::string> names = {"double", "integer",    "logical",        "raw",
                                          "matrix", "array3",     "logical_matrix", "scalars",
                                          "nested", "data_frame", "factor",         "character"};
  std::vector<std::string> dump_argv = {kPython, kT7Dump, "--max-elems", "1000"};
  for (const std::string& name : names) {
    RunResult r = RunProgram(
        {kSerialctl, "convert", "--to", "t7", dir.File(name + ".rds"), dir.File(name + ".t7")});
    ASSERT_EQ(r.exit_code, 0) << name << ": " << r.err;
    dump_argv.push_back(dir.File(name + ".t7"));
  }

  // A closure is refused by its path, or left out with a note when asked.
  RunResult refused = RunProgram({kSerialctl, "convert", "--to", "t7", dir.File("closure.rds"),
                                  dir.File("closure_refused.t7")});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err, HasSubstr("f is an R closure"));
  EXPECT_THAT(refused.err, HasSubstr("--drop-unconvertible"));
  RunResult dropped = RunProgram({kSerialctl, "convert", "--to", "t7", "--drop-unconvertible",
                                  dir.File("closure.rds"), dir.File("closure.t7")});
  ASSERT_EQ(dropped.exit_code, 0) << dropped.err;
  EXPECT_THAT(dropped.err, HasSubstr("serialctl: note: left out f"));
  dump_argv.push_back(dir.File("closure.t7"));

  RunResult dumped = RunProgram(dump_argv);
  ASSERT_EQ(dumped.exit_code, 0) << dumped.out << dumped.err;
  std::map<std::string, Dump> dumps;
  std::vector<std::string> lines = absl::StrSplit(dumped.out, '\n', absl::SkipEmpty());
  for (size_t i = 0; i + 1 < lines.size(); i += 2) {
    ASSERT_TRUE(absl::StartsWith(lines[i], "### ")) << lines[i];
    const std::string file = lines[i].substr(4, lines[i].find(" (") - 4);
    absl::StatusOr<Json> json = testing::ParseJson(lines[i + 1]);
    ASSERT_TRUE(json.ok()) << json.status() << ": " << lines[i + 1];
    dumps.emplace(fs::path(file).stem().string(), Dump(*std::move(json)));
  }
  ASSERT_EQ(dumps.size(), names.size() + 1);
  auto root = [&](const std::string& name) -> const Json* { return &dumps.at(name).root(); };

  // Vectors and arrays: tensors with sizes from dim, elements at R's indices.
  {
    SCOPED_TRACE("double");
    ExpectTensor(dumps.at("double"), root("double"), "torch.DoubleTensor", {5},
                 {1.5, -2, 3.25, 1e-300, 4});
  }
  {
    SCOPED_TRACE("integer");
    ExpectTensor(dumps.at("integer"), root("integer"), "torch.IntTensor", {5},
                 {1, -2, 3, 2147483647, -7});
  }
  {
    SCOPED_TRACE("logical");
    ExpectTensor(dumps.at("logical"), root("logical"), "torch.ByteTensor", {4}, {1, 0, 1, 1});
  }
  {
    SCOPED_TRACE("raw");
    ExpectTensor(dumps.at("raw"), root("raw"), "torch.ByteTensor", {5}, {0, 1, 127, 128, 255});
  }
  {
    SCOPED_TRACE("matrix");  // t[i-1][j-1] == x[i, j]
    ExpectTensor(dumps.at("matrix"), root("matrix"), "torch.DoubleTensor", {2, 3},
                 {1.5, 2, 3, 4, 5, 6});
  }
  {
    SCOPED_TRACE("array3");
    std::vector<double> one_to_24;
    for (int i = 1; i <= 24; ++i) one_to_24.push_back(i);
    ExpectTensor(dumps.at("array3"), root("array3"), "torch.IntTensor", {2, 3, 4}, one_to_24);
  }
  {
    SCOPED_TRACE("logical_matrix");
    ExpectTensor(dumps.at("logical_matrix"), root("logical_matrix"), "torch.ByteTensor", {3, 2},
                 {1, 0, 0, 1, 1, 0});
  }
  // Length-1 vectors: Lua scalars, under their names.
  {
    SCOPED_TRACE("scalars");
    const Dump& d = dumps.at("scalars");
    EXPECT_THAT(TableKeys(d, d.root()), ::testing::ElementsAre("lr", "n", "ok", "name"));
    const Json* lr = TableField(d, d.root(), "lr");
    ASSERT_NE(lr, nullptr);
    EXPECT_EQ(JsonNumber(*lr), 0.01);
    const Json* n = TableField(d, d.root(), "n");
    ASSERT_NE(n, nullptr);
    EXPECT_EQ(JsonNumber(*n), 5);
    const Json* ok = TableField(d, d.root(), "ok");
    ASSERT_NE(ok, nullptr);
    EXPECT_EQ(ok->type, Json::Type::kBool);
    EXPECT_TRUE(ok->boolean);
    const Json* name = TableField(d, d.root(), "name");
    ASSERT_NE(name, nullptr);
    EXPECT_EQ(name->type, Json::Type::kString);
    EXPECT_EQ(name->string, "x");
  }
  {
    SCOPED_TRACE("nested");
    const Dump& d = dumps.at("nested");
    EXPECT_THAT(TableKeys(d, d.root()), ::testing::ElementsAre("a", "e"));
    const Json* a = TableField(d, d.root(), "a");
    ASSERT_NE(a, nullptr);
    EXPECT_THAT(TableKeys(d, *a), ::testing::ElementsAre("b", "d"));
    const Json* b = TableField(d, *a, "b");
    ASSERT_NE(b, nullptr);
    ExpectTensor(d, TableField(d, *b, "c"), "torch.DoubleTensor", {3}, {1, 2, 3});
    const Json* unnamed = TableField(d, *a, "d");  // list(1L, "two", FALSE): keys 1..3
    ASSERT_NE(unnamed, nullptr);
    EXPECT_THAT(TableKeys(d, *unnamed), ::testing::ElementsAre("1", "2", "3"));
    const Json* one = TableField(d, *unnamed, "1");
    const Json* two = TableField(d, *unnamed, "2");
    const Json* three = TableField(d, *unnamed, "3");
    ASSERT_TRUE(one && two && three);
    EXPECT_EQ(JsonNumber(*one), 1);
    EXPECT_EQ(two->string, "two");
    EXPECT_EQ(three->type, Json::Type::kBool);
    EXPECT_FALSE(three->boolean);
    ExpectTensor(d, TableField(d, d.root(), "e"), "torch.IntTensor", {3, 2}, {1, 2, 3, 4, 5, 6});
  }
  {
    SCOPED_TRACE("data_frame");  // a table of columns
    const Dump& d = dumps.at("data_frame");
    EXPECT_THAT(TableKeys(d, d.root()), ::testing::ElementsAre("x", "y"));
    ExpectTensor(d, TableField(d, d.root(), "x"), "torch.DoubleTensor", {2}, {1.5, 2.5});
    ExpectStrings(d, TableField(d, d.root(), "y"), {"a", "b"});
  }
  {
    SCOPED_TRACE("factor");  // {codes = IntTensor, levels = {strings}}
    const Dump& d = dumps.at("factor");
    EXPECT_THAT(TableKeys(d, d.root()), ::testing::UnorderedElementsAre("codes", "levels"));
    ExpectTensor(d, TableField(d, d.root(), "codes"), "torch.IntTensor", {3}, {2, 1, 2});
    ExpectStrings(d, TableField(d, d.root(), "levels"), {"hi", "lo"});
  }
  {
    SCOPED_TRACE("character");
    const Dump& d = dumps.at("character");
    ExpectStrings(d, &d.root(), {"alpha", "beta", "gamma"});
  }
  {
    SCOPED_TRACE("closure left out");
    const Dump& d = dumps.at("closure");
    EXPECT_THAT(TableKeys(d, d.root()), ::testing::ElementsAre("keep"));
    ExpectTensor(d, TableField(d, d.root(), "keep"), "torch.DoubleTensor", {2}, {1, 2});
  }
}

// ---- 3. Torch7 -> R (rewritten by R) -> Torch7

TEST(CrossFamilyInteropTest, TensorsSurviveTorch7ToRToTorch7WithRRewritingTheFile) {
  ScratchDir dir;
  std::vector<std::string> chosen;
  for (const std::string& path : CorpusStreams()) {
    const std::string name = fs::path(path).filename().string();
    const bool generated = absl::StartsWith(path, "generated/") && absl::EndsWith(name, ".bin.t7");
    if (generated && (absl::StartsWith(name, "nn_") || absl::StartsWith(name, "tensor_") ||
                      name == "checkpoint_like.bin.t7")) {
      chosen.push_back(path);
    }
  }
  ASSERT_GE(chosen.size(), 20u);

  std::ostringstream pairs;
  for (size_t i = 0; i < chosen.size(); ++i) {
    absl::StatusOr<testing::Converted> r = ConvertBytes(CorpusFile(chosen[i]), "t7", "rds");
    ASSERT_TRUE(r.ok()) << chosen[i] << ": " << r.status();
    WriteText(dir.File(absl::StrCat(i, ".rds")), std::string(r->bytes.view()));
    pairs << dir.File(absl::StrCat(i, ".rds")) << '\t' << dir.File(absl::StrCat(i, ".r.rds"))
          << '\n';
  }
  WriteText(dir.File("pairs.tsv"), pairs.str());
  RunResult r =
      Rscript({"-e", absl::StrCat("p <- read.delim('", dir.File("pairs.tsv"),
                                  "', header = FALSE, quote = '', stringsAsFactors = FALSE)\n"
                                  "for (i in seq_len(nrow(p))) saveRDS(readRDS(p[i, 1]), p[i, 2])\n"
                                  "cat('rewrote', nrow(p), '\\n')")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(absl::StrCat("rewrote ", chosen.size())));

  int tensors = 0;
  for (size_t i = 0; i < chosen.size(); ++i) {
    SCOPED_TRACE(chosen[i]);
    const std::string rewritten = testing::ReadBytes(dir.File(absl::StrCat(i, ".r.rds")));
    ASSERT_GE(rewritten.size(), 2u);
    EXPECT_EQ(rewritten.substr(0, 2), "\x1f\x8b");  // R's saveRDS() wrote it (gzip)
    absl::StatusOr<testing::Converted> back =
        ConvertBytes(Buffer::FromString(rewritten), "rds", "t7");
    ASSERT_TRUE(back.ok()) << back.status();
    absl::StatusOr<Value> original = ReadTorch7(CorpusFile(chosen[i]));
    ASSERT_TRUE(original.ok()) << original.status();
    absl::StatusOr<Value> returned = ReadTorch7(back->bytes);
    ASSERT_TRUE(returned.ok()) << returned.status();
    absl::StatusOr<data::Data> before = Torch7ToData(*original);
    absl::StatusOr<data::Data> after = Torch7ToData(*returned);
    ASSERT_TRUE(before.ok() && after.ok());
    std::vector<TorchArray> got = TorchArrays(*after);
    std::vector<bool> used(got.size(), false);
    for (const TorchArray& a : TorchArrays(*before)) {
      SCOPED_TRACE(absl::StrCat("at \"", a.path, "\""));
      const std::vector<double> values = ColumnMajorValues(a.array);
      const TorchArray* match = nullptr;
      for (size_t k = 0; k < got.size() && match == nullptr; ++k) {
        if (used[k]) continue;
        // Under a table with keys that are not strings, R had list(key, value) pairs, which
        // come back as tables {key, value}: the tensor is the same values at a key or value.
        const std::string dotted = absl::StrCat(".", got[k].path, ".");
        const bool same_place = a.under_pairs ? absl::StrContains(dotted, ".value.") ||
                                                    absl::StrContains(dotted, ".key.")
                                              : got[k].path == a.path;
        if (same_place && (!a.under_pairs || (got[k].array.shape == a.array.shape &&
                                              ColumnMajorValues(got[k].array) == values))) {
          match = &got[k];
          used[k] = true;
        }
      }
      ASSERT_NE(match, nullptr) << "no tensor here after the round trip";
      EXPECT_EQ(match->array.dtype, a.array.dtype)
          << TorchStem(match->array.dtype) << " for " << TorchStem(a.array.dtype);
      EXPECT_EQ(match->storage_class, a.storage_class);
      EXPECT_EQ(match->array.shape, a.array.shape);
      const std::vector<double> returned_values = ColumnMajorValues(match->array);
      ASSERT_EQ(returned_values.size(), values.size());
      for (size_t e = 0; e < values.size(); ++e) {
        if (std::isnan(values[e])) {
          EXPECT_TRUE(std::isnan(returned_values[e])) << "element " << e;
        } else {
          EXPECT_EQ(returned_values[e], values[e]) << "element " << e;
        }
      }
      ++tensors;
    }
  }
  EXPECT_GE(tensors, 40);
  std::printf("%zu files through R's readRDS()/saveRDS() and back: %d tensors kept\n",
              chosen.size(), tensors);
}

}  // namespace
}  // namespace seriald
