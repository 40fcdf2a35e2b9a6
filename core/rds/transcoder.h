// File: core/rds/transcoder.h
//
// Converts an R serialization stream (XDR, native or ascii, version 2 or 3, a bare stream or a
// save() file's) into another R encoding and version as its bytes arrive: each item is written as
// soon as it is read, and vector data goes from the input chunk it arrived in to the output a
// piece at a time (binary: by reference when the byte order is the same, swapped or formatted
// straight into the output otherwise; ascii: its tokens parsed a batch of 8192 at a time, with
// R's rules (rds/primitives.h), and written as the graph writes the values). Memory is a chunk
// and the reference table, whatever the size of the stream; serialctl, unary Convert and
// ConvertStream use it for R to R conversions (core/convert), reading compressed input through
// rds::Decompressor so that the decompressed stream is never held whole.
//
// Whether an ascii stream is asciihex shows only in its first number written as a double
// (rds::AsciiDoubleForm), which may come late: `settings_for` is first asked for an ascii source,
// and asked again for an asciihex one when that number is a hex float. Only the encoding of the
// output may change then (the rdata codec follows the source's); no number has been written.
//
// The output is byte for byte what WriteR(ReadR(input)) writes with the same settings (without
// normalising: ReadOptions::r_normalize off). Where the object graph would write something else
// than the items as they come, the transcoder does not guess: it stops, before it has written
// anything that could differ, and says where and why (RTranscodeOutcome::complete false). The
// caller then converts the whole input through the object graph, and may keep the output written
// so far, which is the graph's output's first `emitted` bytes. It stops for:
//   byte code whose shared language cells are numbered or counted otherwise than the graph
//   numbers them (in the order written, from 0, each referred to again: as R writes them), or
//   written otherwise than the graph writes it (a constant's type word that is not its type, a
//   pad that is not 0, a language object after a pad, a cell's attributes written as NULL), or
//   of more than 16 MiB of output,
//   compact sequences written as version 2 whose elements pass the output limit, or pass 16 MiB
//   in output held in memory (a byte code constant, attributes held until a tag shows),
//   ALTREP objects other than compact sequences written as version 2 (the graph expands them:
//   a wrapper's or deferred string's vector comes whole before the word that says whether the
//   expanded vector has attributes, which its flags word says first), class information in
//   another form than R's, and states the reader would refuse: a compact sequence's three numbers
//   and a wrapper's (data . metadata) pair (data a vector, a compact sequence or another wrapper,
//   metadata an integer vector) are checked here as the reader checks them; other classes'
//   states (deferred strings' among them) are opaque: in version 3 they go on as read,
//   forms no R version writes and the reader normalises: a symbol written in full twice, a
//   reference to a persistent name, a CHARSXP with attributes, a NULL written for a flagged
//   tag, closure environment or pairlist attribute list,
//   what the reader would refuse where the graph's reader words it (a frame or attribute list
//   that is not a pairlist, a compact sequence's bad state), and a save() file's root that is
//   not a pairlist.
// A compact sequence written as version 2 is expanded as read (rds/writer.cc WriteExpanded):
// its state is three numbers, and the word after them says whether attributes follow; its
// elements are generated a step at a time, and the class symbols it does not write enter the
// output's reference table where the output first has them (references are renumbered).
// A cell or closure whose tag bit follows attributes is held in memory until its tag shows
// whether it is NULL, and a byte code object (a function's, a few KiB) until its end shows its
// cells numbered as the graph numbers them.
//
// Input problems are InputErrors "rds: ... at byte N" (stream offsets); callers that hold the
// whole input may rather report the reader's own error by converting through the object graph.
//
// Example:
//
//   ChunkedInput in(ChunkedInput::ChunksOf(input, 1 << 20), "rds", input.size());
//   ByteWriter stream(...);   // the uncompressed output stream
//   ASSIGN_OR_RETURN(RTranscodeOutcome done,
//                    TranscodeR(in, [&](const RStreamInfo& source) {
//                      return rds::SettingsForSource(source, RFormat::kNative);
//                    }, stream, ReadOptions{}));
//   if (!done.complete) ...;  // ReadR + WriteR, skipping the first done.emitted bytes
#ifndef SERIALD_CORE_RDS_TRANSCODER_H_
#define SERIALD_CORE_RDS_TRANSCODER_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "core/format/codec.h"
#include "core/io/byte_writer.h"
#include "core/io/chunked_input.h"
#include "core/model/value.h"
#include "core/rds/writer.h"

namespace seriald {

struct RTranscodeOutcome {
  bool complete = false;
  // When not complete: the stream bytes written, which the object graph's output starts with;
  // the input offset where the transcoder stopped, and why.
  uint64_t emitted = 0;
  uint64_t stopped_at = 0;
  std::string reason;
};

// The output settings for a stream whose header is `source` (compression is the caller's: the
// settings' compression is ignored, the uncompressed stream is written). Called once, or twice
// for an asciihex stream (see above).
using RSettingsForSource =
    std::function<absl::StatusOr<rds::RWriteSettings>(const RStreamInfo& source)>;

// Reads the R stream in `in` (uncompressed: a bare stream or a save() file's) and writes it into
// `out` as `settings_for` says, as it reads. `out` is not finished.
absl::StatusOr<RTranscodeOutcome> TranscodeR(ChunkedInput& in,
                                             const RSettingsForSource& settings_for,
                                             ByteWriter& out, const ReadOptions& options);

}  // namespace seriald

#endif  // SERIALD_CORE_RDS_TRANSCODER_H_
