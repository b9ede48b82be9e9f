# The console's review of a 200,000-row CSV with 5,000 bad rows (each a leaf: no child made
# invalid by it), over HTTP as the page makes its requests: upload, columns, the first page
# of problems, other pages, a filter, an edit checked again, the tree; the console's peak RSS.
# Usage: python3 bench/console_review.py target/release/orgimport   (writes under /tmp/cmeasure)
import http.client, json, os, re, subprocess, sys, time, shutil
binary = sys.argv[1]
work = "/tmp/cmeasure/work"
shutil.rmtree(work, ignore_errors=True); os.makedirs(work)
src = "/tmp/cmeasure/big.csv"
if not os.path.exists(src):
    with open(src, 'w') as f:
        f.write('id,name,email,domains,parent,metadata.region\n')
        for i in range(200000):
            email = f'bad-{i}' if i % 40 == 1 else f'ops{i}@org{i}.example'
            parent = f'org-{i - i % 10}' if i % 10 else ''
            f.write(f'org-{i},Organization {i},{email},org{i}.example,{parent},EMEA\n')
proc = subprocess.Popen([binary, 'console', '--sandbox', '--dir', work], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
url = proc.stdout.readline().strip()
port = int(re.search(r':(\d+)/', url).group(1)); token = url.split('token=')[1]
base = f'http://127.0.0.1:{port}'
def req(method, path, body=None, headers=None):
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=600)
    h = {'Host': f'127.0.0.1:{port}', 'Cookie': cookie, 'Origin': base}
    h.update(headers or {})
    c.request(method, path, body=body, headers=h)
    r = c.getresponse(); data = r.read(); c.close()
    return r.status, data
cookie = ''
c = http.client.HTTPConnection('127.0.0.1', port); c.request('GET', '/?token=' + token, headers={'Host': f'127.0.0.1:{port}'})
r = c.getresponse(); cookie = r.getheader('Set-Cookie').split(';')[0]; r.read(); c.close()
t0 = time.time()
with open(src, 'rb') as f:
    st, d = req('PUT', '/api/file?name=big.csv', body=f, headers={'Content-Length': str(os.path.getsize(src))})
t1 = time.time(); print('upload+read', st, round(t1 - t0, 2), 's', json.loads(d).get('rows'))
st, d = req('GET', '/api/columns'); cols = json.loads(d)
choices = [c['choice'] for c in cols['columns']]
st, d = req('POST', '/api/columns', body=json.dumps({'choices': choices}), headers={'Content-Type': 'application/json'})
t2 = time.time(); print('columns', st, round(t2 - t1, 2), 's')
st, d = req('GET', '/api/review'); rv = json.loads(d)
t3 = time.time(); print('review (first page)', st, round(t3 - t2, 2), 's', rv['rows'], rv['invalid'], len(d), 'bytes')
print('upload to review', round(t3 - t0, 2), 's')
for path in ['/api/review?page=60', '/api/review?kind=bad%20email&page=100', '/part/review?page=30']:
    a = time.time(); st, d = req('GET', path); print(path, st, round(time.time() - a, 3), 's', len(d), 'bytes')
a = time.time(); st, d = req('POST', '/api/review/cell', body=json.dumps({'index': 41, 'column': 2, 'value': 'fixed@x.example'}), headers={'Content-Type': 'application/json'})
print('edit + recheck', st, round(time.time() - a, 2), 's', json.loads(d)['invalid'])
a = time.time(); st, d = req('GET', '/api/review/tree'); print('tree', st, round(time.time() - a, 2), 's', len(d), 'bytes')
status = open(f'/proc/{proc.pid}/status').read()
print('peak RSS', re.search(r'VmHWM:\s+(\d+ kB)', status).group(1))
proc.terminate(); proc.wait()
