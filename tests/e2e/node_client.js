// node client for the end-to-end tests.
//   node node_client.js https PORT CA PATH BODY   - https.request, prints the body
//   node node_client.js fetch PORT PATH BODY      - global fetch (CA via NODE_EXTRA_CA_CERTS)
const https = require('https');
const fs = require('fs');
const [mode, port] = process.argv.slice(2, 4);

if (mode === 'https') {
  const [ca, path, body] = process.argv.slice(4);
  const req = https.request({
    host: '127.0.0.1', port: Number(port), path, method: 'POST',
    servername: 'localhost', ca: fs.readFileSync(ca), agent: false,
    headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body),
               'Host': 'localhost:' + port, 'Authorization': 'Bearer sk-node-secret-0000' },
  }, (res) => {
    let data = '';
    res.setEncoding('utf8');
    res.on('data', (c) => { data += c; });
    res.on('end', () => { process.stdout.write(data); });
  });
  req.on('error', (e) => { console.error(e.message); process.exit(1); });
  req.end(body);
} else {
  const [path, body] = process.argv.slice(4);
  fetch('https://localhost:' + port + path, {
    method: 'POST', body,
    headers: { 'content-type': 'application/json', 'x-api-key': 'sk-ant-node-secret-0000',
               'anthropic-version': '2023-06-01' },
  }).then((r) => r.text()).then((t) => process.stdout.write(t))
    .catch((e) => { console.error(e.message); process.exit(1); });
}
