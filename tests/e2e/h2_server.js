// HTTP/2 over TLS (ALPN h2) for the end-to-end tests, with node's http2 module.
//   node h2_server.js serve CERT KEY           - OpenAI-style stand-in on 127.0.0.1,
//                                                prints "listening PORT"
//   node h2_server.js client PORT CA PATH BODY... - one connection, the bodies POSTed
//                                                one after the other; prints each reply
// The server answers POST /v1/chat/completions like llm_server.py: the text is
// "réponse ✓ " + the last user text (its first 200 characters), token counts are
// word counts, "stream": true gives SSE chunks (one DATA frame each, 5 ms apart).
const http2 = require('http2');
const fs = require('fs');

const mode = process.argv[2];

function words(s) {
  return s.split(/\s+/).filter((w) => w.length > 0).length;
}

function lastUserText(messages) {
  for (const m of [...(messages || [])].reverse()) {
    if (m.role !== 'user') continue;
    if (typeof m.content === 'string') return m.content;
    if (Array.isArray(m.content)) return m.content.map((p) => p.text || '').join(' ');
  }
  return '';
}

function chat(req, stream) {
  const user = lastUserText(req.messages);
  const text = 'réponse ✓ ' + [...user].slice(0, 200).join('');
  const model = req.model || 'gpt-test';
  const usage = {
    prompt_tokens: words(user), completion_tokens: words(text),
    total_tokens: words(user) + words(text), prompt_tokens_details: { cached_tokens: 0 },
  };
  if (!req.stream) {
    stream.respond({ ':status': 200, 'content-type': 'application/json' });
    stream.end(JSON.stringify({
      id: 'chatcmpl-e2e', object: 'chat.completion', created: 1,
      model: model + '-2024-08-06', system_fingerprint: 'fp_e2e',
      choices: [{ index: 0, finish_reason: 'stop',
                  message: { role: 'assistant', content: text } }],
      usage,
    }));
    return;
  }
  const base = { id: 'chatcmpl-e2e-s', object: 'chat.completion.chunk', created: 1,
                 model: model + '-2024-08-06', system_fingerprint: 'fp_e2e' };
  const events = [{ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' } }] }];
  for (const w of text.split(' '))
    events.push({ ...base, choices: [{ index: 0, delta: { content: w + ' ' } }] });
  events.push({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
  if ((req.stream_options || {}).include_usage)
    events.push({ ...base, choices: [], usage });
  const lines = events.map((e) => 'data: ' + JSON.stringify(e) + '\n\n');
  lines.push('data: [DONE]\n\n');
  stream.respond({ ':status': 200, 'content-type': 'text/event-stream' });
  let i = 0;
  const next = () => {
    if (i === lines.length) {
      stream.end();
      return;
    }
    stream.write(lines[i++]);
    setTimeout(next, 5);
  };
  next();
}

function serve(cert, key) {
  const server = http2.createSecureServer({ cert: fs.readFileSync(cert),
                                            key: fs.readFileSync(key) });
  server.on('stream', (stream, headers) => {
    const chunks = [];
    stream.on('data', (c) => chunks.push(c));
    stream.on('end', () => {
      if (headers[':method'] !== 'POST' || headers[':path'] !== '/v1/chat/completions') {
        stream.respond({ ':status': 404, 'content-type': 'text/plain' });
        stream.end('not found');
        return;
      }
      let req = {};
      try {
        req = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      } catch (e) {
        req = {};
      }
      chat(req, stream);
    });
    stream.on('error', () => {});
  });
  server.on('sessionError', () => {});
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write('listening ' + server.address().port + '\n');
  });
}

function client(port, ca, path, bodies) {
  const session = http2.connect('https://localhost:' + port, { ca: fs.readFileSync(ca) });
  session.on('error', (e) => {
    console.error(e.message);
    process.exit(1);
  });
  const one = (i) => {
    if (i === bodies.length) {
      session.close();
      return;
    }
    const req = session.request({ ':method': 'POST', ':path': path,
                                  'content-type': 'application/json',
                                  authorization: 'Bearer sk-node-secret-0000' });
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (c) => { data += c; });
    req.on('end', () => {
      process.stdout.write(data + '\n');
      one(i + 1);
    });
    req.end(bodies[i]);
  };
  one(0);
}

if (mode === 'serve') {
  serve(process.argv[3], process.argv[4]);
} else if (mode === 'client') {
  const [port, ca, path, ...bodies] = process.argv.slice(3);
  client(Number(port), ca, path, bodies);
} else {
  console.error('usage: h2_server.js serve CERT KEY | client PORT CA PATH BODY...');
  process.exit(2);
}
