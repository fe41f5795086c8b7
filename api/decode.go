package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

const maxBodyBytes = 1 << 20

// readJSON reads a JSON body into v strictly: the media type must be JSON,
// unknown fields and trailing data are rejected, and a type mismatch names the
// field. On failure it has already answered and returns nil body.
func readJSON(c *gin.Context, v any) []byte {
	if mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type")); err != nil || !(mt == "application/json" || strings.HasSuffix(mt, "+json")) {
		abort(c, http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "Send the body as application/json.")
		return nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			abort(c, http.StatusRequestEntityTooLarge, CodeValidationFailed, fmt.Sprintf("The body is larger than %d bytes.", maxBodyBytes))
			return nil
		}
		abort(c, http.StatusBadRequest, CodeInvalidJSON, "The body could not be read.")
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		jsonError(c, err)
		return nil
	}
	if dec.More() {
		abort(c, http.StatusBadRequest, CodeInvalidJSON, "The body holds more than one JSON value.")
		return nil
	}
	return body
}

func jsonError(c *gin.Context, err error) {
	var (
		syntax  *json.SyntaxError
		typeErr *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syntax):
		abort(c, http.StatusBadRequest, CodeInvalidJSON, fmt.Sprintf("The body is not valid JSON (at byte %d).", syntax.Offset))
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "(body)"
		}
		fieldError(c, field, "must be a "+jsonKind(typeErr.Type.Kind().String()))
	case errors.Is(err, io.EOF):
		abort(c, http.StatusBadRequest, CodeInvalidJSON, "The body is empty.")
	case errors.Is(err, io.ErrUnexpectedEOF):
		abort(c, http.StatusBadRequest, CodeInvalidJSON, "The body ends in the middle of a JSON value.")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		fieldError(c, name, "is not a field of this resource")
	default:
		abort(c, http.StatusBadRequest, CodeInvalidJSON, "The body is not valid JSON.")
	}
}

func jsonKind(kind string) string {
	switch kind {
	case "slice", "array":
		return "list"
	case "struct", "map":
		return "object"
	case "int", "int64", "int32", "float64", "float32", "uint", "uint64":
		return "number"
	default:
		return kind
	}
}
