// File: core/convert/conversion_notes.h
//
// ConversionNotes: what a conversion between families (Torch7 <-> R, either to npz/safetensors)
// changed or left out, for people: serialctl prints them on standard error, the service returns
// them in ConvertResponse.notes. A conversion that would lose something the user did not agree
// to fails instead; notes are for what the mapping defines as acceptable (an R class Torch7 has
// no use for, a boolean leaf an array file cannot hold).
//
// Notes of the same kind repeat for every item of a big model; past a limit they are counted,
// not kept, so a million skipped leaves cost one line.
//
// Example:
//
//   ConversionNotes notes;
//   notes.Add("skipped model.train (a boolean): not an array");
//   for (const std::string& line : notes.Lines()) std::cerr << "serialctl: " << line << "\n";
#ifndef SERIALD_CORE_CONVERT_CONVERSION_NOTES_H_
#define SERIALD_CORE_CONVERT_CONVERSION_NOTES_H_

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace seriald {

class ConversionNotes {
 public:
  // Notes kept in full; the rest are counted.
  static constexpr size_t kKept = 50;

  void Add(std::string note) {
    if (notes_.size() < kKept) {
      notes_.push_back(std::move(note));
    } else {
      ++left_out_;
    }
  }

  bool empty() const { return notes_.empty(); }
  // The notes kept, then "... and N more notes" when some were only counted.
  std::vector<std::string> Lines() const {
    std::vector<std::string> lines = notes_;
    if (left_out_ > 0) {
      lines.push_back("... and " + std::to_string(left_out_) + " more notes like these");
    }
    return lines;
  }

 private:
  std::vector<std::string> notes_;
  size_t left_out_ = 0;
};

}  // namespace seriald

#endif  // SERIALD_CORE_CONVERT_CONVERSION_NOTES_H_
