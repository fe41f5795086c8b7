package auth

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/go-jose/go-jose/v3"
)

// keyRing is the signing key and the one before it. Tokens are signed with
// the current key; the JWKS publishes both, so tokens signed before a
// rotation keep verifying for the rest of their lifetime.
//
// The key file holds the PEM private keys, current first, previous second:
// RotateSigningKey writes a new key in front and keeps the old one behind
// it, and every process reloads the file when it changes.
type keyRing struct {
	current  *jose.JSONWebKey
	previous *jose.JSONWebKey // nil before the first rotation
	public   jose.JSONWebKeySet
	jwks     []byte // public, pre-encoded
	modTime  time.Time
}

// loadKeyRing reads the key file at path, creating one ECDSA P-256 key there
// first when it is missing and generate is set.
func loadKeyRing(path string, generate bool, logger *slog.Logger) (*keyRing, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && generate {
		data, err = generateKeyFile(path, logger)
	}
	if err != nil {
		return nil, fmt.Errorf("auth: signing key: %w", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("auth: signing key: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		logger.Warn("signing key file is readable by group or others", "file", path, "mode", fi.Mode().Perm().String())
	}
	ring, err := parseKeyRing(data)
	if err != nil {
		return nil, fmt.Errorf("auth: signing key %s: %w", path, err)
	}
	ring.modTime = fi.ModTime()
	return ring, nil
}

// parseKeyRing reads the first two PEM private keys of data.
func parseKeyRing(data []byte) (*keyRing, error) {
	var keys []*jose.JSONWebKey
	rest := data
	for len(keys) < 2 {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		signer, err := parsePrivateKey(pem.EncodeToMemory(block))
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", len(keys)+1, err)
		}
		jwk, err := newSigningJWK(signer)
		if err != nil {
			return nil, err
		}
		keys = append(keys, jwk)
	}
	if len(keys) == 0 {
		return nil, errors.New("no PEM block found")
	}
	ring := &keyRing{current: keys[0]}
	ring.public.Keys = []jose.JSONWebKey{keys[0].Public()}
	if len(keys) == 2 && keys[1].KeyID != keys[0].KeyID {
		ring.previous = keys[1]
		ring.public.Keys = append(ring.public.Keys, keys[1].Public())
	}
	var err error
	if ring.jwks, err = json.Marshal(ring.public); err != nil {
		return nil, fmt.Errorf("encode JWKS: %w", err)
	}
	return ring, nil
}

// RotateSigningKey puts a new ECDSA P-256 key in front of the key file at
// path and keeps the current one behind it as the previous key (an older
// previous key is dropped: every token it signed has expired once the
// rotations are at least an access-token lifetime apart). Processes reading
// the file pick the change up within keyReloadInterval. It returns the kids
// of the new and the previous key.
func RotateSigningKey(path string) (newKID, previousKID string, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", "", fmt.Errorf("auth: rotate signing key: %w", err)
	}
	ring, err := parseKeyRing(data)
	if err != nil {
		return "", "", fmt.Errorf("auth: rotate signing key %s: %w", path, err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("auth: generate key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", fmt.Errorf("auth: encode key: %w", err)
	}
	var out bytes.Buffer
	_ = pem.Encode(&out, &pem.Block{Type: "PRIVATE KEY", Bytes: der})
	first, _ := pem.Decode(data) // the current key, exactly as stored
	_ = pem.Encode(&out, first)
	if err := writeFileAtomic(path, out.Bytes()); err != nil {
		return "", "", fmt.Errorf("auth: rotate signing key: %w", err)
	}
	jwk, err := newSigningJWK(key)
	if err != nil {
		return "", "", err
	}
	return jwk.KeyID, ring.current.KeyID, nil
}

// writeFileAtomic replaces path with data, mode 0600, by a rename, so a
// reader sees the old file or the new one, never a mix.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".signing-key-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
