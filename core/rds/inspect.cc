#include "core/rds/inspect.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/absl_compat.h"
#include "core/model/utf8.h"

namespace seriald::rds {
namespace {

using inspect_internal::Expansion;
using inspect_internal::FormatNumber;
using inspect_internal::Quote;
using inspect_internal::VectorLine;

// A double as R prints it: "NA" (NA_real_), "NaN", "Inf", "-Inf", else as a number.
std::string RDouble(double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  if (bits == kNaRealBits) return "NA";
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Inf" : "-Inf";
  return FormatNumber(v);
}

const char* SpecialName(SpecialKind kind) {
  switch (kind) {
    case SpecialKind::kGlobalEnv:
      return "<environment: R_GlobalEnv>";
    case SpecialKind::kBaseEnv:
      return "<environment: base>";
    case SpecialKind::kEmptyEnv:
      return "<environment: R_EmptyEnv>";
    case SpecialKind::kBaseNamespace:
      return "<environment: namespace:base>";
    case SpecialKind::kMissingArg:
      return "<missing argument>";
    case SpecialKind::kUnboundValue:
      return "<unbound value>";
  }
  return "<special>";
}

// Strings as R shows them: latin1 and Windows-1252 bytes (declared, or the stream's native
// encoding) translated to UTF-8.
std::string StringVectorLine(const StringVector& strings, NativeEncoding native,
                             const InspectOptions& options) {
  return VectorLine("chr", strings.size(), std::min<size_t>(strings.size(), options.max_elements),
                    [&](uint64_t i) {
                      StringVector::Element element = strings.Get(i);
                      if (element.is_na) return std::string("NA");
                      std::optional<std::string> text =
                          RStringAsUtf8(element.bytes, element.encoding, native);
                      return Quote(text.has_value() ? *text : element.bytes, options);
                    });
}

NativeEncoding NativeEncodingOf(const Value& value) {
  return value.source().r.has_value() ? NativeEncodingFromName(value.source().r->native_encoding)
                                      : NativeEncoding::kOther;
}

// The names attribute of `id`, which labels an R list's elements, if it has one.
const StringVector* NamesOf(const Value& value, NodeId id) {
  NodeId attributes = value.node(id).attributes;
  const auto* pairlist = value.GetIf<Pairlist>(attributes);
  if (pairlist == nullptr) return nullptr;
  for (const PairlistCell& cell : pairlist->cells) {
    const auto* tag = value.GetIf<Symbol>(cell.tag);
    if (tag != nullptr && tag->name.bytes == "names") {
      return value.GetIf<StringVector>(cell.value);
    }
  }
  return nullptr;
}

std::string CellLabel(const Value& value, const PairlistCell& cell, size_t index) {
  if (const auto* tag = value.GetIf<Symbol>(cell.tag)) return absl::StrCat("$", tag->name.bytes);
  return absl::StrCat("[[", index + 1, "]]");
}

// The cells of a pairlist (bindings of a frame or hash bucket, arguments of a call) as children
// labelled by tag ("$x") or position ("[[2]]").
void AddCells(Expansion& out, NodeId pairlist_id) {
  const auto* pairlist = out.value().GetIf<Pairlist>(pairlist_id);
  if (pairlist == nullptr) return;
  for (size_t i = 0; i < pairlist->cells.size(); ++i) {
    const PairlistCell& cell = pairlist->cells[i];
    out.Add(out.Shown() ? CellLabel(out.value(), cell, i) : std::string(), cell.value);
  }
}

void ExpandList(Expansion& out, const List& list) {
  out.head = absl::StrCat(list.expression ? "expression" : "List", " of ", list.items.size());
  const StringVector* names = NamesOf(out.value(), out.id());
  for (size_t i = 0; i < list.items.size(); ++i) {
    std::string label;
    if (out.Shown()) {
      label = absl::StrCat("[[", i + 1, "]]");
      if (names != nullptr && i < names->size() && !names->Get(i).is_na &&
          !names->Get(i).bytes.empty()) {
        label = absl::StrCat("$", AsAbsl(names->Get(i).bytes));
      }
    }
    out.Add(std::move(label), list.items[i]);
  }
}

// "<environment: namespace:stats 4.2.2>", "<environment: package:stats>".
std::string EnvironmentReferenceLine(const Node& node) {
  const StringVector& info = node.kind() == NodeKind::kNamespace
                                 ? std::get<Namespace>(node.data).info
                                 : std::get<PackageEnvironment>(node.data).info;
  std::string text =
      absl::StrCat("<environment: ", node.kind() == NodeKind::kNamespace ? "namespace:" : "");
  for (size_t i = 0; i < info.size(); ++i) {
    absl::StrAppend(&text, i > 0 ? " " : "", AsAbsl(info.Get(i).bytes));
  }
  text += ">";
  return text;
}

}  // namespace

void ExpandForInspect(Expansion& out) {
  const Node& node = out.node();
  switch (node.kind()) {
    case NodeKind::kStringVector:
      out.head = StringVectorLine(std::get<StringVector>(node.data), NativeEncodingOf(out.value()),
                                  out.options());
      break;
    case NodeKind::kList:
      ExpandList(out, std::get<List>(node.data));
      break;
    case NodeKind::kPairlist: {
      const auto& pairlist = std::get<Pairlist>(node.data);
      const bool call = !pairlist.cells.empty() && pairlist.cells[0].type == CellType::kLanguage;
      out.head = absl::StrCat(call ? "language call" : "pairlist", " of ", pairlist.cells.size());
      AddCells(out, out.id());
      out.Add("[tail]", pairlist.tail);
      break;
    }
    case NodeKind::kSymbol:
      out.head = absl::StrCat("symbol ", std::get<Symbol>(node.data).name.bytes);
      break;
    case NodeKind::kEnvironment: {
      const auto& environment = std::get<Environment>(node.data);
      out.head = environment.locked ? "<environment> (locked)" : "<environment>";
      AddCells(out, environment.frame);
      if (const auto* buckets = out.value().GetIf<List>(environment.hash_table)) {
        for (NodeId bucket : buckets->items) AddCells(out, bucket);
      }
      out.Add("[enclosure]", environment.enclosure);
      break;
    }
    case NodeKind::kSpecial:
      out.head = SpecialName(std::get<Special>(node.data).which);
      break;
    case NodeKind::kNamespace:
    case NodeKind::kPackageEnvironment:
      out.head = EnvironmentReferenceLine(node);
      break;
    case NodeKind::kPersistentReference:
      out.head = absl::StrCat("<persistent reference: ",
                              StringVectorLine(std::get<PersistentReference>(node.data).names,
                                               NativeEncodingOf(out.value()), out.options()),
                              ">");
      break;
    case NodeKind::kClosure: {
      const auto& closure = std::get<Closure>(node.data);
      out.head = "function";
      out.Add("[formals]", closure.formals);
      out.Add("[body]", closure.body);
      out.Add("[environment]", closure.environment);
      break;
    }
    case NodeKind::kPromise: {
      const auto& promise = std::get<Promise>(node.data);
      out.head = "<promise>";
      out.Add("[value]", promise.value);
      out.Add("[code]", promise.code);
      out.Add("[environment]", promise.environment);
      break;
    }
    case NodeKind::kBuiltin:
      out.head = absl::StrCat(".Primitive(\"", std::get<Builtin>(node.data).name, "\")");
      break;
    case NodeKind::kBytecode: {
      const auto& bytecode = std::get<Bytecode>(node.data);
      out.head = absl::StrCat("<bytecode: ", bytecode.constants.size(), " constants>");
      out.Add("[code]", bytecode.code);
      for (size_t i = 0; i < bytecode.constants.size(); ++i) {
        out.Add(out.Shown() ? absl::StrCat("[[", i + 1, "]]") : std::string(),
                bytecode.constants[i]);
      }
      break;
    }
    case NodeKind::kExternalPointer: {
      const auto& pointer = std::get<ExternalPointer>(node.data);
      out.head = "<pointer>";
      out.Add("[protected]", pointer.protected_value);
      out.Add("[tag]", pointer.tag);
      break;
    }
    case NodeKind::kWeakReference:
      out.head = "<weak reference>";
      break;
    case NodeKind::kS4Object:
      out.head = "<S4 object>";
      break;
    case NodeKind::kAltrep: {
      const auto& altrep = std::get<Altrep>(node.data);
      out.head = absl::StrCat("altrep ", altrep.class_name, " (package ", altrep.package, ", type ",
                              altrep.base_type, ")");
      out.Add("[state]", altrep.state);
      break;
    }
    default:
      break;
  }
}

void AddAttributesForInspect(Expansion& out) {
  const auto* pairlist = out.value().GetIf<Pairlist>(out.node().attributes);
  if (pairlist == nullptr) return;
  for (const PairlistCell& cell : pairlist->cells) {
    std::string label;
    if (out.Shown()) {
      const auto* tag = out.value().GetIf<Symbol>(cell.tag);
      label = absl::StrCat("attr(\"", tag != nullptr ? tag->name.bytes : std::string("?"), "\")");
    }
    out.Add(std::move(label), cell.value);
  }
}

std::string_view StrTypeName(ElementType type) {
  switch (type) {
    case ElementType::kInt32:
      return "int";
    case ElementType::kFloat64:
      return "num";
    case ElementType::kLogical:
      return "logi";
    case ElementType::kComplex128:
      return "cplx";
    case ElementType::kRaw:
      return "raw";
    default:
      return "";
  }
}

std::string ElementText(ElementType type, const uint8_t* element) {
  auto load = [element](auto sample, size_t at = 0) {
    decltype(sample) v;
    std::memcpy(&v, element + at, sizeof v);
    return v;
  };
  switch (type) {
    case ElementType::kInt32: {
      int32_t v = load(int32_t{});
      return v == kNaInteger ? "NA" : absl::StrCat(v);
    }
    case ElementType::kLogical: {
      int32_t v = load(int32_t{});
      return v == kNaInteger ? "NA" : v != 0 ? "TRUE" : "FALSE";
    }
    case ElementType::kFloat64:
      return RDouble(load(double{}));
    case ElementType::kComplex128: {
      double re = load(double{}), im = load(double{}, 8);
      return absl::StrCat(RDouble(re), im < 0 || std::signbit(im) ? "" : "+", RDouble(im), "i");
    }
    case ElementType::kRaw:
      return absl::StrFormat("%02x", load(uint8_t{}));
    default:
      return "?";
  }
}

}  // namespace seriald::rds
