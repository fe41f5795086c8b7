package hl7v2

import (
	"bytes"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// echoServer is an MLLP server made of this package's parts: it reads
// frames with Reader, answers each with ACK (or ACKUnparsed for what Parse
// refuses) through WriteFrame, and keeps the frames it received.
type echoServer struct {
	ln     net.Listener
	mu     sync.Mutex
	frames [][]byte
	errs   []error
	wg     sync.WaitGroup
}

func startEchoServer(t *testing.T) *echoServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &echoServer{ln: ln}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *echoServer) accept() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go s.serve(conn)
	}
}

func (s *echoServer) serve(conn net.Conn) {
	defer s.wg.Done()
	defer conn.Close()
	r := NewReader(conn, 1<<20)
	for n := 1; ; n++ {
		frame, err := r.ReadFrame()
		if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			s.fail(err)
			return
		}
		s.mu.Lock()
		s.frames = append(s.frames, frame)
		s.mu.Unlock()
		a := Acknowledgment{Code: AckAccept, ControlID: "ZS" + strconv.Itoa(n), Time: time.Now()}
		var ack []byte
		if m, err := Parse(frame); err != nil {
			a.Code, a.Errors = AckReject, []error{err}
			ack = ACKUnparsed(frame, a)
		} else {
			ack = ACK(&m.Header, a)
		}
		conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if err := WriteFrame(conn, ack); err != nil {
			s.fail(err)
			return
		}
	}
}

func (s *echoServer) fail(err error) {
	s.mu.Lock()
	s.errs = append(s.errs, err)
	s.mu.Unlock()
}

// TestMLLPRealClient sends every real message with node-hl7-client, a real
// MLLP client nobody here wrote (testdata/oracle/client.mjs), to an echo
// server built on Reader, WriteFrame and ACK: the server must receive each
// message byte for byte, but for white space at its ends that the client's
// Message trims, and the client must receive for each an acknowledgment
// whose MSA-2 is the message's MSH-10: AA for what Parse reads, AR for what
// it refuses.
func TestMLLPRealClient(t *testing.T) {
	requireNode(t)
	srv := startEchoServer(t)
	port := strconv.Itoa(srv.ln.Addr().(*net.TCPAddr).Port)

	var acks []struct {
		File  string `json:"file"`
		MSA1  string `json:"msa1"`
		MSA2  string `json:"msa2"`
		Error string `json:"error"`
	}
	runNode(t, &acks, "client.mjs", port, filepath.Join("..", "real"))

	msgs := realMessages(t)
	if len(acks) != len(msgs) {
		t.Fatalf("the client reports %d messages, there are %d", len(acks), len(msgs))
	}
	srv.mu.Lock()
	frames, errs := srv.frames, srv.errs
	srv.mu.Unlock()
	for _, err := range errs {
		t.Errorf("server: %v", err)
	}
	if len(frames) != len(msgs) {
		t.Fatalf("the server received %d frames for %d messages", len(frames), len(msgs))
	}
	for i, msg := range msgs {
		a := acks[i]
		if a.File != msg.name || a.Error != "" {
			t.Errorf("%s: client reports %+v", msg.name, a)
			continue
		}
		if got, want := bytes.TrimSpace(frames[i]), bytes.TrimSpace(msg.data); !bytes.Equal(got, want) {
			t.Errorf("%s: the server received %d bytes that differ from the file's %d", msg.name, len(got), len(want))
		}
		wantCode, controlID := "AA", ""
		if m, err := Parse(msg.data); err != nil {
			wantCode = "AR"
			if h, err := ParseHeader(msg.data); err == nil {
				controlID = h.ControlID
			}
		} else {
			controlID = m.Header.ControlID
		}
		if a.MSA2 != controlID || a.MSA1 != wantCode {
			t.Errorf("%s: ACK MSA-1 %q, MSA-2 %q; want %s, %q", msg.name, a.MSA1, a.MSA2, wantCode, controlID)
		}
	}
}
