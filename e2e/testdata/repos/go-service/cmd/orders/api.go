package main

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"

	"example.com/orders/internal/store"
)

type order struct {
	ID    int    `json:"id"`
	Item  string `json:"item"`
	Count int    `json:"count"`
}

type api struct {
	cfg    store.Config
	mu     sync.Mutex
	orders []order
}

func newAPI(cfg store.Config) http.Handler {
	a := &api{cfg: cfg}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", a.healthz)
	mux.HandleFunc("GET /orders", a.list)
	mux.HandleFunc("POST /orders", a.create)
	mux.HandleFunc("GET /orders/{id}", a.get)
	return mux
}

func (a *api) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte("ok\n"))
}

func (a *api) list(w http.ResponseWriter, _ *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	writeJSON(w, http.StatusOK, a.orders)
}

func (a *api) create(w http.ResponseWriter, r *http.Request) {
	var o order
	if err := json.NewDecoder(r.Body).Decode(&o); err != nil || o.Item == "" || o.Count < 1 {
		http.Error(w, `expected {"item": "tea", "count": 2}`, http.StatusBadRequest)
		return
	}
	a.mu.Lock()
	o.ID = len(a.orders) + 1
	a.orders = append(a.orders, o)
	a.mu.Unlock()
	writeJSON(w, http.StatusCreated, o)
}

func (a *api) get(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.PathValue("id"))
	a.mu.Lock()
	defer a.mu.Unlock()
	if err != nil || id < 1 || id > len(a.orders) {
		http.NotFound(w, r)
		return
	}
	writeJSON(w, http.StatusOK, a.orders[id-1])
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
