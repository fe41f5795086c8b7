package api

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// tracerName names the API's spans.
const tracerName = "github.com/zarish-sphere/zarish/api"

// traced opens the server span of each request, continuing the caller's
// trace when it sends a W3C traceparent header. The span is named by the
// route pattern (never the raw path, which holds ids); the request's context
// carries it to the stores, Temporal and the outbox, so one trace follows a
// request into its workflows and the events it publishes. The trace id is
// echoed in the Traceresponse header and the access log.
func traced() gin.HandlerFunc {
	tracer := otel.Tracer(tracerName)
	return func(c *gin.Context) {
		ctx := otel.GetTextMapPropagator().Extract(c.Request.Context(), propagation.HeaderCarrier(c.Request.Header))
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		ctx, span := tracer.Start(ctx, methodLabel(c.Request.Method)+" "+route,
			trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(
				attribute.String("http.request.method", c.Request.Method),
				attribute.String("http.route", route),
				attribute.String("url.path", c.Request.URL.Path),
				attribute.String("user_agent.original", c.Request.UserAgent()),
				attribute.String("zarish.request_id", requestID(c)),
			))
		defer span.End()
		if sc := span.SpanContext(); sc.IsValid() {
			c.Header("Traceresponse", "00-"+sc.TraceID().String()+"-"+sc.SpanID().String()+"-"+sc.TraceFlags().String())
		}
		c.Request = c.Request.WithContext(ctx)
		c.Next()
		status := c.Writer.Status()
		span.SetAttributes(attribute.Int("http.response.status_code", status))
		if p, ok := principal(c); ok {
			span.SetAttributes(attribute.String("zarish.client_id", p.ClientID))
		}
		if status >= http.StatusInternalServerError {
			span.SetStatus(codes.Error, strconv.Itoa(status)+" "+http.StatusText(status))
		}
	}
}
