package ports_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/pkg/internal/ports"
)

func TestParse(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]ports.Spec{
		"8000":           {Port: "8000/tcp"},
		"8000/tcp":       {Port: "8000/tcp"},
		"53/udp":         {Port: "53/udp"},
		"53/UDP":         {Port: "53/udp"},
		"9/sctp":         {Port: "9/sctp"},
		"18000:8000":     {Port: "8000/tcp", HostPort: "18000"},
		"18000:8000/tcp": {Port: "8000/tcp", HostPort: "18000"},
	} {
		got, err := ports.Parse(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for in, want := range map[string]error{
		"": ports.ErrNotPort, "http": ports.ErrNotPort, "0": ports.ErrNotPort, "65536": ports.ErrNotPort,
		"8000-8010": ports.ErrNotPort, "127.0.0.1:18000:8000": ports.ErrNotPort, "0:8000": ports.ErrNotPort,
		"x:8000": ports.ErrNotPort, "8000/quic": ports.ErrProtocol,
	} {
		_, err := ports.Parse(in)
		assert.ErrorIs(t, err, want, in)
	}
}
