#include "core/rds/altrep.h"

#include <algorithm>
#include <cfloat>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/absl_compat.h"
#include "core/io/input_error.h"
#include "core/rds/primitives.h"
#include "core/rds/sexptype.h"
#include "core/status_macros.h"

namespace seriald::rds {
namespace {

constexpr int kMaxAltrepNesting = 64;
constexpr double kMaxSequenceLength = 4503599627370496.0;  // 2^52

absl::Status Unexpandable(const Altrep& altrep, std::string_view why) {
  return absl::FailedPreconditionError(absl::StrCat("ALTREP class ", altrep.class_name,
                                                    " (package ", altrep.package,
                                                    ") cannot be expanded: ", AsAbsl(why)));
}

double ArrayDouble(const Array& array, uint64_t i) {
  if (array.type == ElementType::kFloat64) return LoadElement<double>(array, i);
  const int32_t v = LoadElement<int32_t>(array, i);
  return v == kNaInteger ? NAN : v;
}

absl::StatusOr<AltrepExpansion> Expand(const Value& value, NodeId id, int depth);

absl::StatusOr<uint64_t> Length(const Value& value, NodeId id, int depth) {
  const Node& node = value.node(id);
  switch (node.kind()) {
    case NodeKind::kArray:
      return std::get<Array>(node.data).length;
    case NodeKind::kStringVector:
      return std::get<StringVector>(node.data).size();
    case NodeKind::kList:
      return std::get<List>(node.data).items.size();
    case NodeKind::kAltrep: {
      ASSIGN_OR_RETURN(AltrepExpansion e, Expand(value, id, depth + 1));
      return e.length;
    }
    default:
      return absl::FailedPreconditionError(
          absl::StrCat("node ", id, " (", AsAbsl(NodeKindName(node.kind())), ") is not a vector"));
  }
}

absl::StatusOr<AltrepExpansion> Expand(const Value& value, NodeId id, int depth) {
  const Altrep& altrep = value.Get<Altrep>(id);
  if (depth > kMaxAltrepNesting) return Unexpandable(altrep, "nested too deep");
  AltrepExpansion e;
  e.base_type = altrep.base_type;
  const std::string& name = altrep.class_name;
  if (altrep.package != "base") return Unexpandable(altrep, "not a class of base R");
  if (name == "compact_intseq" || name == "compact_realseq") {
    const bool integer = name == "compact_intseq";
    const Array* state = value.GetIf<Array>(altrep.state);
    if (state == nullptr || state->length != 3 ||
        (state->type != ElementType::kFloat64 && state->type != ElementType::kInt32) ||
        (!integer && state->type != ElementType::kFloat64)) {
      return Unexpandable(altrep, "its state is not c(n, first, increment)");
    }
    const double n = ArrayDouble(*state, 0);
    e.first = ArrayDouble(*state, 1);
    e.increment = ArrayDouble(*state, 2);
    if (!(n >= 0 && n <= kMaxSequenceLength && n == std::floor(n)) ||
        (e.increment != 1 && e.increment != -1) || !std::isfinite(e.first)) {
      return Unexpandable(altrep, "its state is not a valid sequence");
    }
    e.length = static_cast<uint64_t>(n);
    if (integer && e.length > 0) {
      const double last = e.first + e.increment * (n - 1);
      if (e.first != std::floor(e.first) || std::fabs(e.first) > INT32_MAX ||
          std::fabs(last) > INT32_MAX) {
        return Unexpandable(altrep, "its values do not fit an integer vector");
      }
    }
    e.kind = AltrepExpansion::kSequence;
    e.base_type = integer ? kIntSxp : kRealSxp;
    return e;
  }
  if (IsWrapperClass(name) || name == "deferred_string") {
    const Pairlist* state = value.GetIf<Pairlist>(altrep.state);
    if (state == nullptr || state->cells.size() != 1 || state->tail == kNoNode) {
      return Unexpandable(altrep, "its state is not a (data . metadata) pair");
    }
    e.source = state->cells[0].value;
    const Array* meta = value.GetIf<Array>(state->tail);
    if (meta == nullptr || meta->type != ElementType::kInt32 || meta->length < 1) {
      return Unexpandable(altrep, "its metadata is not an integer vector");
    }
    ASSIGN_OR_RETURN(e.length, Length(value, e.source, depth));
    if (name == "deferred_string") {
      e.kind = AltrepExpansion::kDeferredString;
      e.base_type = kStrSxp;
      e.scipen = LoadElement<int32_t>(*meta, 0);
      NodeId attributes = value.node(state->tail).attributes;
      if (const Pairlist* attrs = value.GetIf<Pairlist>(attributes)) {
        for (const PairlistCell& cell : attrs->cells) {
          const Symbol* tag = value.GetIf<Symbol>(cell.tag);
          const StringVector* dec = value.GetIf<StringVector>(cell.value);
          if (tag && tag->name.bytes == "OutDec" && dec && dec->size() == 1) {
            e.decimal_mark = std::string(dec->Get(0).bytes);
          }
        }
      }
      const Node& source = value.node(e.source);
      const bool numeric = (source.kind() == NodeKind::kArray &&
                            (std::get<Array>(source.data).type == ElementType::kInt32 ||
                             std::get<Array>(source.data).type == ElementType::kFloat64)) ||
                           (source.kind() == NodeKind::kAltrep &&
                            (std::get<Altrep>(source.data).base_type == kIntSxp ||
                             std::get<Altrep>(source.data).base_type == kRealSxp));
      if (!numeric) return Unexpandable(altrep, "its data is not an integer or double vector");
    } else {
      e.kind = AltrepExpansion::kWrapped;
    }
    return e;
  }
  return Unexpandable(altrep, "unknown class");
}

// scientific() of R 4.2's format.c for R_print.digits = 15.
void Scientific(double x, int digits, bool* neg, int* kpower, int* nsig, bool* rounding_widens) {
  // KP_MAX: R 4.2's table of exact powers of 10 ends at 10^22.
  static constexpr int kKpMax = 22;
  auto pow10l = [](int k) {
    long double p = 1;
    for (int i = 0; i < k; ++i) p *= 10;
    return p;
  };
  if (x == 0.0) {
    *kpower = 0;
    *nsig = 1;
    *neg = false;
    *rounding_widens = false;
    return;
  }
  double r;
  if (x < 0) {
    *neg = true;
    r = -x;
  } else {
    *neg = false;
    r = x;
  }
  int kp = static_cast<int>(std::floor(std::log10(r))) - digits + 1;
  // Scaled by an exact power where there is one (multiplied, for a negative kp: dividing by
  // an inexact 10^kp moves a value that lies within a long double's rounding of .5, such as
  // 0.9557727025821805000305176, to the other side of it).
  long double r_prec = r;
  if (std::abs(kp) <= kKpMax) {
    if (kp > 0) {
      r_prec /= pow10l(kp);
    } else if (kp < 0) {
      r_prec *= pow10l(-kp);
    }
  } else {
    r_prec /= std::pow(10.0L, static_cast<long double>(kp));
  }
  if (r_prec < pow10l(digits - 1)) {
    r_prec *= 10.0;
    kp--;
  }
  double alpha = static_cast<double>(std::nearbyint(r_prec));
  *nsig = digits;
  for (int j = 1; j <= digits; ++j) {
    alpha /= 10.0;
    if (alpha == std::floor(alpha)) {
      (*nsig)--;
    } else {
      break;
    }
  }
  if (*nsig == 0 && digits > 0) {
    *nsig = 1;
    kp += 1;
  }
  *kpower = kp + digits - 1;
  int rgt = digits - *kpower;
  rgt = rgt < 0 ? 0 : rgt > kKpMax ? kKpMax : rgt;
  const double fuzz = 0.5 / static_cast<double>(pow10l(rgt));
  *rounding_widens = *kpower > 0 && *kpower <= kKpMax && r < pow10l(*kpower) - fuzz;
}

}  // namespace

bool IsWrapperClass(std::string_view name) {
  return name == "wrap_integer" || name == "wrap_logical" || name == "wrap_real" ||
         name == "wrap_complex" || name == "wrap_raw" || name == "wrap_string" ||
         name == "wrap_list";
}

absl::StatusOr<AltrepExpansion> ExpandAltrep(const Value& value, NodeId id) {
  return Expand(value, id, 0);
}

absl::StatusOr<uint64_t> VectorLength(const Value& value, NodeId id) {
  return Length(value, id, 0);
}

absl::Status FillElements(const Value& value, NodeId id, ElementType type, uint64_t begin,
                          uint64_t count, uint8_t* out) {
  for (int depth = 0; depth <= kMaxAltrepNesting; ++depth) {
    const Node& node = value.node(id);
    if (const Array* array = std::get_if<Array>(&node.data)) {
      if (array->type != type || begin + count > array->length) {
        return absl::FailedPreconditionError(absl::StrCat("node ", id, " does not hold ", count,
                                                          " ", AsAbsl(ElementTypeName(type)),
                                                          " elements from ", begin));
      }
      CopyLittleEndian(*array, begin, count, out);
      return absl::OkStatus();
    }
    if (node.kind() != NodeKind::kAltrep) break;
    ASSIGN_OR_RETURN(AltrepExpansion e, ExpandAltrep(value, id));
    if (e.kind == AltrepExpansion::kWrapped) {
      id = e.source;
      continue;
    }
    if (e.kind != AltrepExpansion::kSequence) break;
    if (type == ElementType::kInt32) {
      for (uint64_t i = 0; i < count; ++i) {
        int32_t v = static_cast<int32_t>(e.first + e.increment * static_cast<double>(begin + i));
        std::memcpy(out + 4 * i, &v, 4);
      }
    } else if (type == ElementType::kFloat64) {
      for (uint64_t i = 0; i < count; ++i) {
        double v = e.increment == 1 ? e.first + static_cast<double>(begin + i)
                                    : e.first - static_cast<double>(begin + i);
        std::memcpy(out + 8 * i, &v, 8);
      }
    } else {
      break;
    }
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(
      absl::StrCat("node ", id, " is not a vector of ", AsAbsl(ElementTypeName(type))));
}

absl::Status CheckAltrepStateReadable(const Value& value, NodeId id) {
  const Altrep& altrep = value.Get<Altrep>(id);
  const std::string& name = altrep.class_name;
  if (altrep.package != "base" ||
      !(name == "compact_intseq" || name == "compact_realseq" || IsWrapperClass(name))) {
    return absl::OkStatus();
  }
  absl::Status expandable = ExpandAltrep(value, id).status();
  if (expandable.ok()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(expandable.message(), "; R's unserialize would misread it"));
}

absl::Status NormalizeAltrep(Value& value, NodeId id, uint64_t offset, bool apply) {
  const Altrep altrep = value.Get<Altrep>(id);
  if (altrep.package != "base") return absl::OkStatus();
  const std::string& name = altrep.class_name;
  if (name == "compact_intseq" || name == "compact_realseq") {
    auto expansion = ExpandAltrep(value, id);
    if (!expansion.ok()) return InputError("rds", offset, AsStd(expansion.status().message()));
    const AltrepExpansion& e = *expansion;
    const Array& state = value.Get<Array>(altrep.state);
    if (!apply) return absl::OkStatus();
    if (e.length == 1) {  // new_compact_intseq/realseq(1, ...) is a plain scalar
      const ElementType type = e.base_type == kIntSxp ? ElementType::kInt32 : ElementType::kFloat64;
      auto [buffer, bytes] = Buffer::Allocate(ElementSize(type));
      RETURN_IF_ERROR(FillElements(value, id, type, 0, 1, bytes));
      value.mutable_node(id).data = Array{type, 1, std::move(buffer)};
    } else if (state.type == ElementType::kInt32) {  // R 3.5 state: R 4.2 writes doubles
      double doubles[3] = {ArrayDouble(state, 0), e.first, e.increment};
      NodeId new_state = value.Add(Array{ElementType::kFloat64, 3, Buffer::Copy(doubles, 24)});
      value.Get<Altrep>(id).state = new_state;
    }
    return absl::OkStatus();
  }
  if (IsWrapperClass(name)) {
    auto expansion = ExpandAltrep(value, id);
    if (!expansion.ok()) return InputError("rds", offset, AsStd(expansion.status().message()));
    const Pairlist& state = value.Get<Pairlist>(altrep.state);
    const Array& meta = value.Get<Array>(state.tail);
    const int32_t sorted = LoadElement<int32_t>(meta, 0);
    const int32_t no_na = meta.length >= 2 ? LoadElement<int32_t>(meta, 1) : 0;
    const NodeId wrapped = state.cells[0].value;
    const NodeKind kind = value.node(wrapped).kind();
    if (apply && kind != NodeKind::kAltrep && sorted == kNaInteger && no_na == 0 &&
        (kind == NodeKind::kArray || kind == NodeKind::kStringVector || kind == NodeKind::kList)) {
      NodeData data = value.node(wrapped).data;
      value.mutable_node(id).data = std::move(data);
    }
    return absl::OkStatus();
  }
  return absl::OkStatus();
}

absl::Status ForEachDeferredString(
    const Value& value, const AltrepExpansion& e, uint64_t begin, uint64_t count,
    const std::function<void(std::optional<std::string_view>)>& each) {
  const Node& source = value.node(e.source);
  const bool integer = source.kind() == NodeKind::kArray
                           ? std::get<Array>(source.data).type == ElementType::kInt32
                           : std::get<Altrep>(source.data).base_type == kIntSxp;
  const ElementType type = integer ? ElementType::kInt32 : ElementType::kFloat64;
  constexpr uint64_t kStep = 8192;
  std::vector<uint8_t> numbers(kStep * 8);
  for (uint64_t done = 0; done < count; done += kStep) {
    const uint64_t n = std::min(kStep, count - done);
    RETURN_IF_ERROR(FillElements(value, e.source, type, begin + done, n, numbers.data()));
    for (uint64_t i = 0; i < n; ++i) {
      if (integer) {
        int32_t v;
        std::memcpy(&v, numbers.data() + 4 * i, 4);
        char text[12];
        each(FormatIntegerAsR(v, text));
      } else {
        double v;
        std::memcpy(&v, numbers.data() + 8 * i, 8);
        if (IsRNa(v)) {
          each(std::nullopt);
          continue;
        }
        each(FormatRealAsR(v, e.scipen, e.decimal_mark));
      }
    }
  }
  return absl::OkStatus();
}

std::optional<std::string_view> FormatIntegerAsR(int32_t v, char (&text)[12]) {
  if (v == kNaInteger) return std::nullopt;
  const char* end = std::to_chars(text, text + sizeof text, v).ptr;
  return std::string_view(text, end - text);
}

std::string FormatRealAsR(double x, int scipen, std::string_view decimal_mark) {
  constexpr int kDigits = 15;
  if (x == 0.0) x = 0.0;  // no "-0"
  char buf[512];
  if (!std::isfinite(x)) {
    return std::isnan(x) ? "NaN" : x > 0 ? "Inf" : "-Inf";
  }
  bool neg;
  int kpower, nsig;
  bool widens;
  Scientific(x, kDigits, &neg, &kpower, &nsig, &widens);
  int left = kpower + 1;
  if (widens) left--;
  const int sleft = (neg ? 1 : 0) + (left <= 0 ? 1 : left);
  int rgt = nsig - left;
  if (rgt < 0) rgt = 0;
  int mxsl = sleft;
  if (left < 0) mxsl = 1 + (neg ? 1 : 0);
  const int width_fixed = mxsl + rgt + (rgt != 0);
  const int e = (left > 100 || left <= -99) ? 2 : 1;
  const int d = nsig - 1;
  const int width_sci = (neg ? 1 : 0) + (d > 0) + d + 4 + e;
  if (width_fixed <= width_sci + scipen) {
    std::snprintf(buf, sizeof buf, "%*.*f", std::min(width_fixed, 500), rgt, x);
  } else if (d > 0) {
    std::snprintf(buf, sizeof buf, "%#*.*e", std::min(width_sci, 500), d, x);
  } else {
    std::snprintf(buf, sizeof buf, "%*.*e", std::min(width_sci, 500), d, x);
  }
  // EncodeRealDrop0: drop trailing zeros after the decimal point.
  std::string out(buf);
  if (size_t dot = out.find('.'); dot != std::string::npos) {
    size_t p = dot + 1, keep = dot;
    while (p < out.size() && out[p] >= '0' && out[p] <= '9') {
      if (out[p] != '0') keep = p;
      ++p;
    }
    out.erase(keep + 1, p - keep - 1);
    if (keep == dot) out.erase(dot, 1);
    if (decimal_mark != ".") {
      size_t mark = out.find('.');
      if (mark != std::string::npos) out.replace(mark, 1, std::string(decimal_mark));
    }
  }
  // The width can exceed the digits printed (e.g. 1e99 with a large scipen): R keeps the padding.
  return out;
}

}  // namespace seriald::rds
