package temporal

import (
	"net"
	"strconv"
	"testing"
)

// The ports the embedded server is given lie outside the kernel's
// ephemeral range, where no outgoing connection takes them, and are held
// until the server binds them.
func TestReservePortsOutsideEphemeralRange(t *testing.T) {
	lo, hi := listenPortRange()
	b, err := reservePorts("127.0.0.1", 5)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range b.ports {
		if p < lo || p >= hi {
			t.Errorf("port %d outside [%d, %d)", p, lo, hi)
		}
		if seen[p] {
			t.Errorf("port %d given twice", p)
		}
		seen[p] = true
		if l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p))); err == nil {
			l.Close()
			t.Errorf("port %d is not held before release", p)
		}
	}
	b.release()
	for _, p := range b.ports {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			t.Errorf("port %d still held after release: %v", p, err)
			continue
		}
		l.Close()
	}
	again, err := reservePorts("127.0.0.1", 5)
	if err != nil {
		t.Fatal(err)
	}
	defer again.release()
	for _, p := range again.ports {
		if seen[p] {
			t.Errorf("port %d handed out twice in one process", p)
		}
	}
}

func TestAddrInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = net.Listen("tcp", l.Addr().String())
	if !addrInUse(err) {
		t.Fatalf("addrInUse(%v) = false", err)
	}
	if addrInUse(nil) {
		t.Fatal("addrInUse(nil) = true")
	}
}
