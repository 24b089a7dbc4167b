import json, glob, os, re, subprocess, shutil
STD={'userId':'userId','sessionId':'sessionId','environment':'environment','appName':'appName','remoteAddress':'remoteAddress','currentTime':'currentTime'}
class Refuse(Exception): pass
def attr(name):
    if name in STD: return STD[name]
    if not re.fullmatch(r'[A-Za-z0-9_]+',name): raise Refuse('name')
    return 'p_'+name
def q(s): return '"'+s.replace('\\','\\\\').replace('"','\\"').replace('\n','\\n')+'"'
num_attrs=set()
def constraint(c):
    op=c['operator']; x=attr(c['contextName']); inv=c.get('inverted',False); ci=c.get('caseInsensitive',False)
    vals=c.get('values'); val=c.get('value')
    if op in ('IN','NOT_IN'):
        vals=vals or []
        if not vals: e='false'
        else: e=f'coalesce({x} in [{", ".join(q(v) for v in vals)}], false)'
        if op=='NOT_IN': e=f'not ({e})' if e!='false' else 'true'
    elif op in ('STR_STARTS_WITH','STR_ENDS_WITH','STR_CONTAINS'):
        if not vals or any(v=='' for v in vals): raise Refuse('empty')
        k={'STR_STARTS_WITH':'starts_with','STR_ENDS_WITH':'ends_with','STR_CONTAINS':'contains'}[op]
        lhs=f'lower({x})' if ci else x
        e='coalesce('+' or '.join(f'{lhs} {k} {q(v.lower() if ci else v)}' for v in vals)+', false)'
    elif op.startswith('NUM_'):
        if not re.fullmatch(r'[+-]?[0-9]+(\.[0-9]*)?([eE][+-]?[0-9]+)?',val.strip()): return None
        if op=='NUM_EQ' and abs(float(val))<2: raise Refuse('eps')
        num_attrs.add(x)
        f=float(val); lit=str(int(f)) if f.is_integer() and abs(f)<2**53 else repr(f)
        o={'NUM_EQ':'=','NUM_GT':'>','NUM_GTE':'>=','NUM_LT':'<','NUM_LTE':'<='}[op]
        e=f'coalesce({x} {o} {lit}, false)'
    elif op in ('DATE_AFTER','DATE_BEFORE'):
        if x!='currentTime': raise Refuse('date-prop')
        o='>' if op=='DATE_AFTER' else '<'
        e=f'coalesce(currentTime {o} timestamp({q(val)}), false)'
    elif op.startswith('SEMVER_'):
        if val.startswith('v'): return 'false'   # yggdrasil: constant false, inversion dropped
        o={'SEMVER_EQ':'=','SEMVER_GT':'>','SEMVER_GTE':'>=','SEMVER_LT':'<','SEMVER_LTE':'<='}[op]
        e=f'coalesce(semver({x}) {o} {q(val)}, false)'
    elif op=='REGEX':
        try:
            import re as pyre
        except: pass
        e=f'coalesce({x} matches {q(("(?i)" if ci else "")+val)}, false)'
    elif op=='IN_CIDR': raise Refuse('cidr')
    else: return None   # unknown operator: yggdrasil turns the whole toggle off
    return f'not ({e})' if inv else e
def toggle(ft, segs):
    if not ft.get('enabled'): return 'false'
    if ft.get('dependencies'): raise Refuse('deps')
    strs=ft.get('strategies') or []
    if not strs: return 'true'
    alts=[]
    for s in strs:
        n=s['name']; p=s.get('parameters') or {}
        if n=='default': r='true'
        elif n=='userWithId': r=f'coalesce(userId in [{", ".join(q(u.strip()) for u in p["userIds"].split(","))}], false)'
        elif n=='flexibleRollout' and p.get('rollout')=='100' and p.get('stickiness') in ('default',None): r='true'
        else: raise Refuse('strategy '+n)
        cs=list(s.get('constraints') or [])
        for sid in s.get('segments') or []:
            if sid not in segs: return 'false'
            cs+=segs[sid]['constraints']
        parts=[r]
        for c in cs:
            e=constraint(c)
            if e is None: return 'false'
            parts.append(e)
        alts.append('('+' and '.join(parts)+')')
    return ' or '.join(alts)
res={}
for f in sorted(glob.glob('/work/shared/peer-suites/unleash/[0-9]*.json')):
    d=json.load(open(f)); st=d['state']
    feats={ft['name']:ft for ft in st.get('features',[])}; segs={s['id']:s for s in (st.get('segments') or [])}
    for e in st.get('events',[]) or []:
        for ft in ([e['feature']] if 'feature' in e else [])+e.get('features',[]): feats[ft['name']]=ft
        for s in (e.get('segments') or [])+([e['segment']] if 'segment' in e else []): segs[s['id']]=s
        if e.get('type')=='feature-removed': feats.pop(e['featureName'],None)
    cf={n for n,ft in feats.items() if any(s.get('constraints') or s.get('segments') for s in ft.get('strategies',[]))}
    for i,t in enumerate(d.get('tests',[])):
        if t['toggleName'] not in cf: continue
        key=(os.path.basename(f)[:2],i)
        try:
            num_attrs.clear()
            rule=toggle(feats[t['toggleName']],segs)
        except Refuse as r:
            res[key]=('refuse',str(r)); continue
        ctx=t['context']; attrs={}
        for k,v in ctx.items():
            if k=='properties':
                for pk,pv in v.items(): attrs['p_'+pk]=pv
            else: attrs[STD.get(k,'p_'+k)]=v
        for a in num_attrs:
            if isinstance(attrs.get(a),str):
                try:
                    fv=float(attrs[a]); attrs[a]=int(fv) if re.fullmatch(r'-?\d+',attrs[a]) else fv
                except ValueError: attrs.pop(a)
        res[key]=('eval',rule,attrs,t['expectedResult'],t['description'],sorted(num_attrs))
json.dump({f'{k[0]}#{k[1]}':v for k,v in res.items()},open('cases.json','w'),indent=0)
