// File: core/convert/item_paths.h
//
// Where each item of plain data sits, as the dotted key path from the root that people use to
// name a model's parameters: `modules.1.weight` is the field "weight" of the first element of
// the root's "modules" table. Array exports (npz, safetensors) name their arrays so, and
// conversion errors name the item that cannot be converted so, rather than by an item number.
//
// Keys are written as the source has them: Lua's 1-based table keys as numbers, R list elements
// by name (by 1-based position when unnamed), data frame columns by name. An item reachable in
// several ways (a shared tensor) gets the path of its first occurrence in file order
// (depth-first, children in order), which is where Torch7 and R write it in full. The walk is
// iterative: deep nesting costs no stack.
//
// Example:
//
//   ItemPaths paths(plain);
//   std::string where = paths.Describe(id);   // "modules.1.weight" or "the root"
#ifndef SERIALD_CORE_CONVERT_ITEM_PATHS_H_
#define SERIALD_CORE_CONVERT_ITEM_PATHS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/data/data.h"

namespace seriald {

class ItemPaths {
 public:
  explicit ItemPaths(const data::Data& plain);

  // The path of `id`: empty for the (single) root; nullopt when the roots do not reach it.
  // Built on demand from the chain of parents (paths are not stored: a chain a million tables
  // deep would need a million paths of a million keys).
  std::optional<std::string> PathOf(ItemId id) const;
  // The path for messages: "modules.1.weight", "the root", or "item 7" when unreachable.
  std::string Describe(ItemId id) const;
  // The reachable items in depth-first order (each once).
  const std::vector<ItemId>& Order() const { return order_; }
  // How the walk reached `id` first: as a value of its own (a list element, a table value), as a
  // data frame column, or as part of a bigger R object (factor codes or levels, row names, an
  // attribute).
  enum class Role : uint8_t { kValue, kColumn, kPart };
  Role RoleOf(ItemId id) const { return roles_[id]; }
  bool IsPart(ItemId id) const { return roles_[id] != Role::kValue; }
  // Items the walk met again after their first path, with the later path: a shared tensor's
  // other names. Only arrays are listed (the only items whose names people see in exports).
  const std::vector<std::pair<ItemId, std::string>>& Repeats() const { return repeats_; }

 private:
  // How the walk first reached each item: its parent (kNoItem for a root) and its key there.
  struct Step {
    bool reached = false;
    ItemId parent = kNoItem;
    std::string key;
  };
  // The path of a child reached under `parent` by `key`.
  std::string Join(ItemId parent, const std::string& key) const;

  std::vector<Step> steps_;
  std::vector<ItemId> order_;
  std::vector<Role> roles_;
  std::vector<std::pair<ItemId, std::string>> repeats_;
};

// The key of a Map entry as a path component: strings as they are, integral numbers without a
// fraction ("1", not "1.0"), other numbers in the shortest form that reads back, booleans as
// "true"/"false"; nullopt for keys of other kinds (a table used as a key).
std::optional<std::string> KeyText(const data::Data& plain, ItemId key);

}  // namespace seriald

#endif  // SERIALD_CORE_CONVERT_ITEM_PATHS_H_
