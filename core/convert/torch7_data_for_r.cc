// Torch7 (and array file) plain data -> R's conventions (cross_family.h). One pass over the item
// table; arrays are rewritten only when R needs other element values (int64 -> double).
#include <algorithm>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/absl_compat.h"
#include "core/convert/cross_family.h"
#include "core/convert/item_paths.h"
#include "core/data/ndarray.h"
#include "core/io/byte_order.h"
#include "core/status_macros.h"
#include "core/torch7/classes.h"

namespace seriald {
namespace {

using data::Item;
using data::NdArray;

// 2^53: every integer up to this is exact in a double.
constexpr int64_t kExactIntegerLimit = int64_t{1} << 53;

class ForR {
 public:
  ForR(data::Data& plain, const CrossFamilyOptions& options, ConversionNotes& notes,
       bool from_torch7)
      : plain_(plain), options_(options), notes_(notes), from_torch7_(from_torch7), paths_(plain) {}

  absl::Status Run() {
    // An R stream holds one object: a Torch7 file of several (writeObject called repeatedly)
    // becomes a list of them, in file order.
    if (plain_.roots().size() > 1) {
      notes_.Add(absl::StrCat("the input's ", plain_.roots().size(),
                              " top-level objects written as one list, in file order"));
      const ItemId list = plain_.Add(data::Sequence{plain_.roots()});
      plain_.roots() = {list};
    }
    RETURN_IF_ERROR(BreakCycles());
    RETURN_IF_ERROR(LimitSharing());
    const size_t count = plain_.size();  // items added on the way need no rewriting
    for (ItemId id = 0; id < count; ++id) {
      Item& item = plain_.mutable_item(id);
      switch (item.kind()) {
        case data::ItemKind::kArray:
          RETURN_IF_ERROR(Array(id));
          break;
        case data::ItemKind::kOpaque:
          RETURN_IF_ERROR(Unconvertible(id));
          break;
        case data::ItemKind::kString:
          StringWithNul(id);
          break;
        default:
          if (from_torch7_ && !item.classes.empty()) MarkObject(id);
          break;
      }
    }
    return absl::OkStatus();
  }

 private:
  // R lists cannot contain themselves (a Torch7 object whose field is its parent, a table that is
  // its own key): such a reference back into an enclosing table is refused, naming it, or with
  // drop_unconvertible becomes NULL. Two iterative depth-first searches: the first follows
  // values only, in the order item paths follow (item_paths.h), so a cut never takes away the
  // path a tensor is known by; the second follows keys too, and cuts a key on each cycle left
  // (every such cycle has one, since the values alone no longer form any).
  absl::Status BreakCycles() {
    RETURN_IF_ERROR(BreakCyclesThrough(/*with_keys=*/false));
    return BreakCyclesThrough(/*with_keys=*/true);
  }

  // The child slot `slot` of `id`, visiting sequence items, then map values, then (with_keys)
  // map keys; nullptr past the last.
  ItemId* ChildSlot(ItemId id, size_t slot, bool with_keys, bool* is_key) {
    Item& item = plain_.mutable_item(id);
    *is_key = false;
    if (auto* sequence = std::get_if<data::Sequence>(&item.data)) {
      return slot < sequence->items.size() ? &sequence->items[slot] : nullptr;
    }
    if (auto* map = std::get_if<data::Map>(&item.data)) {
      const size_t n = map->entries.size();
      if (slot < n) return &map->entries[slot].second;
      if (!with_keys || slot >= 2 * n) return nullptr;
      *is_key = true;
      return &map->entries[slot - n].first;
    }
    return nullptr;
  }

