package store

import "testing"

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"postgres://u:p@db/orders", true},
		{"postgresql://db/orders", true},
		{"", false},
		{"mysql://db/orders", false},
	} {
		if err := (Config{DatabaseURL: tc.url}).Check(); (err == nil) != tc.ok {
			t.Errorf("Check(%q) = %v, want ok=%v", tc.url, err, tc.ok)
		}
	}
}
