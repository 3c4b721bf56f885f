package kube

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"k8s.io/client-go/transport"
)

// answerWithin bounds the wait for each request's response headers, as
// http.Transport's ResponseHeaderTimeout would: rest.Config's Timeout bounds
// the whole exchange, which would cut every watch, and client-go exposes no
// header timeout. Once the headers are in, the body (a watch's stream) is
// read without a limit.
func answerWithin(server string, d time.Duration) transport.WrapperFunc {
	return func(rt http.RoundTripper) http.RoundTripper {
		return &headerTimeout{rt: rt, d: d, server: server}
	}
}

type headerTimeout struct {
	rt     http.RoundTripper
	d      time.Duration
	server string
}

func (h *headerTimeout) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancel(req.Context())
	var fired atomic.Bool
	timer := time.AfterFunc(h.d, func() { fired.Store(true); cancel() })
	resp, err := h.rt.RoundTrip(req.WithContext(ctx))
	timer.Stop()
	if err != nil {
		cancel()
		if fired.Load() {
			return nil, &noAnswerError{server: h.server, d: h.d}
		}
		return nil, err
	}
	// The context lives as long as the body: cancel it when the body is closed.
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// noAnswerError is a request the API server accepted and never answered.
type noAnswerError struct {
	server string
	d      time.Duration
}

func (e *noAnswerError) Error() string {
	return fmt.Sprintf("the Kubernetes API server at %s sent no answer within %s", e.server, e.d)
}

// Timeout makes it a net.Error timeout, which client-go and Explain treat as
// a server that did not answer.
func (e *noAnswerError) Timeout() bool   { return true }
func (e *noAnswerError) Temporary() bool { return true }
func (e *noAnswerError) Unwrap() error   { return context.DeadlineExceeded }

type cancelBody struct {
	io.ReadCloser
	cancel func()
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
