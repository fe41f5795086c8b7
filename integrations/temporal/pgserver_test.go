package temporal

import (
	"strings"
	"testing"
)

// TestPostgresSQL: a postgres:// URL becomes the server's SQL settings, its
// query passing through as connection attributes; a URL the server could
// not use is refused with the reason.
func TestPostgresSQL(t *testing.T) {
	cfg, err := postgresSQL("postgres://temporal:s%40cret@db.hospital.example/temporal?sslmode=verify-full&sslrootcert=/etc/ca.pem", 7)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ConnectAddr != "db.hospital.example:5432" || cfg.User != "temporal" || cfg.Password != "s@cret" || cfg.DatabaseName != "temporal" {
		t.Errorf("connection %s %s/%s %s", cfg.ConnectAddr, cfg.User, cfg.Password, cfg.DatabaseName)
	}
	if cfg.ConnectAttributes["sslmode"] != "verify-full" || cfg.ConnectAttributes["sslrootcert"] != "/etc/ca.pem" {
		t.Errorf("attributes %v", cfg.ConnectAttributes)
	}
	if cfg.MaxConns != 7 || cfg.MaxIdleConns != 7 || cfg.PluginName != "postgres12_pgx" {
		t.Errorf("pool %d/%d plugin %s", cfg.MaxConns, cfg.MaxIdleConns, cfg.PluginName)
	}
	for raw, reason := range map[string]string{
		"mysql://db/temporal":                "scheme",
		"postgres://db.hospital.example":     "names no database",
		"postgres://db.hospital.example/":    "names no database",
		"postgres:///temporal":               "names no host",
		"postgres://db.hospital.example/a/b": "names no database",
	} {
		if _, err := postgresSQL(raw, 5); err == nil || !strings.Contains(err.Error(), reason) {
			t.Errorf("%s: %v, want an error saying %q", raw, err, reason)
		}
	}
}