  absl::Status BreakCyclesThrough(bool with_keys) {
    enum Colour : uint8_t { kUnvisited, kOpen, kDone };
    std::vector<Colour> colour(plain_.size(), kUnvisited);
    struct Frame {
      ItemId id;
      size_t next = 0;       // the next child slot
      bool via_key = false;  // the slot this frame was entered through is a key
      size_t parent_slot = 0;
    };
    auto cut = [&](ItemId owner, size_t slot, bool is_key, ItemId target) -> absl::Status {
      const std::string where =
          absl::StrCat(is_key ? "a key of " : "a value of ", paths_.Describe(owner), " is ",
                       paths_.Describe(target), ", which contains it");
      if (!options_.drop_unconvertible) {
        return absl::InvalidArgumentError(
            absl::StrCat(where,
                         "; R lists cannot contain themselves (--drop-unconvertible writes NULL in "
                         "its place)"));
      }
      notes_.Add(absl::StrCat(where, ": a cycle R cannot hold; NULL in its place"));
      const ItemId null = plain_.Add(data::Null{});
      colour.push_back(kDone);
      bool unused;
      *ChildSlot(owner, slot, with_keys, &unused) = null;
      return absl::OkStatus();
    };
    for (ItemId root : plain_.roots()) {
      if (colour[root] != kUnvisited) continue;
      std::vector<Frame> stack{{root}};
      colour[root] = kOpen;
      while (!stack.empty()) {
        const ItemId id = stack.back().id;
        const size_t slot_index = stack.back().next;
        bool is_key;
        ItemId* slot = ChildSlot(id, slot_index, with_keys, &is_key);
        if (slot == nullptr) {
          colour[id] = kDone;
          stack.pop_back();
          continue;
        }
        ++stack.back().next;
        const ItemId target = *slot;
        if (colour[target] == kUnvisited) {
          colour[target] = kOpen;
          stack.push_back({target, 0, is_key, slot_index});
          continue;
        }
        if (colour[target] != kOpen) continue;
        if (is_key || !with_keys) {
          RETURN_IF_ERROR(cut(id, slot_index, is_key, target));
          continue;
        }
        // A value edge closing a cycle of the second search: cut the deepest key the path
        // from `target` down to here was entered through.
        size_t f = stack.size();
        while (f-- > 0 && stack[f].id != target) {
          if (stack[f].via_key) break;
        }
        if (f < stack.size() && stack[f].via_key && f > 0) {
          RETURN_IF_ERROR(cut(stack[f - 1].id, stack[f].parent_slot, true, stack[f].id));
          stack[f].via_key = false;
        } else {
          RETURN_IF_ERROR(cut(id, slot_index, false, target));
        }
      }
    }
    return absl::OkStatus();
  }

  // The containers of `id` that R writes in full at every use.
  template <typename Visit>
  void ForEachChildSlot(ItemId id, Visit&& visit) {
    Item& item = plain_.mutable_item(id);
    if (auto* sequence = std::get_if<data::Sequence>(&item.data)) {
      for (ItemId& child : sequence->items) visit(child);
    } else if (auto* map = std::get_if<data::Map>(&item.data)) {
      for (auto& [key, value] : map->entries) {
        visit(key);
        visit(value);
      }
    }
  }

  // Whether `slot` is a key of map `id`.
  bool IsKeySlot(ItemId id, const ItemId* slot) {
    for (const auto& entry : plain_.Get<data::Map>(id).entries) {
      if (&entry.first == slot) return true;
    }
    return false;
  }

  static bool IsContainer(const Item& item) {
    return item.kind() == data::ItemKind::kSequence || item.kind() == data::ItemKind::kMap;
  }

