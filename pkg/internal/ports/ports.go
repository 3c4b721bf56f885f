package ports

import (
	"errors"
	"strings"

	"github.com/docker/go-connections/nat"
)

// Errors of Parse, for callers to word in their own terms.
var (
	// ErrNotPort: not a port from 1 to 65535 (or a range, an address, or
	// more than HOST:CONTAINER).
	ErrNotPort = errors.New("not a port")
	// ErrProtocol: a protocol other than tcp, udp and sctp.
	ErrProtocol = errors.New("unknown protocol")
)

// Spec is one parsed port spec.
type Spec struct {
	// Port is the container port with its protocol, "8000/tcp".
	Port nat.Port
	// HostPort is the loopback port to publish it on; "" for none.
	HostPort string
}

// Parse reads "8000", "8000/tcp", "53/udp" or "HOST:CONTAINER[/proto]"
// ("18000:8000"). The protocol defaults to tcp. Ranges and host addresses are
// refused: every stage here exposes or probes single ports.
func Parse(s string) (Spec, error) {
	proto, _ := nat.SplitProtoPort(s)
	switch strings.ToLower(proto) {
	case "tcp", "udp", "sctp", "":
	default:
		return Spec{}, ErrProtocol
	}
	mappings, err := nat.ParsePortSpec(s)
	if err != nil || len(mappings) != 1 {
		return Spec{}, ErrNotPort
	}
	m := mappings[0]
	if start, end, err := m.Port.Range(); err != nil || start != end || start == 0 || m.Binding.HostIP != "" {
		return Spec{}, ErrNotPort
	}
	if h := m.Binding.HostPort; h != "" {
		if n, err := nat.ParsePort(h); err != nil || n == 0 {
			return Spec{}, ErrNotPort
		}
	}
	return Spec{Port: m.Port, HostPort: m.Binding.HostPort}, nil
}
