// Command server is the program of the test image: an HTTP server whose
// readiness and stop behaviour are set by its environment, and the probes
// used as health check and test command.
//
//	server serve            serve on $PORT (8080): /healthz, /ready
//	server probe URL        exit 0 if URL answers 2xx
//	server crash            print an error and exit 3
//	server write PATH TEXT  write TEXT to PATH
//	server cat PATH         print the file at PATH
//	server env NAME         print NAME=value of the environment
//	server exit CODE        print to stdout and stderr, exit CODE
//
// serve reads NEVER_READY=1 (/ready answers 503), READY_AFTER=DURATION,
// IGNORE_TERM=1 (SIGTERM does nothing), EXIT_ON_TERM=CODE and PRINT_ENV=NAME[,NAME...]
// (print those variables at start).
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	cmd := "serve"
	if len(os.Args) > 1 {
		cmd = os.Args[1]
	}
	switch cmd {
	case "serve":
		serve()
	case "probe":
		if len(os.Args) < 3 {
			fmt.Fprintln(os.Stderr, "usage: server probe URL")
			os.Exit(2)
		}
		os.Exit(probe(os.Args[2]))
	case "write":
		if err := os.WriteFile(arg(2), []byte(arg(3)), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	case "cat":
		b, err := os.ReadFile(arg(2))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Stdout.Write(b)
	case "env":
		fmt.Printf("%s=%s\n", arg(2), os.Getenv(arg(2)))
	case "exit":
		code, _ := strconv.Atoi(arg(2))
		fmt.Println("to stdout")
		fmt.Fprintln(os.Stderr, "to stderr")
		os.Exit(code)
	case "crash":
		fmt.Fprintln(os.Stderr, "fatal: cannot connect to the database at db:5432")
		os.Exit(3)
	default:
		fmt.Fprintf(os.Stderr, "unknown command %q\n", cmd)
		os.Exit(2)
	}
}

func arg(i int) string {
	if len(os.Args) <= i {
		fmt.Fprintf(os.Stderr, "%s: missing argument %d\n", os.Args[1], i-1)
		os.Exit(2)
	}
	return os.Args[i]
}

func probe(url string) int {
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		fmt.Println("probe:", err)
		return 1
	}
	resp.Body.Close()
	fmt.Println("probe:", resp.Status)
	if resp.StatusCode/100 != 2 {
		return 1
	}
	return 0
}

func serve() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	for _, name := range strings.Split(os.Getenv("PRINT_ENV"), ",") {
		if name != "" {
			fmt.Printf("config: %s=%s\n", name, os.Getenv(name))
		}
	}
	start := time.Now()
	readyAfter, _ := time.ParseDuration(os.Getenv("READY_AFTER"))
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/ready", func(w http.ResponseWriter, _ *http.Request) {
		if os.Getenv("NEVER_READY") == "1" || time.Since(start) < readyAfter {
			http.Error(w, `{"status":"unavailable","error":"database unreachable"}`, http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, `{"status":"ready"}`)
	})
	srv := &http.Server{Addr: ":" + port, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		for s := range sigs {
			fmt.Println("received", s)
			if os.Getenv("IGNORE_TERM") == "1" {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = srv.Shutdown(ctx)
			cancel()
			code, _ := strconv.Atoi(os.Getenv("EXIT_ON_TERM"))
			os.Exit(code)
		}
	}()
	fmt.Println("listening on :" + port)
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	select {}
}
