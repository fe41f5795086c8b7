// Package notify delivers the notifications requested on the notifications
// topic: it accepts each request into the store (deduplicated on its id),
// then sends it by email (SMTP), SMS or push (a provider webhook) or into the
// in-app inbox, retrying with backoff until it is delivered or given up.
// Beside it, the break-the-glass consumer raises the privacy officer's
// review alert of every break-the-glass access published on the topic.
package notify

import (
	"time"
)

// SMTP transport security.
const (
	TLSNone     = "none"     // plain text, for a relay on a trusted network
	TLSStartTLS = "starttls" // upgrade with STARTTLS, refused when the server lacks it
	TLSImplicit = "tls"      // TLS from the first byte (SMTPS, usually port 465)
)

// Defaults applied to a zero Config field.
const (
	DefaultMaxAttempts = 8
	DefaultBaseBackoff = 5 * time.Second
	DefaultMaxBackoff  = 15 * time.Minute
	DefaultSendTimeout = 30 * time.Second
)

// SMTPConfig is how email leaves: the server and the sender address.
type SMTPConfig struct {
	Host     string
	Port     int // 0 picks the usual port for TLS (587 starttls, 465 tls, 25 none)
	Username string
	Password string // AUTH PLAIN when Username is set
	From     string
	TLS      string // TLSNone, TLSStartTLS (the default) or TLSImplicit
}

// Config configures delivery. Channels whose settings are empty are not
// configured: their notifications wait (and are retried) rather than dropped.
type Config struct {
	SMTP SMTPConfig
	// SMSWebhookURL and PushWebhookURL receive a signed JSON POST per message.
	SMSWebhookURL  string
	PushWebhookURL string
	// WebhookSecret keys the HMAC-SHA256 signature of each webhook body.
	WebhookSecret []byte
	// MaxAttempts bounds the attempts per notification before it is dead.
	MaxAttempts int
	// BaseBackoff is the wait after the first failed attempt; it doubles
	// after each further failure, up to MaxBackoff, with jitter.
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
}

func (c Config) withDefaults() Config {
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.BaseBackoff <= 0 {
		c.BaseBackoff = DefaultBaseBackoff
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	if c.MaxBackoff < c.BaseBackoff {
		c.MaxBackoff = c.BaseBackoff
	}
	return c
}
