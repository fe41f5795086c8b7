package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net"
	"strconv"

	"golang.org/x/sync/errgroup"

	"github.com/zarish-sphere/zarish/api"
	"github.com/zarish-sphere/zarish/config"
	services "github.com/zarish-sphere/zarish/domain/registry"
	"github.com/zarish-sphere/zarish/integrations/notify"
	"github.com/zarish-sphere/zarish/integrations/postgres"
)

// notifyConfig turns the configuration into the dispatcher's. mailSink, when
// not empty, is the address of the local mail sink `zarish dev` runs in place
// of an SMTP server.
func notifyConfig(c config.Notify, mailSink string) (notify.Config, error) {
	nc := notify.Config{
		SMTP: notify.SMTPConfig{
			Host:     c.SMTPHost,
			Port:     c.SMTPPort,
			Username: c.SMTPUsername,
			Password: c.SMTPPassword.Reveal(),
			From:     c.SMTPFrom,
			TLS:      c.SMTPTLS,
		},
		SMSWebhookURL:  c.SMSWebhookURL,
		PushWebhookURL: c.PushWebhookURL,
		WebhookSecret:  []byte(c.WebhookSecret.Reveal()),
		MaxAttempts:    c.MaxAttempts,
		BaseBackoff:    c.BaseBackoff,
		MaxBackoff:     c.MaxBackoff,
	}
	if mailSink != "" {
		host, port, err := net.SplitHostPort(mailSink)
		if err != nil {
			return nc, err
		}
		nc.SMTP.Host = host
		nc.SMTP.Port, _ = strconv.Atoi(port)
		nc.SMTP.TLS = notify.TLSNone
		nc.SMTP.Username, nc.SMTP.Password = "", ""
	}
	return nc, nil
}

// runNotify delivers the notifications requested on Kafka.
func runNotify(ctx context.Context, cfg config.Config, args []string, logger *slog.Logger, stdout io.Writer) error {
	fs := flag.NewFlagSet("notify", flag.ContinueOnError)
	fs.SetOutput(stdout)
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if len(cfg.Kafka.Brokers) == 0 {
		return usageError{errors.New("KAFKA_BROKERS is required")}
	}
	nc, err := notifyConfig(cfg.Notify, "")
	if err != nil {
		return usageError{err}
	}
	pool, err := openDatabase(ctx, cfg.Database, logger)
	if err != nil {
		return err
	}
	defer pool.Close()
	security, err := kafkaSecurity(cfg.Kafka)
	if err != nil {
		return usageError{err}
	}
	d, err := notify.NewDispatcher(nc, postgres.NewNotificationStore(pool), cfg.Kafka.Brokers, logger.With("component", "notify"),
		notify.WithKafkaSecurity(security))
	if err != nil {
		return usageError{err}
	}
	metrics := api.NewMetrics()
	metrics.Registry.MustRegister(d.Collectors()...)
	metrics.Registry.MustRegister(postgres.NewAlertMetrics(pool, logger.With("component", "alerts")).Collectors()...)
	g, gctx := errgroup.WithContext(ctx)
	heartbeat(gctx, g, pool, cfg, services.ServiceNotify, cfg.Metrics.Port, nil, logger)
	g.Go(func() error { return d.Run(gctx) })
	// Webhook subscriptions: the events queued per subscription, and sent.
	g.Go(func() error {
		return webhookConsumer(pool, cfg.Kafka.Brokers, logger).WithKafkaSecurity(security).Run(gctx)
	})
	g.Go(func() error { return webhookDeliverer(pool, cfg.WebhooksAllowPrivate, logger).Run(gctx) })
	if err := serveMetrics(gctx, g, cfg, metrics, logger, databaseCheck(pool)); err != nil {
		return err
	}
	return g.Wait()
}
