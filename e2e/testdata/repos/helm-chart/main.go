// Command greeter answers GET /hello?name=... on $PORT (8080 by default).
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
	"time"
)

func greeting(name string) string {
	if name == "" {
		name = "world"
	}
	return fmt.Sprintf("%s, %s!\n", os.Getenv("GREETING"), name)
}

func handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ready")
	})
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, greeting(r.URL.Query().Get("name")))
	})
	return mux
}

func main() {
	addr := ":8080"
	if p := os.Getenv("PORT"); p != "" {
		addr = ":" + p
	}
	srv := &http.Server{Addr: addr, Handler: handler(), ReadHeaderTimeout: 5 * time.Second}
	log.Printf("greeter: listening on %s", addr)
	log.Fatal(srv.ListenAndServe())
}
