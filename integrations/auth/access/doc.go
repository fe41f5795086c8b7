// Package access is what every part of the engine needs to know about who
// calls and what they may do, without the OAuth2 server behind it: the
// principal a verified token speaks for, SMART scopes and the roles that
// grant them, users' passwords, and the note a sign-in leaves for its audit
// record. integrations/auth issues and verifies the tokens; the API and
// the rest read only this package, which stores nothing.
package access
