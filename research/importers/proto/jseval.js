// Persistent evaluator: one JSON request per line {"rule", "consts", "data"} -> {"ok","value"|"error"}.
const jl = require('/tmp/notes/jl/logic.js');
let consts = [];
jl.add_operation("__const", function(i) { return consts[i]; });
const rl = require('readline').createInterface({input: process.stdin});
rl.on('line', (line) => {
  const req = JSON.parse(line);
  const dec = (v) => (v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 1 && "$js" in v)
      ? ({"NaN": NaN, "Infinity": Infinity, "-Infinity": -Infinity, "-0": -0, "undefined": undefined})[v["$js"]]
      : Array.isArray(v) ? v.map(dec) : v;
  consts = (req.consts || []).map(dec);
  let out;
  try { const v = jl.apply(req.rule, req.data); out = {ok: true, value: v === undefined ? "__undefined__" : v,
        nan: typeof v === "number" && isNaN(v), inf: typeof v === "number" && !isFinite(v) && !isNaN(v) ? Math.sign(v) : 0,
        negzero: Object.is(v, -0)}; }
  catch (e) { out = {ok: false, error: String(e && e.message || e)}; }
  process.stdout.write(JSON.stringify(out) + "\n");
});
