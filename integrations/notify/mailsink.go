package notify

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/google/uuid"
)

// MailSink is a local SMTP server that keeps every message it receives as an
// .eml file in a folder. `zarish dev` runs one so email notifications take
// the same SMTP path as in production without sending mail anywhere.
type MailSink struct {
	srv  *smtp.Server
	addr string
	dir  string
}

// StartMailSink listens on addr (host:port; port 0 picks one) and writes
// messages into dir.
func StartMailSink(addr, dir string, logger *slog.Logger) (*MailSink, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("mail sink folder: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("mail sink listen: %w", err)
	}
	s := &MailSink{addr: ln.Addr().String(), dir: dir}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &sinkSession{dir: dir, log: logger}, nil
	}))
	s.srv.Domain = "localhost"
	s.srv.ReadTimeout = 30 * time.Second
	s.srv.WriteTimeout = 30 * time.Second
	s.srv.MaxMessageBytes = 10 << 20
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, smtp.ErrServerClosed) {
			logger.Error("mail sink stopped", "error", err)
		}
	}()
	return s, nil
}

// Addr is where the sink listens.
func (s *MailSink) Addr() string { return s.addr }

// Dir is the folder holding the received messages.
func (s *MailSink) Dir() string { return s.dir }

// Close stops the sink.
func (s *MailSink) Close() { _ = s.srv.Close() }

type sinkSession struct {
	dir  string
	log  *slog.Logger
	from string
	to   []string
}

func (s *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *sinkSession) Data(r io.Reader) error {
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, r); err != nil {
		return err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return err
	}
	path := filepath.Join(s.dir, id.String()+".eml")
	if err := os.WriteFile(path, buf.Bytes(), 0o640); err != nil {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "cannot store the message"}
	}
	s.log.Info("mail received", "file", path, "recipients", len(s.to))
	return nil
}

func (s *sinkSession) Reset()        { s.from, s.to = "", nil }
func (s *sinkSession) Logout() error { return nil }
