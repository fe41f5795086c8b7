package access

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters of new password hashes: RFC 9106 §4, the second
// recommended option, "a uniformly safe option" where 2 GiB per hash is too
// much: Argon2id with t=3 iterations, p=4 lanes, m=2^16 KiB (64 MiB), a
// 128-bit salt and a 256-bit tag.
const (
	argonTime    = 3
	argonMemory  = 64 * 1024 // KiB
	argonThreads = 4
	argonSaltLen = 16
	argonKeyLen  = 32
)

// maxConcurrentHashes bounds the password hashes computed at once: each
// takes 64 MiB, so a burst of sign-ins must queue rather than exhaust memory.
const maxConcurrentHashes = 4

var hashSlots = make(chan struct{}, maxConcurrentHashes)

// ErrPasswordMismatch is returned by CheckPassword when the password is wrong.
var ErrPasswordMismatch = errors.New("password does not match")

// HashPassword returns the Argon2id hash of password in the PHC string
// format: $argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash>, salt and hash in
// unpadded standard base64.
func HashPassword(ctx context.Context, password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("auth: password salt: %w", err)
	}
	key, err := argonKey(ctx, password, salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	if err != nil {
		return "", err
	}
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches hash (a PHC string made by
// HashPassword, whatever its parameters): nil, ErrPasswordMismatch, or an
// error for a hash it cannot read. The comparison takes constant time.
func CheckPassword(ctx context.Context, hash, password string) error {
	p, err := parsePHC(hash)
	if err != nil {
		return err
	}
	key, err := argonKey(ctx, password, p.salt, p.time, p.memory, p.threads, uint32(len(p.key)))
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare(key, p.key) != 1 {
		return ErrPasswordMismatch
	}
	return nil
}

// argonKey computes one Argon2id key, waiting for one of the hash slots.
func argonKey(ctx context.Context, password string, salt []byte, t, m uint32, p uint8, n uint32) ([]byte, error) {
	select {
	case hashSlots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-hashSlots }()
	return argon2.IDKey([]byte(password), salt, t, m, p, n), nil
}

type phc struct {
	time, memory uint32
	threads      uint8
	salt, key    []byte
}

// parsePHC reads an Argon2id PHC string, refusing parameters no hash of
// ours would have (so a forged row cannot make a check cost gigabytes).
func parsePHC(s string) (phc, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return phc{}, errors.New("auth: password hash is not an argon2id PHC string")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return phc{}, fmt.Errorf("auth: password hash version %q unsupported", parts[2])
	}
	var p phc
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.memory, &p.time, &p.threads); err != nil {
		return phc{}, fmt.Errorf("auth: password hash parameters %q: %w", parts[3], err)
	}
	if p.memory < 8*1024 || p.memory > 1024*1024 || p.time < 1 || p.time > 20 || p.threads < 1 || p.threads > 16 {
		return phc{}, fmt.Errorf("auth: password hash parameters %q out of range", parts[3])
	}
	var err error
	if p.salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil || len(p.salt) < 8 {
		return phc{}, errors.New("auth: password hash salt is invalid")
	}
	if p.key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(p.key) < 16 || len(p.key) > 64 {
		return phc{}, errors.New("auth: password hash key is invalid")
	}
	return p, nil
}
