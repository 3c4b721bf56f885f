// Command mkimage writes the image the push benchmark pushes: layers of
// random (incompressible) data, as an OCI image layout and as a docker-save
// tarball for docker load. The same flags give the same image, byte for byte.
package main

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Stamp describes what was written, so the benchmark script can reuse it.
type Stamp struct {
	Layers int    `json:"layers"`
	MB     int    `json:"mb"`
	Seed   uint64 `json:"seed"`
	Digest string `json:"digest"`
	Tag    string `json:"tag"`
	Bytes  int64  `json:"bytes"`
}

func main() {
	out := flag.String("out", "", "directory to write layout/, image.tar and image.json into")
	layers := flag.Int("layers", 10, "number of layers")
	mb := flag.Int("mb", 200, "total uncompressed size in MB (10^6 bytes), split evenly across layers")
	seed := flag.Uint64("seed", 1, "seed of the random data")
	tag := flag.String("tag", "deploy-action-bench:latest", "tag recorded in the docker-save tarball")
	flag.Parse()
	if *out == "" || *layers < 1 || *mb < 1 {
		fmt.Fprintln(os.Stderr, "usage: mkimage -out DIR [-layers N] [-mb N] [-seed N] [-tag NAME:TAG]")
		os.Exit(2)
	}
	st, err := run(*out, *layers, *mb, *seed, *tag)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkimage:", err)
		os.Exit(1)
	}
	fmt.Printf("wrote %s: %d layers, %.0f MB compressed, %s\n", *out, st.Layers, float64(st.Bytes)/1e6, st.Digest)
}

func run(out string, layers, mb int, seed uint64, tag string) (*Stamp, error) {
	ref, err := name.NewTag(tag)
	if err != nil {
		return nil, fmt.Errorf("-tag %q: %w", tag, err)
	}
	tmp := filepath.Join(out, "tmp")
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	rng := rand.NewChaCha8(seedBytes(seed))
	per := int64(mb) * 1_000_000 / int64(layers)
	var adds []mutate.Addendum
	var total int64
	for i := range layers {
		path := filepath.Join(tmp, fmt.Sprintf("layer-%02d.tar.gz", i))
		if err := writeLayer(path, i, per, rng); err != nil {
			return nil, err
		}
		l, err := tarball.LayerFromFile(path, tarball.WithMediaType(types.OCILayer))
		if err != nil {
			return nil, err
		}
		size, err := l.Size()
		if err != nil {
			return nil, err
		}
		total += size
		adds = append(adds, mutate.Addendum{Layer: l, History: v1.History{CreatedBy: fmt.Sprintf("mkimage layer %d", i)}})
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.Append(base, adds...)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config.Cmd = []string{"/bin/true"}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return nil, err
	}
	digest, err := img.Digest()
	if err != nil {
		return nil, err
	}

	lp := filepath.Join(out, "layout")
	if err := os.RemoveAll(lp); err != nil {
		return nil, err
	}
	p, err := layout.Write(lp, empty.Index)
	if err != nil {
		return nil, err
	}
	if err := p.AppendImage(img); err != nil {
		return nil, fmt.Errorf("writing the OCI layout: %w", err)
	}
	if err := tarball.WriteToFile(filepath.Join(out, "image.tar"), ref, img); err != nil {
		return nil, fmt.Errorf("writing the docker-save tarball: %w", err)
	}
	st := &Stamp{Layers: layers, MB: mb, Seed: seed, Digest: digest.String(), Tag: tag, Bytes: total}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return nil, err
	}
	return st, os.WriteFile(filepath.Join(out, "image.json"), append(b, '\n'), 0o644)
}

// writeLayer writes a gzipped tar holding one file of n random bytes. Random
// data does not compress, so BestSpeed costs nothing in size.
func writeLayer(path string, i int, n int64, rng io.Reader) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	zw, err := gzip.NewWriterLevel(f, gzip.BestSpeed)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("data/layer-%02d.bin", i), Mode: 0o644, Size: n, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
		return err
	}
	if _, err := io.CopyN(tw, rng, n); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return f.Close()
}

func seedBytes(seed uint64) [32]byte {
	var b [32]byte
	for i := range 8 {
		b[i] = byte(seed >> (8 * i))
	}
	return b
}
