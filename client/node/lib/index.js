// The seriald Node client: Torch7 (.t7) and R (.rds, serialize, save) files as plain JavaScript
// values, read and written by a seriald server.
//
// Example:
//   const { SerialdClient } = require('seriald');
//   const client = new SerialdClient('127.0.0.1:50051');
//   const frame = await client.load('table.rds');   // { columns: { x: Float64Array, ... }, rowNames }
//   const t7 = await client.dump({ className: 'nn.Linear', weight: frame.columns.x }, 't7');
//   const { data, notes } = await client.convert(t7, 'safetensors');   // notes: what was left out
//   client.close();
'use strict';

const { SerialdClient, FORMATS } = require('./client');
const { SerialdError } = require('./errors');
const { fromData } = require('./from_data');
const { toData } = require('./to_data');

module.exports = {
  SerialdClient,
  SerialdError,
  FORMATS,
  // The conversions on their own (seriald.v1.Data objects as proto-loader decodes them).
  fromData,
  toData,
};
