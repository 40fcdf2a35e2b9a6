#include "core/convert/item_paths.h"

#include <cmath>
#include <cstdio>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/absl_compat.h"

namespace seriald {

std::optional<std::string> KeyText(const data::Data& plain, ItemId key) {
  const data::Item& item = plain.item(key);
  if (const auto* text = std::get_if<data::String>(&item.data)) return text->bytes;
  if (const auto* number = std::get_if<data::Number>(&item.data)) {
    const double v = number->value;
    if (std::isfinite(v) && v == std::trunc(v) && std::fabs(v) < 9.007199254740992e15) {
      return absl::StrCat(static_cast<int64_t>(v));
    }
    char text[32];
    std::snprintf(text, sizeof text, "%.17g", v);
    return std::string(text);
  }
  if (const auto* integer = std::get_if<data::Integer>(&item.data)) {
    return absl::StrCat(integer->value);
  }
  if (const auto* boolean = std::get_if<data::Boolean>(&item.data)) {
    return boolean->value ? "true" : "false";
  }
  if (const auto* strings = std::get_if<data::Strings>(&item.data);
      strings != nullptr && strings->values.size() == 1 && !strings->values.Get(0).is_na) {
    return std::string(strings->values.Get(0).bytes);
  }
  return std::nullopt;
}

namespace {

// A child met while walking: its item, its path component, and whether it is part of its parent
// rather than a value of its own.
struct Child {
  ItemId id;
  std::string key;
  ItemPaths::Role role;
};

// The name of element `i` of a list with `names` (a Strings item or kNoItem), else its 1-based
// position.
std::string ElementKey(const data::Data& plain, ItemId names, size_t i) {
  if (const auto* strings = plain.GetIf<data::Strings>(names);
      strings != nullptr && i < strings->values.size()) {
    StringVector::Element e = strings->values.Get(i);
    if (!e.is_na && !e.bytes.empty()) return std::string(e.bytes);
  }
  return absl::StrCat(i + 1);
}

std::vector<Child> ChildrenOf(const data::Data& plain, const data::Item& item) {
  std::vector<Child> children;
  if (const auto* sequence = std::get_if<data::Sequence>(&item.data)) {
    for (size_t i = 0; i < sequence->items.size(); ++i) {
      children.push_back({sequence->items[i], ElementKey(plain, item.names, i), ItemPaths::Role::kValue});
    }
  } else if (const auto* map = std::get_if<data::Map>(&item.data)) {
    for (const auto& [key, value] : map->entries) {
      std::optional<std::string> text = KeyText(plain, key);
      children.push_back(
          {value,
           text.value_or(absl::StrCat("<", AsAbsl(data::ItemKindName(plain.item(key).kind())),
                                      " key>")),
           ItemPaths::Role::kValue});
    }
  } else if (const auto* frame = std::get_if<data::DataFrame>(&item.data)) {
    for (size_t i = 0; i < frame->columns.size(); ++i) {
      children.push_back({frame->columns[i], frame->column_names[i], ItemPaths::Role::kColumn});
    }
    if (frame->row_names != kNoItem) children.push_back({frame->row_names, "@row.names", ItemPaths::Role::kPart});
  } else if (const auto* factor = std::get_if<data::Factor>(&item.data)) {
    children.push_back({factor->codes, "codes", ItemPaths::Role::kPart});
    children.push_back({factor->levels, "levels", ItemPaths::Role::kPart});
  }
  // Attributes last, in R's attr() spelling.
  if (item.names != kNoItem) children.push_back({item.names, "@names", ItemPaths::Role::kPart});
  if (item.dim_names != kNoItem) children.push_back({item.dim_names, "@dimnames", ItemPaths::Role::kPart});
  for (const auto& [name, value] : item.attributes) {
    children.push_back({value, absl::StrCat("@", name), ItemPaths::Role::kPart});
  }
  return children;
}

}  // namespace

ItemPaths::ItemPaths(const data::Data& plain)
    : steps_(plain.size()), roles_(plain.size(), Role::kValue) {
  struct Pending {
    ItemId id;
    ItemId parent;
    std::string key;
    Role role;
  };
  std::vector<Pending> stack;
  const auto& roots = plain.roots();
  for (size_t r = roots.size(); r-- > 0;) {
    stack.push_back(
        {roots[r], kNoItem, roots.size() == 1 ? std::string() : absl::StrCat(r + 1), Role::kValue});
  }
  while (!stack.empty()) {
    Pending top = std::move(stack.back());
    stack.pop_back();
    if (!plain.Contains(top.id)) continue;
    Step& step = steps_[top.id];
    if (step.reached) {
      if (top.role != Role::kPart && plain.item(top.id).kind() == data::ItemKind::kArray) {
        repeats_.emplace_back(top.id, Join(top.parent, top.key));
      }
      continue;
    }
    step = Step{true, top.parent, std::move(top.key)};
    roles_[top.id] = top.role;
    order_.push_back(top.id);
    std::vector<Child> children = ChildrenOf(plain, plain.item(top.id));
    for (size_t c = children.size(); c-- > 0;) {
      stack.push_back({children[c].id, top.id, std::move(children[c].key), children[c].role});
    }
  }
}

std::string ItemPaths::Join(ItemId parent, const std::string& key) const {
  if (parent == kNoItem) return key;
  std::optional<std::string> path = PathOf(parent);
  if (!path.has_value() || path->empty() || key.starts_with("@")) {
    return absl::StrCat(path.value_or(""), key);
  }
  return absl::StrCat(*path, ".", key);
}

std::optional<std::string> ItemPaths::PathOf(ItemId id) const {
  if (id >= steps_.size() || !steps_[id].reached) return std::nullopt;
  std::vector<const std::string*> keys;
  for (ItemId at = id; at != kNoItem; at = steps_[at].parent) keys.push_back(&steps_[at].key);
  std::string path;
  for (size_t k = keys.size(); k-- > 0;) {
    const std::string& key = *keys[k];
    if (!path.empty() && !key.empty() && !key.starts_with("@")) path += '.';
    path += key;
  }
  return path;
}

std::string ItemPaths::Describe(ItemId id) const {
  std::optional<std::string> path = PathOf(id);
  if (!path.has_value()) return absl::StrCat("item ", id);
  if (path->empty()) return "the root";
  return *std::move(path);
}

}  // namespace seriald
