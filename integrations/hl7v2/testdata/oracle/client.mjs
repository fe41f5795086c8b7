// Sends each .hl7 file in the folder given as the second argument, in name
// order, to the MLLP server on 127.0.0.1 at the port given as the first
// argument, with node-hl7-client, one at a time, waiting for each
// acknowledgment. Prints one JSON array: per file, the MSA-1 and MSA-2 of the
// acknowledgment the client received, or the error.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Client, FileBatch, Message } from 'node-hl7-client';

const port = Number(process.argv[2]);
const dir = process.argv[3];
const timeoutMs = 10000;

const client = new Client({ host: '127.0.0.1' });
let pending = null;
const conn = client.createConnection(
  // latin1 sends every byte of the file as it is, whatever its character set.
  { port, encoding: 'latin1', waitAck: true, maxConnectionAttempts: 1 },
  async (res) => {
    const ack = res.getMessage();
    const p = pending;
    pending = null;
    p?.resolve({ msa1: ack.get('MSA.1').toString(), msa2: ack.get('MSA.2').toString() });
  },
);
conn.on('data.error', (err) => pending?.reject(err));
await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error('no connection')), timeoutMs);
  conn.once('connect', () => (clearTimeout(timer), resolve()));
  conn.once('client.error', (e) => (clearTimeout(timer), reject(e)));
});

const results = [];
for (const name of readdirSync(dir).filter((f) => f.endsWith('.hl7')).sort()) {
  const text = readFileSync(join(dir, name)).toString('latin1');
  try {
    const msg = text.startsWith('FHS') ? new FileBatch({ text }) : new Message({ text });
    const ack = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no acknowledgment')), timeoutMs);
      pending = {
        resolve: (v) => (clearTimeout(timer), resolve(v)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      };
      conn.sendMessage(msg).catch(pending.reject);
    });
    results.push({ file: name, ...ack });
  } catch (err) {
    results.push({ file: name, error: String(err) });
  }
}
await conn.close();
client.closeAll();
process.stdout.write(JSON.stringify(results));
