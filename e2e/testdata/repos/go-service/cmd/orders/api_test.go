package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"example.com/orders/internal/store"
)

func TestAPI(t *testing.T) {
	srv := httptest.NewServer(newAPI(store.Config{DatabaseURL: "postgres://orders@localhost/orders"}))
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /healthz: %v %v", resp, err)
	}
	resp, err = http.Post(srv.URL+"/orders", "application/json", strings.NewReader(`{"item":"tea","count":2}`))
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /orders: %v %v", resp, err)
	}
	resp, err = http.Post(srv.URL+"/orders", "application/json", strings.NewReader(`{"item":""}`))
	if err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("POST /orders with no item: %v %v", resp, err)
	}
	resp, err = http.Get(srv.URL + "/orders/7")
	if err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET /orders/7: %v %v", resp, err)
	}
}
