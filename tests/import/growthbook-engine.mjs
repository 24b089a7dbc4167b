// The reference engine for `segcore import --from growthbook`: evalCondition of
// @growthbook/growthbook 1.8.0, pinned exactly in package.json. The oracle and the differential
// generator evaluate through `evaluate` so that the membership convention lives in one place.
//
// Membership: member <=> evalCondition(attributes, condition, savedGroups) === true. A condition
// that makes the engine throw (e.g. {"$or": null}) is "not a member", but the throw is reported
// separately so the importer can be checked for refusing it rather than silently agreeing on
// `false`.

import { createRequire } from "node:module";
import { evalCondition } from "@growthbook/growthbook";

const require = createRequire(import.meta.url);

export const ENGINE_VERSION = require("@growthbook/growthbook/package.json").version;
export const ENGINE = `@growthbook/growthbook ${ENGINE_VERSION}`;

// Another version may answer edge cases differently (the operator set, $elemMatch's skipping,
// saved groups and paddedVersionString all changed across releases); refuse to run rather than
// write answers for the wrong engine.
if (ENGINE_VERSION !== "1.8.0") {
  throw new Error(`expected @growthbook/growthbook 1.8.0, found ${ENGINE_VERSION}: run npm ci in tests/import`);
}

if (typeof evalCondition !== "function") {
  throw new Error("@growthbook/growthbook does not export evalCondition");
}

// Deep copy through JSON: every input came from JSON text, and evalCondition must never see (or
// leave behind) state shared with another case. `undefined` is not JSON: attributes default to
// {} and saved groups to {} (what evalCondition itself does with a missing savedGroups).
function clone(value) {
  return JSON.parse(JSON.stringify(value));
}

const silent = () => {};

/**
 * Evaluate one condition on one attributes object: {result, throws}; result is false when it
 * throws. An unknown operator makes evalCondition call console.error("Unknown operator: …")
 * and fail; that message is silenced for the duration of the call.
 */
export function evaluate(condition, attributes, savedGroups) {
  const c = clone(condition);
  const a = clone(attributes === undefined ? {} : attributes);
  const g = clone(savedGroups === undefined || savedGroups === null ? {} : savedGroups);
  const consoleError = console.error;
  console.error = silent;
  try {
    return { result: evalCondition(a, c, g) === true, throws: false };
  } catch {
    return { result: false, throws: true };
  } finally {
    console.error = consoleError;
  }
}
