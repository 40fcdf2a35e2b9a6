// The kind `load` made an object as, kept on the object under a hidden symbol, so that `dump`
// writes it back as that kind even when its keys happen to look like another's (a Lua table
// {opaque = "yes"} or {columns = {...}} stays a table). Objects a program builds itself carry no
// mark and are recognized by their keys (lib/to_data.js objectKind).
//
// Example:
//   markKind(frame, 'frame');  kindOf(frame) === 'frame';  Object.keys(frame) has no trace of it
'use strict';

const KIND = Symbol.for('seriald.kind');

// kind: 'array', 'strings', 'frame', 'factor', 'opaque' or 'map'.
function markKind(object, kind) {
  Object.defineProperty(object, KIND, { value: kind, enumerable: false, writable: false, configurable: true });
}

function kindOf(object) {
  return object[KIND];
}

module.exports = { markKind, kindOf };
