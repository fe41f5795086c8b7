// Package npmpin installs the npm packages a test folder's package.json
// pins, at exactly those versions and without a lock file, when they are
// missing: the tests that check the engine against programs and data
// nobody here wrote (a second HL7 v2 parser, the official FHIR examples)
// share it.
package npmpin

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// Install installs dir's pinned packages unless node_modules holds them
// already. Test binaries of several packages may install at once (go test
// -p): one installs, holding the file lock named lock in the temporary
// directory, while the others wait, then find the packages there. args are
// added to npm install's (--ignore-scripts, say).
func Install(dir, lock string, timeout time.Duration, args ...string) error {
	if Installed(dir) {
		return nil
	}
	if _, err := exec.LookPath("npm"); err != nil {
		return errors.New("the packages are not in " + dir + "/node_modules, and npm, which installs them, is not on PATH")
	}
	f, err := os.OpenFile(filepath.Join(os.TempDir(), lock), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	defer func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }()
	if Installed(dir) {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", append([]string{"install", "--no-package-lock", "--no-audit", "--no-fund"}, args...)...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return errors.New("npm install in " + dir + " failed: " + err.Error() + "\n" + string(out))
	}
	if _, err := os.Stat(filepath.Join(dir, "package-lock.json")); err == nil {
		return errors.New("npm wrote " + dir + "/package-lock.json: it records where each package was downloaded from and must not be kept")
	}
	if !Installed(dir) {
		return errors.New("npm install did not install the versions package.json pins")
	}
	return nil
}

// Installed reports whether dir's node_modules holds every dependency of
// its package.json at the version it pins.
func Installed(dir string) bool {
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil || json.Unmarshal(b, &pkg) != nil || len(pkg.Dependencies) == 0 {
		return false
	}
	for name, version := range pkg.Dependencies {
		var got struct {
			Version string `json:"version"`
		}
		b, err := os.ReadFile(filepath.Join(dir, "node_modules", name, "package.json"))
		if err != nil || json.Unmarshal(b, &got) != nil || got.Version != version {
			return false
		}
	}
	return true
}
