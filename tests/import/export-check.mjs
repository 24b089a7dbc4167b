// Checks `segcore export --to jsonlogic` against json-logic-js itself: reads the JSONL pairs that
// core/tests/import_export.rs writes (SEGCORE_EXPORT_PAIRS) — `{segcore, rule, data, member}`, the
// exported JSON Logic rule and segcore's membership on `data` — and fails on any pair where
// json-logic-js's truthiness differs (or it throws).
//
//   node tests/import/export-check.mjs target/import/export-pairs.jsonl
import { readFileSync } from "node:fs";
import { ENGINE, evaluate } from "./jsonlogic-engine.mjs";

const file = process.argv[2];
if (!file) {
  console.error("usage: node tests/import/export-check.mjs PAIRS.jsonl");
  process.exit(2);
}
const lines = readFileSync(file, "utf8").split("\n").filter((l) => l.trim() !== "");
let wrong = 0;
for (const line of lines) {
  const p = JSON.parse(line);
  const got = evaluate(p.rule, p.data);
  if (got.throws || got.truthy !== p.member) {
    if (wrong < 20) {
      console.error(`WRONG ${p.segcore} → ${JSON.stringify(p.rule)} on ${JSON.stringify(p.data)}: segcore ${p.member}, ${ENGINE} ${got.throws ? "throws" : got.truthy}`);
    }
    wrong++;
  }
}
console.log(`export check: ${lines.length} exported rule × data pairs against ${ENGINE}: ${wrong} disagreements`);
if (lines.length < 10000) {
  console.error("too few pairs: the export test must write at least 10,000");
  process.exit(1);
}
process.exit(wrong === 0 ? 0 : 1);
