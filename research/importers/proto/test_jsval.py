import json, subprocess, math, sys
sys.path.insert(0,'/tmp/notes/proto')
from jsval import *
vals=[None,True,False,0.0,-0.0,1.0,-1.0,1.5,1e21,1e-7,123456789012345680000.0,0.1,"", " ","0","1","1.5"," 12 ","0x10","1e3","abc","Infinity","-Infinity","1_0","12px",".5","5.","+5","\u00a05",[],[1.0],[1.0,2.0],["a"],[None],{}]
js=json.loads(subprocess.check_output(['node','/tmp/notes/proto/test_jsval.js']))
def ns(n): return "NaN" if math.isnan(n) else num_to_string(n)
bad=0
for i,v in enumerate(vals):
    if to_string(v)!=js['str'][i]: print('str',repr(v),to_string(v),js['str'][i]); bad+=1
    if ns(to_number(v))!=js['num'][i]: print('num',repr(v),ns(to_number(v)),js['num'][i]); bad+=1
    if ns(parse_float(v))!=js['pf'][i]: print('pf',repr(v),ns(parse_float(v)),js['pf'][i]); bad+=1
k=0
for a in vals:
    for b in vals:
        # same object identity only when same index (JS a==b with same array ref)
        e=loose_eq(a,b)
        if e!=js['eq'][k]: print('eq',repr(a),repr(b),e,js['eq'][k]); bad+=1
        l=[rel('<',a,b),rel('<=',a,b),rel('>',a,b),rel('>=',a,b)]
        if l!=js['lt'][k]: print('lt',repr(a),repr(b),l,js['lt'][k]); bad+=1
        k+=1
print('mismatches',bad,'of',len(vals)*3+k*2)
