import re,sys
# usage: transcribe_rfc9529.py PATH/TO/rfc9529.txt
lines=open(sys.argv[1] if len(sys.argv)>1 else 'rfc9529.txt').read().split('\n')
clean=[]
for l in lines:
    if re.match(r'^RFC 9529 ',l) or re.match(r'^Selander, et al\.',l) or l.startswith('\f'):
        continue
    clean.append(l)
lines=clean
hexre=re.compile(r'^\s+([0-9a-fA-F]{2})( [0-9a-fA-F]{2})*\s*$')
labre=re.compile(r'^\s+(.+?)\s*\((\d+) bytes?\)\s*$')
out=[];sec=''
i=0
while i<len(lines):
    l=lines[i]
    m=re.match(r'^(\d+(\.\d+)*)\.\s+',l)
    if m: sec=m.group(1)
    lm=labre.match(l)
    if lm:
        n=int(lm.group(2))
        j=i+1;data=[]
        while j<len(lines) and hexre.match(lines[j]):
            data+=lines[j].split(); j+=1
        if len(data)<n:
            k=j
            while k<len(lines) and lines[k].strip()=='' : k+=1
            while k<len(lines) and hexre.match(lines[k]):
                data+=lines[k].split(); k+=1
            if len(data)==n: j=k
        if n==0 or len(data)>0:
            if len(data)!=n: sys.exit('LEN MISMATCH %s %s'%(sec,lm.group(1)))
            prev=lines[i-1].strip()
            out.append((sec,lm.group(1),''.join(data).lower(),prev))
        i=j; continue
    i+=1
def key(sec,label,prev):
    if label.startswith('(Raw Value)'):
        who='G_X' if 'Initiator\'s ephemeral' in prev else 'G_Y' if 'Responder\'s ephemeral' in prev else 'PK_R' if 'Responder\'s public auth' in prev else 'PK_I' if 'Initiator\'s public auth' in prev else None
        assert who,prev
        c='y' if "'y'" in prev else 'x'
        return who+'_'+c+'.raw' if who.startswith('G_') else who+'_'+c+'.raw'
    label=label.replace(' (ECDH shared secret)','')
    for a,b in [('(Raw Value)','raw'),('(raw value)','raw'),('(CBOR Data Item)','cbor'),('(CBOR Sequence)','seq'),('(CBOR byte string)','bstr')]:
        if label.endswith(a): label=label[:-len(a)].strip()+'.'+b
    label=label.replace("Client's OSCORE Sender ID","client_sender_id").replace("Server's OSCORE Sender ID","server_sender_id")
    label=label.replace(' ','_')
    return label
files={'trace1':[],'trace2':[],'invalid':[]}
seen={}
for sec,label,d,prev in out:
    k=key(sec,label,prev)
    if sec.startswith('2.'): f='trace1'
    elif sec in('3.1','3.2'): f='trace2'; k='first.'+k
    elif sec.startswith('3.'): f='trace2'
    else: f='invalid'; k=sec+'.'+k
    assert (f,k) not in seen,(f,k); seen[(f,k)]=1
    files[f].append((sec,k,d))
import os
os.makedirs(sys.argv[1],exist_ok=True)
titles={'trace1':'RFC 9529 Section 2: Trace 1 (method 0, cipher suite 0, X.509 by x5t)','trace2':'RFC 9529 Section 3: Trace 2 (method 3, cipher suite 2, CCS by kid); keys "first.*" are the first exchange (3.1, 3.2)','invalid':'RFC 9529 Section 4: invalid messages, keyed by section'}
for f,items in files.items():
    with open(os.path.join(sys.argv[1],'rfc9529_%s.txt'%f),'w') as o:
        o.write('# %s\n# Transcribed from RFC 9529; one "key = hex" per line, hex lowercase, empty value = 0 bytes.\n'%titles[f])
        cur=None
        for sec,k,d in items:
            if sec!=cur: o.write('\n# RFC 9529 §%s\n'%sec); cur=sec
            o.write('%s = %s\n'%(k,d))
