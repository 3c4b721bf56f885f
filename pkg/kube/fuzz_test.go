package kube_test

import (
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/deploy-action/deploy-action/pkg/kube"
)

// FuzzKubeconfigContentNeverEchoesTheToken feeds Config kubeconfigs whose
// structure is fuzzed around a token: whatever is wrong with them, an error
// never carries the token, unless the fuzzed text moved it out of the user's
// credentials (into a name, say), where it is no secret.
func FuzzKubeconfigContentNeverEchoesTheToken(f *testing.F) {
	for _, seed := range [][4]string{
		{"https://127.0.0.1:6443", "ci", "ci", ""},
		{"https://127.0.0.1:6443", "ci", "other", ""},
		{"", "ci", "ci", ""},
		{"https://x", "", "", "bad: [unclosed"},
		{"https://x", "ci", "ci", "  client-certificate: /nonexistent"},
		{"https://x", "ci", "ci", "    password: p"},
		{"::", "a b", "c:d", "\t\x00"},
		{"https://x", "ci", "ci", "    exec: {command: aws, apiVersion: client.authentication.k8s.io/v1}"},
	} {
		f.Add(seed[0], seed[1], seed[2], seed[3])
	}
	f.Fuzz(func(t *testing.T, server, context, current, extra string) {
		data := "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: " + server +
			"\nusers:\n- name: u\n  user:\n    token: " + secretToken + "\n" + extra +
			"\ncontexts:\n- name: " + context + "\n  context: {cluster: c, user: u}\ncurrent-context: " + current + "\n"
		_, err := kube.Config(kube.Access{KubeconfigData: data})
		if err == nil || !strings.Contains(err.Error(), secretToken) {
			return
		}
		// The token is echoed: that is a leak only if the token is still
		// nothing but a credential.
		raw, perr := clientcmd.Load([]byte(data))
		if perr != nil {
			t.Fatalf("a parse error echoes the token: %v", err)
		}
		for _, u := range raw.AuthInfos {
			u.Token, u.Password, u.ClientKeyData = "", "", nil
			u.AuthProvider = nil
			if u.Exec != nil {
				u.Exec.Env = nil
			}
		}
		rest, werr := clientcmd.Write(*raw)
		if werr != nil || strings.Contains(string(rest), secretToken) {
			return
		}
		t.Fatalf("the error echoes the token: %v", err)
	})
}
