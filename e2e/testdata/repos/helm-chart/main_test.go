package main

import (
	"io"
	"net/http/httptest"
	"testing"
)

func TestHello(t *testing.T) {
	t.Setenv("GREETING", "Hello")
	rec := httptest.NewRecorder()
	handler().ServeHTTP(rec, httptest.NewRequest("GET", "/hello?name=Ana", nil))
	body, _ := io.ReadAll(rec.Body)
	if string(body) != "Hello, Ana!\n" {
		t.Fatalf("GET /hello?name=Ana = %q", body)
	}
}
