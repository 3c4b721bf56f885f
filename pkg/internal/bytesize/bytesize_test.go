package bytesize_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/pkg/internal/bytesize"
)

func TestParse(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{
		"500MB": 500e6, "1.5 GB": 1.5e9, "300MiB": 300 << 20, "2g": 2 << 30, "1048576": 1 << 20,
		"64kb": 64e3, "64KiB": 64 << 10, " 10 B ": 10,
	} {
		got, err := bytesize.Parse(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "big", "-1MB", "0", "12 parsecs", "1MiBs"} {
		_, err := bytesize.Parse(bad)
		assert.ErrorIs(t, err, bytesize.ErrNotSize, bad)
	}
}

func TestFormat(t *testing.T) {
	t.Parallel()
	for n, want := range map[int64]string{
		0: "0 B", 999: "999 B", 1000: "1.0 kB", 50e3: "50.0 kB", 45_200_000: "45.2 MB", 1e9: "1.00 GB", 1_250_000_000: "1.25 GB", 3e12: "3.00 TB",
	} {
		assert.Equal(t, want, bytesize.Format(n), n)
	}
}
