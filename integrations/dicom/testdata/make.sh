#!/usr/bin/env bash
# Makes the DICOM files the reader's tests read, from the dumps beside this
# script, with dcmtk (scripts/ensure-services.sh --with-dcmtk installs it):
#
#   ./make.sh          rewrites the committed .dcm files here
#   ./make.sh DIR      writes them into DIR instead (the oracle test does)
#
# In a dump, {hh} stands for the byte 0xhh, so that escape sequences and
# legacy 8-bit bytes stay readable; a "# convert-to: TERM" line has the
# file, written from UTF-8, converted to that Specific Character Set with
# dcmconv. tiny.jpg comes from makejpeg.go.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here}
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for tool in dump2dcm dcmconv img2dcm perl; do
	command -v "$tool" >/dev/null || { echo "make.sh: $tool missing (scripts/ensure-services.sh --with-dcmtk)" >&2; exit 1; }
done

# bytes NAME: the dump NAME.dump with {hh} replaced, in $tmp.
bytes() { perl -pe 's/\{([0-9a-fA-F]{2})\}/chr(hex($1))/ge' "$here/$1.dump" >"$tmp/$1.dump"; }

# The CT header in every transfer syntax and length encoding.
bytes ct
dump2dcm -q +te "$tmp/ct.dump" "$out/ct_explicit.dcm"
dump2dcm -q +ti "$tmp/ct.dump" "$out/ct_implicit.dcm"
dump2dcm -q +tb "$tmp/ct.dump" "$out/ct_bigendian.dcm"
dump2dcm -q +te -e "$tmp/ct.dump" "$out/ct_explicit_undefined.dcm"
dump2dcm -q +ti -e "$tmp/ct.dump" "$out/ct_implicit_undefined.dcm"
dump2dcm -q +te +p 512 0 "$tmp/ct.dump" "$out/ct_padded.dcm"
dump2dcm -q -F +ti "$tmp/ct.dump" "$out/ct_bare_implicit.dcm"
dcmconv -q +td "$out/ct_explicit.dcm" "$out/ct_deflated.dcm"

# Two instances of a study performed for an imaging order.
for n in 1 2; do
	sed "s/INSTANCE/$n/" "$here/ct_order.dump" >"$tmp/ct_order_$n.dump"
	dump2dcm -q +te "$tmp/ct_order_$n.dump" "$out/ct_order_$n.dcm"
done

# Patient names in each character set.
for dump in "$here"/name_*.dump; do
	name=$(basename "$dump" .dump)
	bytes "$name"
	to=$(sed -n 's/^# convert-to: //p' "$dump")
	if [ -n "$to" ]; then
		dump2dcm -q +te "$tmp/$name.dump" "$tmp/$name.dcm"
		dcmconv -q +C "$to" "$tmp/$name.dcm" "$out/$name.dcm"
	else
		dump2dcm -q +te "$tmp/$name.dump" "$out/$name.dcm"
	fi
done

# JPEG baseline: encapsulated pixel data, a Basic Offset Table and one fragment.
if [ ! -f "$here/tiny.jpg" ]; then
	(cd "$here" && go run makejpeg.go tiny.jpg)
fi
img2dcm -q \
	-k "0008,0018=1.2.826.0.1.3680043.10.1407.3.2.1" \
	-k "0008,0020=20240306" \
	-k "0008,0060=OT" \
	-k "0010,0010=Sato^Hana" \
	-k "0010,0020=ZS-000777" \
	-k "0020,000D=1.2.826.0.1.3680043.10.1407.1.2" \
	-k "0020,000E=1.2.826.0.1.3680043.10.1407.2.2" \
	-k "0020,0013=1" \
	"$here/tiny.jpg" "$out/jpeg_baseline.dcm"
