package ingest

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/zarish-sphere/zarish/domain/hl7message"
	"github.com/zarish-sphere/zarish/integrations/hl7v2"
)

// MLLPIdle is how long a sender's connection may stay silent before it is
// closed; senders reconnect for their next message.
const MLLPIdle = 5 * time.Minute

// Serve accepts MLLP connections on ln until ctx ends, and answers each
// framed message with its acknowledgement once the message is stored. A
// message that cannot be stored is not acknowledged: the connection is
// closed, and the sender sends it again. A frame larger than maxFrame (0:
// the framer's default) is answered AR.
func (i *Ingester) Serve(ctx context.Context, ln net.Listener, maxFrame int) error {
	var wg sync.WaitGroup
	conns := map[net.Conn]struct{}{}
	var mu sync.Mutex
	stop := context.AfterFunc(ctx, func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		// Wake readers blocked on an idle sender; a message being applied
		// finishes and is acknowledged first.
		for c := range conns {
			_ = c.SetReadDeadline(time.Now())
		}
	})
	defer stop()
	defer wg.Wait()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		mu.Lock()
		conns[conn] = struct{}{}
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				mu.Lock()
				delete(conns, conn)
				mu.Unlock()
				_ = conn.Close()
			}()
			i.serveConn(ctx, conn, maxFrame)
		}()
	}
}

// serveConn answers one sender's messages in order, each after it is
// stored: the acknowledgement of a message always follows its own storing,
// so it can never be taken for the next one's.
func (i *Ingester) serveConn(ctx context.Context, conn net.Conn, maxFrame int) {
	src := Source{Transport: hl7message.TransportMLLP, Client: "mllp", Address: conn.RemoteAddr().String()}
	r := hl7v2.NewReader(conn, maxFrame)
	for {
		if ctx.Err() != nil {
			return
		}
		_ = conn.SetReadDeadline(time.Now().Add(MLLPIdle))
		frame, err := r.ReadFrame()
		var fe *hl7v2.FrameError
		switch {
		case errors.As(err, &fe):
			i.log.WarnContext(ctx, "MLLP frame refused", "peer", src.Address, "error", fe)
			ack := hl7v2.ACKUnparsed(fe.Head, hl7v2.Acknowledgment{Code: hl7v2.AckReject, Time: i.now().UTC(),
				Errors: []error{&hl7v2.Error{Code: hl7v2.ApplicationInternalError, Message: fe.Error()}}})
			if hl7v2.WriteFrame(conn, ack) != nil {
				return
			}
			continue
		case errors.Is(err, io.EOF):
			return
		case err != nil:
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				i.log.InfoContext(ctx, "MLLP connection ended", "peer", src.Address, "error", err)
			}
			return
		}
		// Applying is not cut short by a shutdown: the message is
		// acknowledged once stored and applied.
		ack, m, err := i.Receive(context.WithoutCancel(ctx), frame, src)
		if err != nil {
			i.log.ErrorContext(ctx, "HL7 v2 message not stored: not acknowledged", "peer", src.Address, "controlId", m.ControlID, "error", err)
			return
		}
		_ = conn.SetWriteDeadline(time.Now().Add(30 * time.Second))
		if err := hl7v2.WriteFrame(conn, ack); err != nil {
			i.log.InfoContext(ctx, "MLLP acknowledgement not sent", "peer", src.Address, "controlId", m.ControlID, "error", err)
			return
		}
	}
}
