// File: core/rds/refhook.h
//
// R's refhook, in both directions, as transformations of a Value: the reader and writer never
// call out, so reading a stream that holds persistent references always works (they are
// PersistentReference nodes), and a caller decides afterwards what they stand for.
//
// R's serialize(x, refhook = f) asks f about every environment, external pointer and weak
// reference it meets (never the global, base and empty environments, namespaces or package
// environments, which streams name by markers of their own; serialize.c GetPersistentName); when
// f returns a character vector, R writes a PERSISTSXP holding those names instead of the object.
// unserialize(x, refhook = g) calls g with the names of each PERSISTSXP and uses what g returns.
//
//   * ResolvePersistentReferences is unserialize's side: the resolver gets the names of the
//     persistent references and returns the Value (read from any R stream) whose root takes
//     their place, or nullopt to leave them. The bound value's nodes are appended to `value`;
//     its root goes into the persistent reference's own node, so every reference to that node
//     (roots, list items, an environment's frame, ...) now reaches the bound object, and the ids
//     of the nodes already in `value` do not change.
//   * MakePersistentReferences is serialize's side: the hook is asked about each environment,
//     external pointer and weak reference node and returns the names to write, or nullopt to
//     write the object itself. A named node becomes a PersistentReference node (without the
//     attributes and flags it had: R writes a PERSISTSXP bare), which WriteR writes as R would.
//
// Neither recurses: the value is a flat table and both walk it with loops. Errors name the node:
// INVALID_ARGUMENT for what R would not accept, the code of the caller's function for its own.
//
// Example: the stream of serialize(list(a = 1, e = e), NULL, refhook = function(x)
// if (identical(x, e)) "myenv" else NULL), with "myenv" bound to the object of another file.
//
//   ASSIGN_OR_RETURN(Value value, ReadR(stream));
//   ASSIGN_OR_RETURN(Value bound, ReadR(other_file));          // saveRDS(list(k = 42), f)
//   RETURN_IF_ERROR(BindPersistentReferences(value, {{{"myenv"}, std::move(bound)}}));
//   // value's root is now list(a = 1, e = list(k = 42)).
//
//   // The other way: write every environment as a persistent reference named "env<id>".
//   RETURN_IF_ERROR(MakePersistentReferences(
//       value, [](const Value&, NodeId id) -> absl::StatusOr<std::optional<StringVector>> {
//         return PersistentNamesFromUtf8({absl::StrCat("env", id)});
//       }));
#ifndef SERIALD_CORE_RDS_REFHOOK_H_
#define SERIALD_CORE_RDS_REFHOOK_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/model/strings.h"
#include "core/model/value.h"

namespace seriald {

// What stands for the persistent references named `names`: a Value with exactly one root, or
// nullopt to leave them as they are. An error stops the resolution (and is returned, naming the
// node).
using PersistentReferenceResolver =
    std::function<absl::StatusOr<std::optional<Value>>(const StringVector& names)>;

// Replaces the persistent references of `value` by what `resolve` returns for their names.
// `resolve` is called once for each distinct list of names (bytes, declared encodings and NA
// alike), in the order of the nodes; every persistent reference with those names becomes the one
// bound object, so two references an R hook resolved to the same environment stay one
// environment. Only the references `value` held on entry are resolved, not those inside the
// bound values. Nodes that stood for the second and later references with the same names are
// left unreferenced, as Nil. Every list of names is resolved and checked before anything
// changes, so `value` is unchanged on error.
absl::Status ResolvePersistentReferences(Value& value, const PersistentReferenceResolver& resolve);

// A binding of persistent references by their names, given as UTF-8 text.
struct ReferenceBinding {
  std::vector<std::string> names;
  Value value;  // one root: the object the references stand for
};

// Resolves each persistent reference whose names, as UTF-8 (latin1 names transcoded), equal the
// names of one of `bindings` to that binding's value; references no binding names are left.
// INVALID_ARGUMENT when two bindings have the same names or one has none.
absl::Status BindPersistentReferences(Value& value, const std::vector<ReferenceBinding>& bindings);

// Whether R's serialize asks its refhook about a node of `kind`: environments, external pointers
// and weak references (the special environments are other kinds: Special, Namespace,
// PackageEnvironment).
bool AsksRefhook(NodeKind kind);

// The names to write for the node `id` of `value` (whose kind AsksRefhook), or nullopt to write
// the node itself. The names must not be empty (R asserts as much).
using PersistentNameHook =
    std::function<absl::StatusOr<std::optional<StringVector>>(const Value& value, NodeId id)>;

// Asks `hook` about every environment, external pointer and weak reference node of `value`, in
// the order of their ids and all before changing anything (so the hook always sees the value as
// given), then turns each node it named into a PersistentReference with those names.
absl::Status MakePersistentReferences(Value& value, const PersistentNameHook& hook);

// The same for nodes chosen in advance: each node of `names` (an environment, external pointer
// or weak reference; anything else is refused, naming the node) becomes a PersistentReference
// with its names. Nothing changes when an entry is refused.
absl::Status MakePersistentReferences(Value& value, const std::map<NodeId, StringVector>& names);

// Names given as UTF-8 text, declared as R declares the strings a refhook returns: ASCII when
// they are, else UTF-8.
StringVector PersistentNamesFromUtf8(const std::vector<std::string>& names);

// The names as UTF-8 text (latin1 ones transcoded, others as they are), or nullopt when one of
// them is NA, which no text names.
std::optional<std::vector<std::string>> PersistentNamesAsUtf8(const StringVector& names);

}  // namespace seriald

#endif  // SERIALD_CORE_RDS_REFHOOK_H_
