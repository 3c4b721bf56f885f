package testenv_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/internal/testenv"
)

func TestRegistry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		opts       []testenv.RegistryOption
		scheme     string
		anonStatus int
	}{
		{name: "plain", scheme: "http://", anonStatus: http.StatusOK},
		{name: "tls", opts: []testenv.RegistryOption{testenv.WithTLS()}, scheme: "https://", anonStatus: http.StatusOK},
		{name: "tls+htpasswd", opts: []testenv.RegistryOption{testenv.WithTLS(), testenv.WithHtpasswd("alice", "s3cret-pass")}, scheme: "https://", anonStatus: http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rs := testenv.Registry(t, tc.opts...)
			assert.Equal(t, tc.scheme+rs.Host, rs.URL())
			client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: rs.TLSConfig()}}

			resp, err := client.Get(rs.URL() + "/v2/")
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, tc.anonStatus, resp.StatusCode)

			if rs.Username != "" {
				req, _ := http.NewRequest(http.MethodGet, rs.URL()+"/v2/", nil)
				req.SetBasicAuth(rs.Username, rs.Password)
				resp, err := client.Do(req)
				require.NoError(t, err)
				resp.Body.Close()
				assert.Equal(t, http.StatusOK, resp.StatusCode)

				req.SetBasicAuth(rs.Username, "wrong")
				resp, err = client.Do(req)
				require.NoError(t, err)
				resp.Body.Close()
				assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
			}

			// skopeo, with the flags the server needs, reaches it: an image
			// that is not there is reported as unknown, not as a TLS or auth failure.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			args := append(append([]string{"inspect", "--raw"}, rs.SkopeoFlags()...), "docker://"+rs.Repo("nothing")+":here")
			_, err = testenv.SkopeoRun(ctx, testenv.LookPath(t, "skopeo"), args...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "manifest unknown")
		})
	}
}

func TestRegistryStopsAtCleanup(t *testing.T) {
	t.Parallel()
	var url string
	t.Run("server", func(t *testing.T) {
		url = testenv.Registry(t).URL()
	})
	_, err := http.Get(url + "/v2/")
	require.Error(t, err, "the registry still answers after its test ended")
}
