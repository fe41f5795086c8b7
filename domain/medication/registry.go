package medication

import (
	"errors"
	"fmt"
	"sync"
)

// ErrUnknownVersion means no loaded knowledge base has the version asked for.
var ErrUnknownVersion = errors.New("no such knowledge-base version is loaded")

// Registry holds the loaded knowledge-base versions side by side, one of them
// active. It is safe for concurrent use; checks read Active once and use that
// version throughout.
type Registry struct {
	mu       sync.RWMutex
	versions []*KB
	active   *KB
}

// NewRegistry holds the given versions; the first is active.
func NewRegistry(first *KB, more ...*KB) (*Registry, error) {
	if first == nil {
		return nil, errors.New("medication registry: a knowledge base is required")
	}
	r := &Registry{versions: []*KB{first}, active: first}
	for _, kb := range more {
		if err := r.Add(kb); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Add loads another version beside the others, inactive.
func (r *Registry) Add(kb *KB) error {
	if kb == nil {
		return errors.New("medication registry: a knowledge base is required")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range r.versions {
		if v.Version() == kb.Version() {
			return fmt.Errorf("medication registry: version %s is already loaded", kb.Version())
		}
	}
	r.versions = append(r.versions, kb)
	return nil
}

// Activate makes a loaded version the one checks use.
func (r *Registry) Activate(version string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range r.versions {
		if v.Version() == version {
			r.active = v
			return nil
		}
	}
	return fmt.Errorf("%w: %s", ErrUnknownVersion, version)
}

// Active is the version checks use.
func (r *Registry) Active() *KB {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.active
}

// Get returns a loaded version.
func (r *Registry) Get(version string) (*KB, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, v := range r.versions {
		if v.Version() == version {
			return v, true
		}
	}
	return nil, false
}

// Summaries describe every loaded version, in the order they were loaded,
// saying which is active.
func (r *Registry) Summaries() []Summary {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Summary, len(r.versions))
	for i, v := range r.versions {
		out[i] = v.Summary(v == r.active)
	}
	return out
}
