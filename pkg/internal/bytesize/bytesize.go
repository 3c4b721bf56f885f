package bytesize

import (
	"errors"
	"strconv"
	"strings"

	units "github.com/docker/go-units"
)

// ErrNotSize is returned for text that is not a positive size.
var ErrNotSize = errors.New("not a positive size")

var decimal = []string{"B", "kB", "MB", "GB", "TB", "PB"}

// Format writes n bytes in decimal units, as registries and `docker images`
// do: "512 B", "45.2 MB", "1.25 GB".
func Format(n int64) string {
	switch {
	case n < units.KB:
		return strconv.FormatInt(n, 10) + " B"
	case n < units.GB:
		return units.CustomSize("%.1f %s", float64(n), 1000, decimal)
	}
	return units.CustomSize("%.2f %s", float64(n), 1000, decimal)
}

// Parse reads a size such as "500MB", "1.5 GB", "300MiB", "2g" or "1048576".
// kB, MB and GB are powers of 1000; KiB, MiB, GiB and the bare K, M, G are
// powers of 1024, as docker's --memory reads them. go-units has one function
// for each base; the unit picks it.
func Parse(s string) (int64, error) {
	s = strings.TrimSpace(s)
	unit := strings.ToLower(strings.TrimLeft(s, "0123456789. "))
	parse := units.FromHumanSize
	if len(unit) <= 1 || strings.HasSuffix(unit, "ib") {
		parse = units.RAMInBytes
	}
	n, err := parse(s)
	if err != nil || n <= 0 {
		return 0, ErrNotSize
	}
	return n, nil
}
