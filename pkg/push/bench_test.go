package push_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/deploy-action/deploy-action/pkg/push"
)

// BenchmarkPush measures the client side of a push (hashing, HTTP, the
// in-memory registry on loopback) for an image of 8 random 1 MiB layers.
// bench/push.sh compares against docker push and crane on a real registry.
func BenchmarkPush(b *testing.B) {
	const layers, size = 8, 1 << 20
	img := randomImage(b, layers, size)
	var total int64
	ls, _ := img.Layers()
	for _, l := range ls {
		s, _ := l.Size()
		total += s
	}
	ctx := context.Background()
	p, err := push.New(push.WithRetry(1, 1))
	if err != nil {
		b.Fatal(err)
	}

	b.Run("empty registry", func(b *testing.B) {
		b.SetBytes(total)
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			host := memRegistry(b, nil)
			b.StartTimer()
			if _, err := p.Push(ctx, img, []string{host + "/bench/app"}, []string{"v1"}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("all blobs present", func(b *testing.B) {
		host := memRegistry(b, nil)
		repos := []string{host + "/bench/app"}
		if _, err := p.Push(ctx, img, repos, []string{"v1"}); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := p.Push(ctx, img, repos, []string{"v1"}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("three registries", func(b *testing.B) {
		b.SetBytes(3 * total)
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			var repos []string
			for i := range 3 {
				repos = append(repos, fmt.Sprintf("%s/bench/app%d", memRegistry(b, nil), i))
			}
			b.StartTimer()
			if _, err := p.Push(ctx, img, repos, []string{"v1"}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
