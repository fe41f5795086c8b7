// Reads each .hl7 file in the folder given as the first argument with
// @medplum/hl7's message parser (Hl7Message, from @medplum/core, which
// @medplum/hl7 builds on) and prints, as one JSON array, the fields the Go
// test compares with its own reading. Values are printed as the parser gives
// them: it splits but does not decode escape sequences.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Hl7Message } from '@medplum/core';

const dir = process.argv[2];

// The character set the bytes are read in: MSH-18 says 8859/1 or nothing
// (then UTF-8, a superset of ASCII).
function decode(bytes) {
  const head = bytes.subarray(0, 4096).toString('latin1');
  const msh = head.split(/[\r\n]+/).find((l) => l.startsWith('MSH'));
  if (msh && msh.length > 3) {
    const msh18 = msh.split(msh.charAt(3))[17] ?? '';
    if (msh18.split('~')[0].trim() === '8859/1') {
      return bytes.toString('latin1');
    }
  }
  return bytes.toString('utf8');
}

// Components of the first repetition, [] for an absent or empty field.
function comps(field) {
  if (!field || field.toString() === '') {
    return [];
  }
  return field.components[0];
}

// The first repetition as one string, components joined again.
function rep1(field, ctx) {
  if (!field || field.toString() === '') {
    return '';
  }
  return field.components[0].join(ctx.componentSeparator);
}

function pick(list, idx) {
  return idx.map((i) => list[i - 1] ?? '');
}

function read(text) {
  // Hl7Message.parse reads one message that begins with MSH: hand it the
  // message without a batch envelope.
  const at = text.search(/(^|[\r\n])MSH/);
  if (at > 0) {
    text = text.slice(text[at] === 'M' ? at : at + 1);
  }
  const msg = Hl7Message.parse(text);
  const ctx = msg.context;
  const out = { msh: {}, pid: null, pv1: null, orc: null, obr: null, obx: [] };
  const msh = msg.getSegment('MSH');
  for (const n of [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 18]) {
    out.msh[n] = comps(msh.getField(n));
  }
  const pid = msg.getSegment('PID');
  if (pid) {
    const f3 = pid.getField(3);
    out.pid = {
      3: !f3 || f3.toString() === '' ? [] : f3.components.map((r) => pick(r, [1, 4, 5])),
      5: pick(comps(pid.getField(5)), [1, 2]),
      7: pick(comps(pid.getField(7)), [1]),
      8: rep1(pid.getField(8), ctx),
    };
  }
  const pv1 = msg.getSegment('PV1');
  if (pv1) {
    out.pv1 = { 2: rep1(pv1.getField(2), ctx), 3: comps(pv1.getField(3)) };
  }
  const orc = msg.getSegment('ORC');
  if (orc) {
    out.orc = { 2: comps(orc.getField(2)), 3: comps(orc.getField(3)) };
  }
  const obr = msg.getSegment('OBR');
  if (obr) {
    out.obr = {
      2: comps(obr.getField(2)),
      3: comps(obr.getField(3)),
      4: pick(comps(obr.getField(4)), [1, 2, 3]),
      7: pick(comps(obr.getField(7)), [1]),
      25: rep1(obr.getField(25), ctx),
    };
  }
  for (const obx of msg.getAllSegments('OBX')) {
    out.obx.push({
      2: rep1(obx.getField(2), ctx),
      3: pick(comps(obx.getField(3)), [1, 2, 3]),
      5: rep1(obx.getField(5), ctx),
      6: pick(comps(obx.getField(6)), [1]),
      7: rep1(obx.getField(7), ctx),
      8: rep1(obx.getField(8), ctx),
      11: rep1(obx.getField(11), ctx),
      14: pick(comps(obx.getField(14)), [1]),
    });
  }
  return out;
}

const results = [];
for (const name of readdirSync(dir).filter((f) => f.endsWith('.hl7')).sort()) {
  const text = decode(readFileSync(join(dir, name)));
  try {
    results.push({ file: name, ...read(text) });
  } catch (err) {
    results.push({ file: name, error: String(err) });
  }
}
process.stdout.write(JSON.stringify(results));
