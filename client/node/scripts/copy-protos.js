// Copies the repository's .proto files into this package's proto/ directory, so that a tarball
// made by `npm pack` (which runs this as its `prepack` script) carries the schema it loads
// (lib/protos.js looks there before the repository's proto/ directory). With --remove (the
// `postpack` script) it deletes that copy again, so a checkout never loads a stale schema.
//
// Example:  npm pack     (from client/node)
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const source = path.join(__dirname, '..', '..', '..', 'proto');
const target = path.join(__dirname, '..', 'proto');
const files = [
  'seriald/v1/serializer.proto',
  'seriald/v1/value.proto',
  'seriald/v1/data.proto',
  'google/rpc/status.proto',
];

if (process.argv.includes('--remove')) {
  fs.rmSync(target, { recursive: true, force: true });
  process.exit(0);
}

for (const file of files) {
  fs.mkdirSync(path.dirname(path.join(target, file)), { recursive: true });
  fs.copyFileSync(path.join(source, file), path.join(target, file));
}
console.log(`copied ${files.length} .proto files into ${target}`);
