// node https client for the end-to-end tests: POSTs argv[4] (a JSON string)
// to https://127.0.0.1:PORT/v1/chat/completions and prints the response body.
const https = require('https');
const fs = require('fs');
const [port, ca, body] = process.argv.slice(2);
const req = https.request({
  host: '127.0.0.1', port: Number(port), path: '/v1/chat/completions', method: 'POST',
  servername: 'localhost', ca: fs.readFileSync(ca), agent: false,
  headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body),
             'Authorization': 'Bearer sk-node-secret-0000' },
}, (res) => {
  let data = '';
  res.setEncoding('utf8');
  res.on('data', (c) => { data += c; });
  res.on('end', () => { process.stdout.write(data); });
});
req.on('error', (e) => { console.error(e.message); process.exit(1); });
req.end(body);
