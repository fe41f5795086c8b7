package subscription

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
)

// ErrForbiddenAddress refuses an endpoint whose host is (or resolves to)
// an address a webhook must not reach: our own machine, the private
// network, the cloud metadata service.
var ErrForbiddenAddress = errors.New("endpoint address is not a public one")

// Resolver looks a host's addresses up; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// blocked are the ranges Allowed refuses beside the ones netip classifies
// (loopback, private, link-local, multicast, unspecified).
var blocked = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),         // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),     // carrier-grade NAT
	netip.MustParsePrefix("169.254.0.0/16"),    // link-local, the metadata service 169.254.169.254
	netip.MustParsePrefix("192.0.0.0/24"),      // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"),     // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),       // reserved, broadcast
	netip.MustParsePrefix("fc00::/7"),          // unique local
	netip.MustParsePrefix("fe80::/10"),         // link-local
	netip.MustParsePrefix("64:ff9b:1::/48"),    // local-use NAT64
	netip.MustParsePrefix("fd00:ec2::254/128"), // the IPv6 metadata service
}

// Allowed reports whether a webhook may be sent to addr: never to a
// loopback, private (RFC 1918, unique local), link-local, carrier-grade
// NAT, unspecified, multicast or reserved address, nor the metadata
// service, unless allowPrivate (development and tests).
func Allowed(addr netip.Addr, allowPrivate bool) bool {
	if allowPrivate {
		return addr.IsValid()
	}
	addr = addr.Unmap()
	if !addr.IsValid() || addr.IsLoopback() || addr.IsPrivate() || addr.IsUnspecified() || addr.IsMulticast() ||
		addr.IsLinkLocalUnicast() || addr.IsLinkLocalMulticast() || addr.IsInterfaceLocalMulticast() {
		return false
	}
	for _, p := range blocked {
		if p.Contains(addr) {
			return false
		}
	}
	return true
}

// CheckEndpoint refuses an endpoint a webhook must not be sent to: a URL
// checkURL refuses, or a host that is, or resolves (through r; nil is the
// system's resolver) to, an address Allowed refuses, unless allowPrivate.
// Every address the host resolves to must be allowed. The deliverer checks
// the address it dials again, so a name that resolves elsewhere later (DNS
// rebinding) is refused then.
func CheckEndpoint(ctx context.Context, r Resolver, raw string, allowPrivate bool) error {
	if err := checkURL(raw); err != nil {
		return fmt.Errorf("endpoint %w", err)
	}
	u, _ := url.Parse(raw)
	host := u.Hostname()
	if addr, err := netip.ParseAddr(host); err == nil {
		if !Allowed(addr, allowPrivate) {
			return fmt.Errorf("endpoint %s: %w", addr, ErrForbiddenAddress)
		}
		return nil
	}
	if r == nil {
		r = net.DefaultResolver
	}
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return fmt.Errorf("endpoint host %s does not resolve: %w", host, err)
	}
	if len(addrs) == 0 {
		return fmt.Errorf("endpoint host %s has no address", host)
	}
	for _, a := range addrs {
		if !Allowed(a, allowPrivate) {
			return fmt.Errorf("endpoint host %s resolves to %s: %w", host, a, ErrForbiddenAddress)
		}
	}
	return nil
}
