// SerialdError: a failed call, with the gRPC status code and the typed detail seriald attaches
// to every error (seriald.v1.ErrorInfo inside the google.rpc.Status of the
// `grpc-status-details-bin` trailer): byte offset of malformed input, the format whose reader
// found the problem, the limit that was hit.
//
// Example:
//   try { await client.load(garbage); } catch (e) {
//     if (e instanceof SerialdError) console.log(e.code, e.codeName, e.byteOffset, e.details);
//   }
'use strict';

const grpc = require('@grpc/grpc-js');
const { messages } = require('./protos');

const ERROR_INFO_TYPE = 'seriald.v1.ErrorInfo';
const CODE_NAMES = Object.fromEntries(Object.entries(grpc.status).map(([name, code]) => [code, name]));

class SerialdError extends Error {
  // `callError`: the error grpc-js hands out (code, details, metadata).
  constructor(callError) {
    super(callError.details || callError.message);
    this.name = 'SerialdError';
    // The gRPC status code (3 INVALID_ARGUMENT, 8 RESOURCE_EXHAUSTED, ...) and its name.
    this.code = callError.code;
    this.codeName = CODE_NAMES[callError.code] || String(callError.code);
    // The status message.
    this.details = callError.details || '';
    // From ErrorInfo: the problem in words, the format ("t7", "rds", "json") whose reader found
    // it, the byte offset in the input (null when the input was not at fault), and the limit hit
    // ("max-message-bytes", "max-depth", ...).
    this.problem = '';
    this.format = '';
    this.byteOffset = null;
    this.limit = '';
    const trailers = callError.metadata ? callError.metadata.get('grpc-status-details-bin') : [];
    for (const encoded of trailers) this.readStatusDetails(encoded);
  }

  readStatusDetails(encoded) {
    try {
      const status = messages.Status.deserialize(Buffer.from(encoded));
      for (const detail of status.details) {
        // proto-loader keeps google.protobuf.Any's field name as written (type_url).
        const typeUrl = detail.type_url ?? detail.typeUrl ?? '';
        if (!typeUrl.endsWith(`/${ERROR_INFO_TYPE}`)) continue;
        const info = messages.ErrorInfo.deserialize(detail.value);
        this.problem = info.problem;
        this.format = info.format;
        this.limit = info.limit;
        if (info.byteOffset !== undefined) this.byteOffset = info.byteOffset;
      }
    } catch {
      // Not a google.rpc.Status with an ErrorInfo: the status line is all there is.
    }
  }
}

// Errors grpc-js reports (they carry a numeric `code`) become SerialdErrors; the client's own
// errors (a value it cannot write) pass unchanged.
function fromCallError(error) {
  return error && typeof error.code === 'number' && 'details' in error ? new SerialdError(error) : error;
}

module.exports = { SerialdError, fromCallError };