  // R shares no lists: a table used in several places is written in full at each, and a graph
  // of shared tables (nngraph's nodes, each listing its neighbours) can expand exponentially.
  // When the expansion passes what R's writer allows, the repeated uses of shared tables are
  // refused, or with drop_unconvertible written as NULL (their first use keeps them). Runs after
  // BreakCycles: the items form a DAG. Iterative.
  absl::Status LimitSharing() {
    const uint64_t budget = 4 * static_cast<uint64_t>(plain_.size()) + (uint64_t{1} << 20);
    // Post-order: an item's expanded size once its children's are known.
    std::vector<uint64_t> size(plain_.size(), 0);
    std::vector<uint8_t> state(plain_.size(), 0);  // 0 new, 1 open, 2 sized
    std::vector<ItemId> stack(plain_.roots().begin(), plain_.roots().end());
    while (!stack.empty()) {
      const ItemId id = stack.back();
      if (state[id] == 2) {
        stack.pop_back();
        continue;
      }
      if (state[id] == 0) {
        state[id] = 1;
        ForEachChildSlot(id, [&](ItemId& child) {
          if (state[child] == 0) stack.push_back(child);
        });
        continue;
      }
      uint64_t total = 1;
      ForEachChildSlot(id,
                       [&](ItemId& child) { total = std::min(total + size[child], budget + 1); });
      size[id] = total;
      state[id] = 2;
      stack.pop_back();
    }
    uint64_t expanded = 0;
    for (ItemId root : plain_.roots()) expanded = std::min(expanded + size[root], budget + 1);
    if (expanded <= budget) return absl::OkStatus();

    // Depth-first in file order through values, as item paths go (item_paths.h): the first use
    // of each container stays, later uses go, and so do tables used as keys (graph bookkeeping,
    // such as nngraph's sets of nodes), so that every kept table keeps its path.
    std::vector<bool> seen(plain_.size(), false);
    std::vector<ItemId> walk(plain_.roots().rbegin(), plain_.roots().rend());
    uint64_t cut = 0;
    std::string first_cut;
    const ItemId null = plain_.Add(data::Null{});
    while (!walk.empty()) {
      const ItemId id = walk.back();
      walk.pop_back();
      if (seen[id]) continue;
      seen[id] = true;
      std::vector<ItemId> next;
      if (plain_.GetIf<data::Map>(id) != nullptr) {
        for (auto& [key, value] : plain_.Get<data::Map>(id).entries) {
          if (IsContainer(plain_.item(key))) {
            if (cut++ == 0) first_cut = absl::StrCat(paths_.Describe(id), " uses a table as a key");
            key = null;
          }
        }
      }
      ForEachChildSlot(id, [&](ItemId& child) {
        if (child == null) return;
        if (plain_.GetIf<data::Map>(id) != nullptr && IsKeySlot(id, &child)) return;
        if (seen[child] && IsContainer(plain_.item(child))) {
          if (cut++ == 0) {
            first_cut =
                absl::StrCat(paths_.Describe(id), " uses ", paths_.Describe(child), " again");
          }
          child = null;
          return;
        }
        next.push_back(child);
      });
      walk.insert(walk.end(), next.rbegin(), next.rend());
    }
    const std::string what = absl::StrCat("shared tables would expand to more than ", budget,
                                          " objects in R, which shares no lists (", cut,
                                          " repeated uses, the first: ", first_cut, ")");
    if (!options_.drop_unconvertible) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, "; --drop-unconvertible writes NULL for the repeated uses"));
    }
    notes_.Add(absl::StrCat(what, ": NULL written for the repeated uses"));
    return absl::OkStatus();
  }

  // A class object, a tds container, a counter: its Torch7 class, then the marker the way back
  // recognises.
  void MarkObject(ItemId id) {
    std::vector<std::string>& classes = plain_.mutable_item(id).classes;
    classes.resize(1);
    classes.emplace_back(kTorch7ObjectClass);
    // A legacy object's missing version (null) is NA in R, where an attribute cannot be NULL.
    for (size_t a = 0; a < plain_.item(id).attributes.size(); ++a) {
      const auto& [name, value] = plain_.item(id).attributes[a];
      if (name != "torch7_version" || plain_.GetIf<data::Null>(value) == nullptr) continue;
      StringVector na;
      na.AppendNa();
      const ItemId text = plain_.Add(data::Strings{std::move(na), {}});
      plain_.mutable_item(id).attributes[a].second = text;
    }
  }

  // R strings cannot hold a NUL byte (R's reader refuses the whole file): a Lua string holding
  // one becomes a raw vector of its bytes.
  void StringWithNul(ItemId id) {
    const std::string& bytes = std::get<data::String>(plain_.item(id).data).bytes;
    if (bytes.find('\0') == std::string::npos) return;
    notes_.Add(absl::StrCat(paths_.Describe(id),
                            ": a string holding a NUL byte, which R strings "
                            "cannot: written as a raw vector of its ",
                            bytes.size(), " bytes"));
    Buffer raw = Buffer::Copy(bytes);
    plain_.mutable_item(id).data = data::Binary{std::move(raw)};
  }

  absl::Status Unconvertible(ItemId id) {
    const auto& opaque = std::get<data::Opaque>(plain_.item(id).data);
    if (!options_.drop_unconvertible) {
      return absl::InvalidArgumentError(
          absl::StrCat(paths_.Describe(id), " is ", AsAbsl(opaque.description),
                       ", which R cannot hold (--drop-unconvertible writes NULL in its place)"));
    }
    notes_.Add(absl::StrCat("left out ", paths_.Describe(id), " (", AsAbsl(opaque.description),
                            "): R cannot hold it; NULL in its place"));
    plain_.mutable_item(id) = Item(data::Null{});
    return absl::OkStatus();
  }

  absl::Status Array(ItemId id) {
    Item& item = plain_.mutable_item(id);
    NdArray& array = std::get<NdArray>(item.data);
    // The Torch7 type, kept where R's type does not say it: a storage or Cuda class, or an
    // element type R widens.
    std::string torch_type;
    if (from_torch7_) {
      if (!item.classes.empty()) {
        torch_type = item.classes[0];
      } else if (array.dtype != ElementType::kFloat64 && array.dtype != ElementType::kInt32 &&
                 !torch7::TypeStem(array.dtype).empty()) {
        torch_type = absl::StrCat("torch.", AsAbsl(torch7::TypeStem(array.dtype)), "Tensor");
      }
      item.classes.clear();
    }
    if (array.dtype == ElementType::kInt64) RETURN_IF_ERROR(Int64ToDouble(id, array));
    // A one-element vector is a 1-d array in R (dim 1), so that it is not taken for a number
    // on the way back.
    if (array.shape.size() == 1 && array.shape[0] == 1) {
      int32_t one = 1;
      Item dim(NdArray::Vector(ElementType::kInt32, 1, Buffer::Copy(&one, 4)));
      ItemId dim_id = plain_.Add(std::move(dim));
      plain_.mutable_item(id).attributes.emplace_back("dim", dim_id);
    }
    if (!torch_type.empty()) {
      StringVector text;
      text.Append(torch_type, StringEncoding::kAscii);
      ItemId type_id = plain_.Add(data::Strings{std::move(text), {}});
      plain_.mutable_item(id).attributes.emplace_back(std::string(kTorch7TypeAttribute), type_id);
    }
    return absl::OkStatus();
  }

  // R has no 64-bit integers: doubles, exact up to 2^53, column-major as R will keep them. A
  // gathered copy (a matrix, a view) becomes the doubles where it is; a contiguous vector, which
  // may be a mapped input's bytes, is converted a step at a time into new memory, each step's
  // input pages given back behind: one copy of the data is held either way.
  absl::Status Int64ToDouble(ItemId id, NdArray& array) {
    const uint64_t count = data::ElementCount(array);
    Buffer gathered = data::Gather(array, data::Order::kColumnMajor);
    Buffer buffer = gathered;
    // Gather copies what is not column-major already; what is, it slices, and a slice is never
    // written (other tensors may view the same storage).
    uint8_t* out =
        data::IsContiguous(array, data::Order::kColumnMajor) ? nullptr : gathered.WritableBytes();
    if (out == nullptr) {
      auto [fresh, bytes] = Buffer::Allocate(count * 8);
      buffer = std::move(fresh);
      out = bytes;
    }
    const uint8_t* in = gathered.data();
    uint64_t inexact = 0;
    RETURN_IF_ERROR(VisitElementsInSteps(gathered, 8, count, [&](uint64_t i) {
      const int64_t v = LoadElementBytes<int64_t>(in + 8 * i, array.big_endian);
      if (v > kExactIntegerLimit || v < -kExactIntegerLimit) {
        if (!options_.allow_inexact_integers) {
          return absl::InvalidArgumentError(absl::StrCat(
              paths_.Describe(id), ": element ", i, " (", v,
              ") is beyond 2^53, which R's doubles cannot hold exactly (R has no 64-bit "
              "integers; --allow-inexact-integers rounds it)"));
        }
        ++inexact;
      }
      const double d = static_cast<double>(v);
      std::memcpy(out + 8 * i, &d, 8);
      return absl::OkStatus();
    }));
    if (inexact > 0) {
      notes_.Add(absl::StrCat(paths_.Describe(id), ": ", inexact,
                              " int64 elements beyond 2^53 rounded to the nearest double"));
    }
    array.dtype = ElementType::kFloat64;
    array.strides = data::ContiguousStrides(array.shape, data::Order::kColumnMajor);
    array.offset = 0;
    array.length = count;
    array.data = buffer;
    array.big_endian = false;
    return absl::OkStatus();
  }

  data::Data& plain_;
  const CrossFamilyOptions& options_;
  ConversionNotes& notes_;
  const bool from_torch7_;
  const ItemPaths paths_;
};

}  // namespace

absl::Status AdaptTorch7DataForR(data::Data& plain, const CrossFamilyOptions& options,
                                 ConversionNotes& notes) {
  return ForR(plain, options, notes, /*from_torch7=*/true).Run();
}

absl::Status AdaptArraysForR(data::Data& plain, const CrossFamilyOptions& options,
                             ConversionNotes& notes) {
  return ForR(plain, options, notes, /*from_torch7=*/false).Run();
}

}  // namespace seriald
