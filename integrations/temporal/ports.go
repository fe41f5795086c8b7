package temporal

import (
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// The embedded server binds its own sockets and takes no listeners, so a
// port asked for as 0 must be chosen here. A port probed and released inside
// the kernel's ephemeral range is soon the local end of some outgoing
// connection, so ports are chosen below (or above) that range, where only
// listeners live; a start that still loses a port to another process is
// retried whole with fresh ones.

// portBlock is a set of ports held open until the server is about to bind
// them, so nothing else on this machine that probes the same way takes them.
type portBlock struct {
	ports     []int
	listeners []net.Listener
}

// release closes the probes just before the server binds the ports.
func (b *portBlock) release() {
	for _, l := range b.listeners {
		_ = l.Close()
	}
	b.listeners = nil
}

// handedOut keeps one process from choosing the same port twice while an
// earlier server still starts on it.
var handedOut = struct {
	sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

// reservePorts picks n distinct ports on host outside the ephemeral range
// that can be bound now, and holds them.
func reservePorts(host string, n int) (*portBlock, error) {
	lo, hi := listenPortRange()
	b := &portBlock{}
	handedOut.Lock()
	defer handedOut.Unlock()
	for tries := 0; len(b.ports) < n; tries++ {
		if tries > 200 {
			b.release()
			return nil, fmt.Errorf("no free port on %s between %d and %d", host, lo, hi)
		}
		r, err := rand.Int(rand.Reader, big.NewInt(int64(hi-lo)))
		if err != nil {
			return nil, err
		}
		port := lo + int(r.Int64())
		if handedOut.ports[port] {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			continue
		}
		handedOut.ports[port] = true
		b.ports = append(b.ports, port)
		b.listeners = append(b.listeners, l)
	}
	return b, nil
}

// listenPortRange is where ports for listeners are chosen: below the
// kernel's ephemeral range when there is room, else above it.
func listenPortRange() (lo, hi int) {
	elo, ehi := 32768, 60999
	if raw, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(raw)); len(f) == 2 {
			if a, err := strconv.Atoi(f[0]); err == nil {
				if b, err := strconv.Atoi(f[1]); err == nil && a <= b {
					elo, ehi = a, b
				}
			}
		}
	}
	switch {
	case elo >= 12000:
		return elo - 10000, elo // e.g. 22768–32767
	case ehi <= 55000:
		return ehi + 1, 65535
	default:
		return 10000, 20000 // nothing outside the range: the retry covers it
	}
}

// addrInUse tells a bind failure, which a start on other ports fixes.
func addrInUse(err error) bool {
	return errors.Is(err, syscall.EADDRINUSE) || (err != nil && strings.Contains(err.Error(), "address already in use"))
}
