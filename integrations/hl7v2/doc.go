// Package hl7v2 reads and writes HL7 version 2 messages in the ER7 ("pipe and
// hat") encoding, builds their acknowledgments, and frames them for the
// Minimal Lower Layer Protocol (MLLP) that carries them over TCP.
//
// # Parsing
//
// [Parse] splits a message into segments, fields, repetitions, components and
// sub-components, all numbered from 1 as HL7 counts them:
//
//	m, err := hl7v2.Parse(b)
//	pid := m.First("PID")
//	mrn := pid.Field(3).Rep(2).Comp(1).Text() // PID-3, second repetition, ID number
//
// Segments end with a carriage return, as the standard says, or with a line
// feed or CR LF, as real senders and files write them; blank lines are
// skipped. In a message that uses carriage returns, a line feed that is not
// followed by a segment is kept as data of the field it is in, since senders
// put raw line feeds in report text; in a message without any, such a line is
// refused, as nothing tells it from a broken segment. The encoding characters
// come from MSH-1 and MSH-2, so any separators work, including the v2.7
// truncation character as a fifth encoding character and MSH-2 values shorter
// than four characters (a missing separator then splits nothing). As the
// standard numbers them, MSH-1 is the field separator itself and MSH-2 the
// encoding characters, so MSH-3 is the first field after them. A file or
// batch envelope (FHS, BHS before the MSH; BTS, FTS after the message) around
// exactly one message is accepted and kept in [Message.Segments]; a batch of
// several messages is refused.
//
// Raw returns a value as it was received (still escaped); Text decodes the
// escape sequences of HL7 v2.5.1 chapter 2.7: \F\ \S\ \R\ \T\ \E\ (and \P\
// when a truncation character is declared) become the separators they stand
// for, \Xhh…\ becomes the bytes it spells in the message's character set, and
// \.br\ becomes a line feed. Every other escape sequence — the formatting
// commands \H\ \N\ \.sp\ \.in\ \.ti\ \.sk\ \.fi\ \.nf\ \.ce\, the character set
// switches \C…\ and \M…\, local \Z…\ sequences, malformed hex and an escape
// character with no closing one — is kept literally, escape characters
// included, so nothing the sender wrote is lost. [Escape] is the inverse for
// values we write.
//
// # Character sets
//
// MSH-18 (its first repetition) names the character set. Supported: empty
// (ASCII, with UTF-8 tolerated because senders use it without saying so),
// "ASCII" (strict), "8859/1" (Latin-1, converted to UTF-8) and "UNICODE
// UTF-8", "UTF-8" or "UNICODE" (validated as UTF-8). Any other value is
// refused with an [*Error] of code 103 that wraps an
// [*UnsupportedCharsetError]. All values handed out are UTF-8. ISO 2022
// switching inside a message (MSH-18's further repetitions, MSH-20) is not
// supported.
//
// # Errors
//
// Every refusal is an [*Error] that says where — segment ID, the segment's
// occurrence (ERR-2.2), its position in the message, field, repetition,
// component, sub-component — and carries an HL7 table 0357 code, so that a
// receiver can write it into an ERR segment as it is. [Parse] checks structure
// and character set only; [Header.Check] reports empty MSH fields that an
// acknowledgment or routing needs. Which message types, versions and
// processing IDs a receiver supports is the receiver's decision: it reports
// refusals with [UnsupportedMessageType] and the other 2xx codes.
//
// # Acknowledgments and MLLP
//
// [ACK] answers a parsed message (original acknowledgment mode: AA, AE or AR,
// with ERR segments in the v2.5 layout, whatever the received version);
// [ACKUnparsed] answers bytes that [Parse] refused, with the control ID
// recovered as well as it can be. [Reader] reads MLLP frames with a size
// limit and resynchronises after a bad frame; [WriteFrame] writes one.
//
// Not supported: the XML encoding, message structure validation against the
// standard's message definitions (segment groups, cardinality, data types),
// enhanced acknowledgment mode's commit ACKs (CA, CE, CR; callers may still
// send them), continuation segments (ADD) and batches of several messages.
package hl7v2
