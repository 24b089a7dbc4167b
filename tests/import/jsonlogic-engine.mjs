// The reference engine for `segcore import --from jsonlogic`: json-logic-js 2.0.5, pinned
// exactly in package.json. Both oracle scripts evaluate through `evaluate` so that the
// membership convention lives in one place.
//
// Membership: member <=> jsonLogic.truthy(jsonLogic.apply(rule, data)). A rule that throws
// is "not a member", but the throw is reported separately so the importer can be checked
// for refusing (or matching) it rather than silently agreeing on `false`.

import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const jsonLogic = require("json-logic-js");

export const ENGINE_VERSION = require("json-logic-js/package.json").version;
export const ENGINE = `json-logic-js ${ENGINE_VERSION}`;

// Another version may answer edge cases differently; refuse to run rather than write
// answers for the wrong engine.
if (ENGINE_VERSION !== "2.0.5") {
  throw new Error(`expected json-logic-js 2.0.5, found ${ENGINE_VERSION}: run npm ci in tests/import`);
}

// Deep copy through JSON: every input came from JSON text, and apply must never see (or
// leave behind) state shared with another case. `undefined` data is not JSON: callers map
// it to null first, which json-logic-js treats the same way for every operator.
function clone(value) {
  return JSON.parse(JSON.stringify(value));
}

/** Evaluate one rule on one data value: {throws, truthy}; truthy is false when it throws. */
export function evaluate(rule, data) {
  const r = clone(rule);
  const d = clone(data === undefined ? null : data);
  try {
    return { throws: false, truthy: jsonLogic.truthy(jsonLogic.apply(r, d)) };
  } catch {
    return { throws: true, truthy: false };
  }
}
