package api

import (
	"net/url"
	"strconv"

	"github.com/google/uuid"

	"github.com/gin-gonic/gin"

	"github.com/zarish-sphere/zarish/domain"
)

// pageBody is the shape of every list: {"data":[…],"next":cursor-or-null}.
func pageBody[T any](data []T, next string) gin.H {
	if data == nil {
		data = []T{}
	}
	body := gin.H{"data": data, "next": nil}
	if next != "" {
		body["next"] = next
	}
	return body
}

// limitParam reads ?limit= (def when absent), reporting a value outside
// 1..max on verr.
func limitParam(c *gin.Context, verr *domain.ValidationError, def, max int) int {
	v := c.Query("limit")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		verr.Add("limit", "must be a whole number from 1 to "+strconv.Itoa(max))
		return def
	}
	return n
}

// uuidParam reads the :id path parameter; a malformed one is answered 400
// with message.
func uuidParam(c *gin.Context, message string) (uuid.UUID, bool) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		fieldError(c, "id", message)
		return uuid.Nil, false
	}
	return id, true
}

// location is the Location of the resource id in collection (a path such as
// "/v1/notifications/policies"): the id is one escaped path segment, whatever
// characters a caller chose for it.
func location(collection, id string) string {
	return collection + "/" + url.PathEscape(id)
}
