// prints JS results for primitive checks, compared by test_jsval.py
const vals=[null,true,false,0,-0,1,-1,1.5,1e21,1e-7,123456789012345680000,0.1,"", " ","0","1","1.5"," 12 ","0x10","1e3","abc","Infinity","-Infinity","1_0","12px",".5","5.","+5","\u00a05",[],[1],[1,2],["a"],[null],{}];
const out={str:vals.map(v=>{try{return String(v)}catch(e){return "ERR"}}), num:vals.map(v=>{const n=Number(v);return Number.isNaN(n)?"NaN":String(n)}), pf:vals.map(v=>{const n=parseFloat(v);return Number.isNaN(n)?"NaN":String(n)}),
 eq:[], lt:[]};
for(const a of vals) for(const b of vals){ out.eq.push(a==b); out.lt.push([a<b,a<=b,a>b,a>=b]); }
console.log(JSON.stringify(out));
