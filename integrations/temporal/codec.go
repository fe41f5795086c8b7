package temporal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
)

// Payload encryption: every payload the engine hands Temporal — workflow
// inputs, Update arguments and results, activity inputs and results,
// memos — is sealed with AES-256-GCM before it leaves the process, so the
// Temporal history holds no patient data in the clear (an encounter's
// reason, a result's value). The sealed payload names its key in its
// metadata, so keys rotate: the first key of the list seals, every key
// opens, and a payload written before encryption was turned on (no
// encryption metadata) is read as it is. Search attributes are not
// payloads the codec sees: they hold ids and statuses only.
const (
	// MetadataEncryptedEncoding marks a sealed payload.
	MetadataEncryptedEncoding = "binary/encrypted"
	// MetadataKeyID names the key that sealed it.
	MetadataKeyID = "encryption-key-id"
	// MetadataCipher names the cipher.
	MetadataCipher = "encryption-cipher"
	cipherName     = "AES256-GCM"
)

// PayloadKey is one payload encryption key: its id, as payloads name it,
// and 32 bytes of key.
type PayloadKey struct {
	ID  string
	Key []byte
}

// validKeyID is a key id as TEMPORAL_PAYLOAD_KEYS names it.
var validKeyID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// ParsePayloadKeys reads TEMPORAL_PAYLOAD_KEYS: comma-separated
// id:base64-key pairs (standard or URL base64 of 32 bytes), the first one
// sealing new payloads.
func ParsePayloadKeys(spec string) ([]PayloadKey, error) {
	var keys []PayloadKey
	seen := map[string]bool{}
	for i, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		id, b64, ok := strings.Cut(part, ":")
		if !ok || !validKeyID.MatchString(id) {
			return nil, fmt.Errorf("payload key %d: want id:base64-key, the id of letters, digits, '.', '_' and '-'", i+1)
		}
		if seen[id] {
			return nil, fmt.Errorf("payload key %q is listed twice", id)
		}
		seen[id] = true
		key, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			key, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(b64, "="))
		}
		if err != nil || len(key) != 32 {
			return nil, fmt.Errorf("payload key %q: must be 32 bytes, base64-encoded", id)
		}
		keys = append(keys, PayloadKey{ID: id, Key: key})
	}
	if len(keys) == 0 {
		return nil, errors.New("no payload key given")
	}
	return keys, nil
}

// DevPayloadKey is the key `zarish dev` seals payloads with: read from
// dir, or made and kept there at the first start, so a restarted dev stack
// reads the histories it wrote.
func DevPayloadKey(dir string) (PayloadKey, error) {
	path := filepath.Join(dir, "temporal-payload.key")
	if b, err := os.ReadFile(path); err == nil {
		keys, err := ParsePayloadKeys(strings.TrimSpace(string(b)))
		if err != nil {
			return PayloadKey{}, fmt.Errorf("%s: %w", path, err)
		}
		return keys[0], nil
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return PayloadKey{}, err
	}
	k := PayloadKey{ID: "dev-1", Key: key}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return PayloadKey{}, err
	}
	if err := os.WriteFile(path, []byte(k.ID+":"+base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
		return PayloadKey{}, err
	}
	return k, nil
}

// Codec seals and opens payloads (converter.PayloadCodec).
type Codec struct {
	seal  string
	aeads map[string]cipher.AEAD
}

// NewCodec returns the codec of keys, the first of which seals.
func NewCodec(keys []PayloadKey) (*Codec, error) {
	if len(keys) == 0 {
		return nil, errors.New("payload codec: no key")
	}
	c := &Codec{seal: keys[0].ID, aeads: map[string]cipher.AEAD{}}
	for _, k := range keys {
		block, err := aes.NewCipher(k.Key)
		if err != nil || len(k.Key) != 32 {
			return nil, fmt.Errorf("payload key %q: must be 32 bytes", k.ID)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		c.aeads[k.ID] = aead
	}
	return c, nil
}

// Encode seals each payload with the first key.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	aead := c.aeads[c.seal]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := p.Marshal()
		if err != nil {
			return nil, fmt.Errorf("payload codec: %w", err)
		}
		nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
		if _, err := rand.Read(nonce); err != nil {
			return nil, err
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(MetadataEncryptedEncoding),
				MetadataKeyID:              []byte(c.seal),
				MetadataCipher:             []byte(cipherName),
			},
			// The key id is bound to the ciphertext as associated data.
			Data: aead.Seal(nonce, nonce, plain, []byte(c.seal)),
		}
	}
	return out, nil
}

// Decode opens each sealed payload; one not sealed passes as it is.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != MetadataEncryptedEncoding {
			out[i] = p
			continue
		}
		id := string(p.GetMetadata()[MetadataKeyID])
		aead, ok := c.aeads[id]
		if !ok {
			return nil, fmt.Errorf("payload codec: payload sealed with key %q, which is not configured", id)
		}
		data := p.GetData()
		if len(data) < aead.NonceSize() {
			return nil, errors.New("payload codec: sealed payload too short")
		}
		plain, err := aead.Open(nil, data[:aead.NonceSize()], data[aead.NonceSize():], []byte(id))
		if err != nil {
			return nil, fmt.Errorf("payload codec: payload sealed with key %q does not open: %w", id, err)
		}
		var decoded commonpb.Payload
		if err := decoded.Unmarshal(plain); err != nil {
			return nil, fmt.Errorf("payload codec: %w", err)
		}
		out[i] = &decoded
	}
	return out, nil
}
