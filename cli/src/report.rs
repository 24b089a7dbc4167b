//! What the HTML reports (`reconcile --html`, `drift --html`) share: one stylesheet, inline, so a
//! report is one self-contained file that opens anywhere (no scripts, no fetches).

pub const CSS: &str = "body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:24px auto;max-width:1100px;color:#1d1d1f;padding:0 16px}\
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd;padding-bottom:4px}h3{font-size:14px}\
table{border-collapse:collapse;margin:8px 0}td,th{padding:3px 10px;border-bottom:1px solid #eee;text-align:left}\
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}.kv th{color:#555;font-weight:600}\
.ok{color:#1a7f37}.bad{color:#cf222e;font-weight:600}.alert td{background:#fff4e5}\
.pair{display:grid;grid-template-columns:1fr 1fr;gap:16px}.pair>div{border:1px solid #eee;padding:8px;overflow:auto}\
svg text{font-family:system-ui,sans-serif}";
