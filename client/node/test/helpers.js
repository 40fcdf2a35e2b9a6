// Shared by the Node client's tests: the protobuf round trip a Data makes on the wire, a seriald
// server started for a test file and stopped after it, paths of the shared corpus, and Rscript.
//
// Example:
//   const server = await startServer();            // $SERIALD_BIN, else <repo>/build/bin/seriald
//   const client = new SerialdClient(server.address);
//   ...
//   client.close(); await server.stop();
'use strict';

const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const readline = require('node:readline');
const protoLoader = require('@grpc/proto-loader');
const { protoDir } = require('../lib/protos');

const REPO = path.join(__dirname, '..', '..', '..');
const SERIALD_BIN = process.env.SERIALD_BIN || path.join(REPO, 'build', 'bin', 'seriald');
const SHARED_DIR = process.env.SERIALD_SHARED_DIR || path.join(REPO, '..', 'shared');
const TORCH7_CORPUS = path.join(SHARED_DIR, 'corpus', 'torch7');

const definition = protoLoader.loadSync(['seriald/v1/serializer.proto'], {
  includeDirs: [protoDir], keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true,
});
const serializeMethod = definition['seriald.v1.Serializer'].Serialize;

// A Data object encoded and decoded as a SerializeRequest is on its way to the server and back:
// what fromData receives, and proof that toData's output is a valid message.
function wireRoundTrip(data) {
  return serializeMethod.requestDeserialize(serializeMethod.requestSerialize({ data })).data;
}

// Starts `seriald --listen 127.0.0.1:0 [...extraArgs]` and resolves once it prints its address.
// The server's stderr (one line per call) is collected in `log`.
function startServer(extraArgs = []) {
  return new Promise((resolve, reject) => {
    const child = spawn(SERIALD_BIN, ['--listen', '127.0.0.1:0', ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
    const server = { child, log: [], address: null };
    // A test process that dies before stop() (an uncaught exception) takes its server along.
    const killOnExit = () => child.kill('SIGKILL');
    process.on('exit', killOnExit);
    child.on('exit', () => process.off('exit', killOnExit));
    readline.createInterface({ input: child.stderr }).on('line', (line) => server.log.push(line));
    const lines = readline.createInterface({ input: child.stdout });
    const timer = setTimeout(() => reject(new Error('seriald did not start within 20 s')), 20000);
    child.on('error', (error) => { clearTimeout(timer); reject(error); });
    child.on('exit', (code) => {
      if (server.address === null) {
        clearTimeout(timer);
        reject(new Error(`seriald exited with ${code} before listening: ${server.log.join('\n')}`));
      }
    });
    lines.on('line', (line) => {
      const match = /listening on (\S+)/.exec(line);
      if (match && server.address === null) {
        clearTimeout(timer);
        server.address = match[1];
        // Resolves once a line of the server's log matches `pattern` (the server logs a call
        // after its status has gone out, so the client can finish first).
        server.waitForLog = async (pattern, timeoutMs = 5000) => {
          for (const deadline = Date.now() + timeoutMs; Date.now() < deadline;) {
            if (server.log.some((line) => pattern.test(line))) return true;
            await new Promise((wake) => setTimeout(wake, 20));
          }
          return false;
        };
        server.stop = () => new Promise((done) => {
          if (child.exitCode !== null) return done();
          child.once('exit', () => done());
          child.kill('SIGTERM');
        });
        resolve(server);
      }
    });
  });
}

// Runs an R script (text) with Rscript; returns its stdout.
function runR(script) {
  return execFileSync('Rscript', ['--vanilla', '-e', script], { encoding: 'utf8' });
}

// Runs openssl with `args`; throws with its output when it fails.
function openssl(args) {
  execFileSync('openssl', args, { stdio: 'pipe' });
}

// In `dir`: a test CA (ca.pem), a server certificate for 127.0.0.1 (server.pem, server.key) and
// a client certificate (client.pem, client.key) signed by it. Returns their paths.
function makeCertificates(dir) {
  const file = (name) => path.join(dir, name);
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(['req', '-x509', ...ecKey, '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '2',
    '-subj', '/CN=seriald node test CA']);
  const sign = (stem, name, extensions, serial) => {
    openssl(['req', '-new', ...ecKey, '-keyout', file(`${stem}.key`), '-out', file(`${stem}.csr`), '-subj', `/CN=${name}`]);
    fs.writeFileSync(file(`${stem}.ext`), extensions);
    openssl(['x509', '-req', '-in', file(`${stem}.csr`), '-CA', file('ca.pem'), '-CAkey', file('ca.key'),
      '-set_serial', String(serial), '-days', '2', '-extfile', file(`${stem}.ext`), '-out', file(`${stem}.pem`)]);
  };
  const leaf = 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n';
  sign('server', 'localhost', `${leaf}extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n`, 2);
  sign('client', 'seriald node test client', `${leaf}extendedKeyUsage=clientAuth\n`, 3);
  return {
    ca: file('ca.pem'),
    serverCert: file('server.pem'),
    serverKey: file('server.key'),
    clientCert: file('client.pem'),
    clientKey: file('client.key'),
  };
}

function tempDir() {
  return fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'seriald-node-test-'));
}

module.exports = {
  REPO, SERIALD_BIN, SHARED_DIR, TORCH7_CORPUS, wireRoundTrip, startServer, runR, tempDir, makeCertificates,
};
