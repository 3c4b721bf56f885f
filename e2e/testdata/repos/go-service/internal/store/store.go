// Package store holds the orders service's connection settings.
package store

import (
	"errors"
	"net/url"
)

// Config names the PostgreSQL database and the Redis cache.
type Config struct {
	DatabaseURL string
	RedisURL    string
}

// Check rejects a missing or malformed DATABASE_URL.
func (c Config) Check() error {
	if c.DatabaseURL == "" {
		return errors.New("DATABASE_URL is empty; set it to postgres://user:password@host/db")
	}
	u, err := url.Parse(c.DatabaseURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return errors.New("DATABASE_URL is not a postgres:// URL")
	}
	return nil
}
