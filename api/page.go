package api

import (
	"strconv"

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
