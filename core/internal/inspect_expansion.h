// File: core/internal/inspect_expansion.h
//
// The interface between Inspect's walker (core/inspect.cc) and the expanders of each format
// (core/torch7/inspect.cc, core/rds/inspect.cc). The walker owns the traversal: its explicit
// stack, the depth and width limits, the "<node N>" / "see above" markers of shared nodes,
// missing nodes and roots. For each node it prints, it gives an Expansion to the expander of the
// node's kind, which writes the node's own line (`head`) and appends one labelled child per
// reference to show below it. Expanders never recurse: the walker prints and queues the children.
//
// Only InspectOptions::max_entries children of a node are kept; further ones are only counted
// ("... (N more)"). Expanders ask Shown() before building a label, and pass an empty one for a
// child that is only counted, so a million-entry table costs max_entries labels.
//
// Example (R byte code: "<bytecode: 2 constants> {", then [code], [[1]] and [[2]]):
//
//   void ExpandBytecode(inspect_internal::Expansion& out) {
//     const auto& bytecode = std::get<Bytecode>(out.node().data);
//     out.head = absl::StrCat("<bytecode: ", bytecode.constants.size(), " constants>");
//     out.Add("[code]", bytecode.code);
//     for (size_t i = 0; i < bytecode.constants.size(); ++i) {
//       out.Add(out.Shown() ? absl::StrCat("[[", i + 1, "]]") : "", bytecode.constants[i]);
//     }
//   }
#ifndef SERIALD_CORE_INTERNAL_INSPECT_EXPANSION_H_
#define SERIALD_CORE_INTERNAL_INSPECT_EXPANSION_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/inspect.h"
#include "core/model/value.h"

namespace seriald::inspect_internal {

// A child line: its label ("[weight]", "$names", "[[2]]") and the node shown after " = ".
struct Child {
  std::string label;
  NodeId node;
};

// What one node prints: its own line and the children below it.
class Expansion {
 public:
  // `id` must be a node of `value`.
  Expansion(const Value& value, NodeId id, const InspectOptions& options)
      : value_(value), id_(id), options_(options) {}

  const Value& value() const { return value_; }
  NodeId id() const { return id_; }
  const Node& node() const { return value_.node(id_); }
  const InspectOptions& options() const { return options_; }

  // The node's own line after "label = ": "FloatTensor - size: 2x3", "List of 2". The walker
  // adds " {" when children follow; a table with entries leaves it empty (its line is "{").
  std::string head;

  // True while a child added now is listed (fewer than max_entries are); afterwards Add only
  // counts children, and their labels need not be built.
  bool Shown() const { return children_.size() < options_.max_entries; }

  // Lists `node` below this one as "label = ...", or counts it once max_entries are listed.
  // kNoNode (an absent optional reference) adds nothing.
  void Add(std::string label, NodeId node) {
    if (node == kNoNode) return;
    if (!Shown()) {
      ++hidden_;
      return;
    }
    children_.push_back(Child{std::move(label), node});
  }

  const std::vector<Child>& children() const { return children_; }
  std::vector<Child> TakeChildren() { return std::move(children_); }
  // Children counted but not listed.
  uint64_t hidden() const { return hidden_; }

 private:
  const Value& value_;
  NodeId id_;
  const InspectOptions& options_;
  std::vector<Child> children_;
  uint64_t hidden_ = 0;
};

// Formatting shared by the expanders, defined in core/inspect.cc.

// A double as Lua and Torch7 print numbers, shortest round trip: "0.1", "1e+308", "-0", "inf",
// "-nan".
std::string FormatNumber(double value);

// `bytes` between double quotes: quotes, backslashes and control bytes escaped (Lua's decimal
// "\255" for bytes that are not valid UTF-8), cut after max_string_bytes with "... (N bytes)".
std::string Quote(std::string_view bytes, const InspectOptions& options);

// The name markers give a node of `value`: "table", "nn.Linear", "function", "environment".
std::string MarkerName(const Value& value, NodeId id);

// A vector on one line as R's str() prints it: `name`, " [1:length]" unless length is 1, the
// first `shown` elements (element_text(i) each) and " ..." when fewer than `length` are shown:
// "num [1:3] 1 2 3", "chr \"a\"", "int [1:100] 1 2 3 4 5 6 7 8 9 10 ...".
template <typename ElementText>
std::string VectorLine(std::string_view name, uint64_t length, uint64_t shown,
                       ElementText&& element_text) {
  std::string text(name);
  if (length != 1) absl::StrAppend(&text, " [1:", length, "]");
  for (uint64_t i = 0; i < shown; ++i) {
    text.push_back(' ');
    text += element_text(i);
  }
  if (shown < length) text += " ...";
  return text;
}

}  // namespace seriald::inspect_internal

#endif  // SERIALD_CORE_INTERNAL_INSPECT_EXPANSION_H_
