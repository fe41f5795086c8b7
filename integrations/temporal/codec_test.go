package temporal_test

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"

	"github.com/zarish-sphere/zarish/integrations/temporal"
)

func key(id string, b byte) temporal.PayloadKey {
	return temporal.PayloadKey{ID: id, Key: bytes.Repeat([]byte{b}, 32)}
}

// A payload is sealed with the first key and opened with any: the plain
// text is nowhere in the sealed bytes, a key rotated in still opens what
// the old one sealed, a tampered or unknown-key payload is refused, and a
// payload never sealed passes as it is.
func TestPayloadsAreSealedAndOpened(t *testing.T) {
	dc := converter.GetDefaultDataConverter()
	plain, err := dc.ToPayload(map[string]string{"reason": "chest pain"})
	if err != nil {
		t.Fatal(err)
	}
	old, err := temporal.NewCodec([]temporal.PayloadKey{key("k1", 1)})
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := old.Encode([]*commonpb.Payload{plain})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed[0].Data, []byte("chest pain")) || string(sealed[0].Metadata["encryption-key-id"]) != "k1" ||
		string(sealed[0].Metadata[converter.MetadataEncoding]) != temporal.MetadataEncryptedEncoding {
		t.Fatalf("sealed %+v", sealed[0])
	}
	again, _ := old.Encode([]*commonpb.Payload{plain})
	if bytes.Equal(again[0].Data, sealed[0].Data) {
		t.Fatal("two sealings of one payload are the same bytes: the nonce is not fresh")
	}
	// Rotated: k2 seals now, k1 still opens.
	rotated, err := temporal.NewCodec([]temporal.PayloadKey{key("k2", 2), key("k1", 1)})
	if err != nil {
		t.Fatal(err)
	}
	opened, err := rotated.Decode(sealed)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]string
	if err := dc.FromPayload(opened[0], &back); err != nil || back["reason"] != "chest pain" {
		t.Fatalf("opened %v, %v", back, err)
	}
	if s, _ := rotated.Encode([]*commonpb.Payload{plain}); string(s[0].Metadata["encryption-key-id"]) != "k2" {
		t.Fatalf("the rotated codec seals with %s", s[0].Metadata["encryption-key-id"])
	}
	// Without k1: refused, naming the key.
	onlyNew, _ := temporal.NewCodec([]temporal.PayloadKey{key("k2", 2)})
	if _, err := onlyNew.Decode(sealed); err == nil || !strings.Contains(err.Error(), `"k1"`) {
		t.Fatalf("a payload of an unknown key: %v", err)
	}
	tampered := &commonpb.Payload{Metadata: sealed[0].Metadata, Data: append([]byte{}, sealed[0].Data...)}
	tampered.Data[len(tampered.Data)-1] ^= 1
	if _, err := old.Decode([]*commonpb.Payload{tampered}); err == nil {
		t.Fatal("a tampered payload opened")
	}
	// The key id is bound to the ciphertext: relabelled, it does not open.
	relabelled := &commonpb.Payload{Metadata: map[string][]byte{converter.MetadataEncoding: []byte(temporal.MetadataEncryptedEncoding),
		"encryption-key-id": []byte("k2")}, Data: sealed[0].Data}
	if _, err := rotated.Decode([]*commonpb.Payload{relabelled}); err == nil {
		t.Fatal("a payload relabelled with another key id opened")
	}
	if out, err := old.Decode([]*commonpb.Payload{plain}); err != nil || out[0] != plain {
		t.Fatalf("an unsealed payload: %v", err)
	}
}

func TestPayloadKeysAreParsed(t *testing.T) {
	k := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	keys, err := temporal.ParsePayloadKeys(" new:" + k + ", old:" + strings.TrimRight(base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{8}, 32)), "=") + " ")
	if err != nil || len(keys) != 2 || keys[0].ID != "new" || keys[1].Key[0] != 8 {
		t.Fatalf("keys %+v, %v", keys, err)
	}
	for _, bad := range []string{"", "nokey", "a b:" + k, "short:" + base64.StdEncoding.EncodeToString([]byte("16 bytes only!!!")), "x:" + k + ",x:" + k} {
		if _, err := temporal.ParsePayloadKeys(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := temporal.NewCodec(nil); err == nil {
		t.Error("a codec without keys")
	}
}

func TestDevPayloadKeyIsKept(t *testing.T) {
	dir := t.TempDir()
	a, err := temporal.DevPayloadKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := temporal.DevPayloadKey(dir)
	if err != nil || a.ID != b.ID || !bytes.Equal(a.Key, b.Key) || len(a.Key) != 32 {
		t.Fatalf("the dev key changed between starts: %v", err)
	}
}
