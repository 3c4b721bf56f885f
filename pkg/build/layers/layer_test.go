package layers_test

import (
	"errors"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/pkg/build/layers"
	"github.com/deploy-action/deploy-action/pkg/field"
)

func mode(m os.FileMode) *os.FileMode { return &m }

func TestParseLayer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    layers.Layer
		wantErr string
	}{
		{name: "file", in: "./bin/app:/app/app", want: layers.Layer{Source: "./bin/app", Target: "/app/app"}},
		{name: "into directory", in: "bin/app:/app/", want: layers.Layer{Source: "bin/app", Target: "/app/"}},
		{name: "mode", in: "./bin/app:/app/app,mode=0755", want: layers.Layer{Source: "./bin/app", Target: "/app/app", Mode: mode(0o755)}},
		{name: "mode without leading zero", in: "a:/a,mode=644", want: layers.Layer{Source: "a", Target: "/a", Mode: mode(0o644)}},
		{name: "setuid mode", in: "a:/a,mode=4755", want: layers.Layer{Source: "a", Target: "/a", Mode: mode(0o755 | os.ModeSetuid)}},
		{name: "owner", in: "dist:/srv,owner=65532:65533", want: layers.Layer{Source: "dist", Target: "/srv", UID: 65532, GID: 65533}},
		{name: "owner uid only", in: "dist:/srv,owner=1000", want: layers.Layer{Source: "dist", Target: "/srv", UID: 1000, GID: 1000}},
		{name: "both options, spaces, upper case key", in: " dist : /srv , OWNER=1:2 , mode=0700 ", want: layers.Layer{Source: "dist", Target: "/srv", UID: 1, GID: 2, Mode: mode(0o700)}},
		{name: "target with colon", in: "a:/x:y", want: layers.Layer{Source: "a", Target: "/x:y"}},

		{name: "empty", in: "", wantErr: `layers.Spec.Layers: "" has no target; write SOURCE:TARGET`},
		{name: "no target", in: "./bin/app", wantErr: "has no target"},
		{name: "empty source", in: ":/app", wantErr: "has no source"},
		{name: "empty target", in: "a:", wantErr: "has no target"},
		{name: "relative target", in: "a:app/a", wantErr: `has a relative target "app/a"; start the target with "/"`},
		{name: "dot dot", in: "a:/app/../etc", wantErr: `with ".."`},
		{name: "bad mode", in: "a:/a,mode=rwx", wantErr: `not an octal mode up to 07777; write the mode in octal`},
		{name: "mode too big", in: "a:/a,mode=17777", wantErr: "not an octal mode"},
		{name: "empty mode", in: "a:/a,mode=", wantErr: "empty mode"},
		{name: "bad owner", in: "a:/a,owner=root", wantErr: `"root" is not a numeric ID`},
		{name: "negative owner", in: "a:/a,owner=-1:0", wantErr: "not a numeric ID"},
		{name: "bad gid", in: "a:/a,owner=1:x", wantErr: `"x" is not a numeric ID`},
		{name: "unknown option", in: "a:/a,chmod=0755", wantErr: `unknown option "chmod=0755"; use mode=0755 or owner=UID:GID`},
		{name: "option twice", in: "a:/a,mode=0755,mode=0644", wantErr: `sets "mode" twice`},
		{name: "empty option", in: "a:/a,", wantErr: `unknown option ""`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := layers.ParseLayer(tc.in)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				var fe *field.Error
				if assert.ErrorAs(t, err, &fe) {
					assert.Equal(t, layers.FieldLayers, fe.Field)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestLayerString(t *testing.T) {
	t.Parallel()
	l := layers.Layer{Source: "bin", Target: "/app", Mode: mode(0o755 | os.ModeSetgid), UID: 1, GID: 2}
	assert.Equal(t, "bin:/app,mode=2755,owner=1:2", l.String())
	assert.Equal(t, "bin:/app", layers.Layer{Source: "bin", Target: "/app"}.String())
}

// FuzzParseLayer checks that no input panics, that errors name the field,
// and that what parses prints back to the same layer.
func FuzzParseLayer(f *testing.F) {
	for _, s := range []string{
		"./bin/app:/app/app", "dist:/srv,owner=65532:65532,mode=0755", "a:/a,mode=4755",
		"a", ":", "a:/a,,", "a:/a,mode=99", "a:/../b", "a:/x:y,owner=1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := layers.ParseLayer(s)
		if err != nil {
			var fe *field.Error
			if !errors.As(err, &fe) || fe.Field != layers.FieldLayers {
				t.Fatalf("the error is not about %s: %v", layers.FieldLayers, err)
			}
			return
		}
		again, err := layers.ParseLayer(l.String())
		require.NoError(t, err, "canonical form %q of %q", l.String(), s)
		require.Equal(t, l, again)
	})
}
