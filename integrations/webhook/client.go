// Package webhook delivers our CloudEvents to the subscriptions of third
// parties (domain/subscription): the Enqueuer turns each event into a
// pending delivery per matching subscription, and the Deliverer POSTs them,
// signed, retrying with back-off and pausing a subscription that keeps
// failing.
package webhook

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"

	"github.com/zarish-sphere/zarish/domain/subscription"
)

// Timeout bounds one delivery: connecting, sending and the response's
// headers and (discarded) body.
const Timeout = 10 * time.Second

// NewClient is the HTTP client deliveries are sent with. It refuses to
// connect to any address subscription.Allowed refuses (unless
// allowPrivate), checked on the address actually dialed, so a host whose
// name resolves to a private address later (DNS rebinding) is refused
// then; it uses no proxy, never follows a redirect (a 3xx is answered as
// it is, and counts as a failure) and gives up after Timeout.
func NewClient(allowPrivate bool) *http.Client {
	dialer := &net.Dialer{
		Timeout:   5 * time.Second,
		KeepAlive: 30 * time.Second,
		Control: func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("webhook: dial %s: %w", address, err)
			}
			if !subscription.Allowed(ap.Addr(), allowPrivate) {
				return fmt.Errorf("webhook: dial %s: %w", ap.Addr(), subscription.ErrForbiddenAddress)
			}
			return nil
		},
	}
	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: Timeout,
	}
	return &http.Client{
		Transport: transport,
		Timeout:   Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}
