package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/wneessen/go-mail"
	"github.com/zarish-sphere/zarish/domain/notification"
)

// Sender delivers a notification over one channel and returns the channel's
// receipt (a provider message id, when it gives one). An error wrapped by
// Permanent means retrying cannot help; any other error is retried.
type Sender interface {
	Send(ctx context.Context, n notification.Notification) (receipt string, err error)
}

// PermanentError is a failure that retrying cannot fix, such as a rejected
// address.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return "permanent: " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent marks err as not worth retrying.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// IsPermanent reports whether err, or an error it wraps, is permanent.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// Webhook request headers.
const (
	HeaderSignature      = "X-Zarish-Signature"       // sha256=<hex HMAC-SHA256 of the body>
	HeaderNotificationID = "X-Zarish-Notification-Id" // also sent as Idempotency-Key
)

// Sign returns the X-Zarish-Signature value for body: "sha256=" and the hex
// HMAC-SHA256 of body keyed with secret. Providers check it with
// hmac.Equal against their own computation.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// WebhookMessage is the JSON body POSTed to an SMS or push provider.
type WebhookMessage struct {
	NotificationID string    `json:"notificationId"`
	Channel        string    `json:"channel"`
	To             string    `json:"to"` // phone number or push token
	Subject        string    `json:"subject"`
	Body           string    `json:"body"`
	Severity       string    `json:"severity"`
	Category       string    `json:"category,omitempty"`
	AlertID        string    `json:"alertId"`
	PatientID      string    `json:"patientId"`
	PractitionerID string    `json:"practitionerId"`
	CreatedAt      time.Time `json:"createdAt"`
}

// WebhookSender POSTs each notification, signed, to a provider's URL.
type WebhookSender struct {
	url    string
	secret []byte
	client *http.Client
}

// NewWebhookSender returns a sender to url; client nil means a client with a
// 30 s timeout.
func NewWebhookSender(url string, secret []byte, client *http.Client) *WebhookSender {
	if client == nil {
		client = &http.Client{Timeout: DefaultSendTimeout}
	}
	return &WebhookSender{url: url, secret: secret, client: client}
}

// Send POSTs n. A 2xx response is delivery (the receipt is the response's
// "id" or "messageId", if any); 408, 429 and 5xx responses and network errors
// are retried; any other response is permanent.
func (w *WebhookSender) Send(ctx context.Context, n notification.Notification) (string, error) {
	if n.Address == "" {
		return "", Permanent(fmt.Errorf("%s notification %s has no address", n.Channel, n.ID))
	}
	body, err := json.Marshal(WebhookMessage{
		NotificationID: n.ID.String(),
		Channel:        n.Channel,
		To:             n.Address,
		Subject:        n.Subject,
		Body:           n.Body,
		Severity:       n.Severity,
		Category:       n.Category,
		AlertID:        n.AlertID.String(),
		PatientID:      n.PatientID.String(),
		PractitionerID: n.PractitionerID,
		CreatedAt:      n.CreatedAt.UTC(),
	})
	if err != nil {
		return "", Permanent(fmt.Errorf("encode webhook body: %w", err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return "", Permanent(fmt.Errorf("webhook request: %w", err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderSignature, Sign(w.secret, body))
	req.Header.Set(HeaderNotificationID, n.ID.String())
	req.Header.Set("Idempotency-Key", n.ID.String())
	resp, err := w.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("webhook: %w", err)
	}
	defer resp.Body.Close()
	respBody, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return receiptFrom(respBody), nil
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		return "", fmt.Errorf("webhook: provider answered %d: %s", code, snippet(respBody))
	default:
		return "", Permanent(fmt.Errorf("webhook: provider answered %d: %s", code, snippet(respBody)))
	}
}

// receiptFrom picks the provider's message id out of a JSON response body.
func receiptFrom(body []byte) string {
	var r struct {
		ID        any `json:"id"`
		MessageID any `json:"messageId"`
	}
	if json.Unmarshal(body, &r) != nil {
		return ""
	}
	for _, v := range []any{r.ID, r.MessageID} {
		switch v := v.(type) {
		case string:
			if v != "" {
				return v
			}
		case float64:
			return strconv.FormatFloat(v, 'f', -1, 64)
		}
	}
	return ""
}

func snippet(b []byte) string {
	const limit = 200
	if len(b) > limit {
		return string(b[:limit]) + "…"
	}
	return string(b)
}

// EmailSender sends notifications as plain-text email over SMTP.
type EmailSender struct {
	cfg     SMTPConfig
	options []mail.Option
}

// NewEmailSender returns a sender through the SMTP server in cfg. extra
// options (a TLS config for a private CA, say) are applied last.
func NewEmailSender(cfg SMTPConfig, extra ...mail.Option) (*EmailSender, error) {
	if cfg.Host == "" || cfg.From == "" {
		return nil, errors.New("smtp: host and from are required")
	}
	opts := []mail.Option{mail.WithTimeout(DefaultSendTimeout)}
	switch cfg.TLS {
	case TLSNone:
		opts = append(opts, mail.WithTLSPortPolicy(mail.NoTLS))
	case TLSStartTLS, "":
		opts = append(opts, mail.WithTLSPortPolicy(mail.TLSMandatory))
	case TLSImplicit:
		opts = append(opts, mail.WithSSLPort(false))
	default:
		return nil, fmt.Errorf("smtp: unknown TLS mode %q (want none, starttls or tls)", cfg.TLS)
	}
	if cfg.Port > 0 {
		opts = append(opts, mail.WithPort(cfg.Port))
	}
	if cfg.Username != "" {
		auth := mail.SMTPAuthPlain
		if cfg.TLS == TLSNone {
			auth = mail.SMTPAuthPlainNoEnc
		}
		opts = append(opts, mail.WithSMTPAuth(auth), mail.WithUsername(cfg.Username), mail.WithPassword(cfg.Password))
	}
	opts = append(opts, extra...)
	// Check the options once; each Send makes its own client.
	if _, err := mail.NewClient(cfg.Host, opts...); err != nil {
		return nil, fmt.Errorf("smtp: %w", err)
	}
	return &EmailSender{cfg: cfg, options: opts}, nil
}

// Send delivers n to its address in one SMTP conversation. The receipt is
// the message's Message-ID. A recipient the server refuses outright (5xx) is
// permanent; everything else is retried.
func (e *EmailSender) Send(ctx context.Context, n notification.Notification) (string, error) {
	msg := mail.NewMsg()
	if err := msg.From(e.cfg.From); err != nil {
		return "", fmt.Errorf("smtp: from address: %w", err)
	}
	if err := msg.To(n.Address); err != nil {
		return "", Permanent(fmt.Errorf("smtp: recipient %q: %w", n.Address, err))
	}
	msg.Subject(n.Subject)
	msg.SetDate()
	messageID := n.ID.String() + "@" + e.cfg.Host
	msg.SetMessageIDWithValue(messageID)
	msg.SetGenHeader("X-Zarish-Notification-Id", n.ID.String())
	msg.SetBodyString(mail.TypeTextPlain, n.Body)

	client, err := mail.NewClient(e.cfg.Host, e.options...)
	if err != nil {
		return "", fmt.Errorf("smtp: %w", err)
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		var se *mail.SendError
		if errors.As(err, &se) && se.Reason == mail.ErrSMTPRcptTo && !se.IsTemp() &&
			se.ErrorCode() >= 500 && se.ErrorCode() < 600 {
			return "", Permanent(fmt.Errorf("smtp: %w", err))
		}
		return "", fmt.Errorf("smtp: %w", err)
	}
	return "<" + messageID + ">", nil
}
