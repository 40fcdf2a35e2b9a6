// The seriald schema, loaded at run time with @grpc/proto-loader: the Serializer service client
// constructor and the message types the client encodes and decodes itself (google.rpc.Status and
// seriald.v1.ErrorInfo in the error trailer).
//
// The .proto files are read from, in order: $SERIALD_PROTO_DIR; the package's own proto/
// directory (filled by `npm pack` through scripts/copy-protos.js, so a packed tarball is
// self-contained); the repository's proto/ directory two levels up (a checkout).
//
// Example:
//   const { serializerClient, messages } = require('./protos');
//   const info = messages.ErrorInfo.deserialize(bytes);   // { problem, format, byteOffset, ... }
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const PROTO_FILES = ['seriald/v1/serializer.proto', 'google/rpc/status.proto'];

// camelCase field names; enums by name; 64-bit integers as JS numbers (every size, stride and
// offset is far below 2^53); bytes as Buffers that slice the received message (no copy); unset
// fields present with their default value; a `kind`/`part` field naming the member of each
// oneof that is set.
const LOADER_OPTIONS = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

function findProtoDir() {
  const candidates = [
    process.env.SERIALD_PROTO_DIR,
    path.join(__dirname, '..', 'proto'),
    path.join(__dirname, '..', '..', '..', 'proto'),
  ];
  for (const dir of candidates) {
    if (dir && fs.existsSync(path.join(dir, PROTO_FILES[0]))) return dir;
  }
  throw new Error(
    `seriald: ${PROTO_FILES[0]} not found (looked in ${candidates.filter(Boolean).join(', ')}); ` +
      'set SERIALD_PROTO_DIR to the repository\'s proto directory');
}

const protoDir = findProtoDir();
const packageDefinition = protoLoader.loadSync(PROTO_FILES, {
  ...LOADER_OPTIONS,
  includeDirs: [protoDir],
});
const loaded = grpc.loadPackageDefinition(packageDefinition);

module.exports = {
  protoDir,
  // new serializerClient(target, credentials, channelOptions)
  serializerClient: loaded.seriald.v1.Serializer,
  // Message codecs ({serialize, deserialize}) by short name.
  messages: {
    Status: packageDefinition['google.rpc.Status'],
    ErrorInfo: packageDefinition['seriald.v1.ErrorInfo'],
  },
};
