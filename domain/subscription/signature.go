package subscription

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// The headers of every delivery.
//
// X-Zarish-Signature is "t=<unix seconds>,v1=<signature>", where the
// signature is the lower-case hex HMAC-SHA256, keyed with the
// subscription's secret, of the timestamp, a full stop and the raw request
// body: HMAC(secret, "1700000000.{...}"). A receiver verifies it as
// Stripe's receivers do:
//
//  1. split the header on "," and take t and every v1 (there may be more
//     than one while a secret is being rotated);
//  2. compute the HMAC of t + "." + body, the body exactly as received,
//     before any JSON parsing;
//  3. compare it with each v1 in constant time (hmac.Equal), and accept
//     when one is equal;
//  4. refuse a t too far from its own clock (five minutes, say), so a
//     captured request cannot be replayed later.
//
// X-Zarish-Event-Id is the CloudEvent id: a delivery retried or replayed
// carries the same one, so the receiver dedupes on it. X-Zarish-Event-Type
// is the CloudEvent type, for routing without parsing the body.
const (
	HeaderSignature = "X-Zarish-Signature"
	HeaderEventID   = "X-Zarish-Event-Id"
	HeaderEventType = "X-Zarish-Event-Type"
)

// SignatureTolerance is how far from the receiver's clock Verify accepts
// a signature's timestamp.
const SignatureTolerance = 5 * time.Minute

// Sign is the X-Zarish-Signature header value of body sent at t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Errors of Verify.
var (
	ErrBadSignature   = errors.New("signature does not match")
	ErrStaleSignature = errors.New("signature timestamp outside the tolerance")
)

// Verify checks header, an X-Zarish-Signature value, against body and
// secret as a receiver does, accepting a timestamp within tolerance of now.
func Verify(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrBadSignature
	}
	want := mac(secret, ts, body)
	ok := false
	for _, s := range sigs {
		ok = hmac.Equal(s, want) || ok
	}
	if !ok {
		return ErrBadSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrStaleSignature
	}
	return nil
}
