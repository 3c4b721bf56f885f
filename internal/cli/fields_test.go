package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/deploy-action/deploy-action/pkg/build/layers"
	"github.com/deploy-action/deploy-action/pkg/field"
	"github.com/deploy-action/deploy-action/pkg/smoke"
)

func TestFieldInputsAreInputs(t *testing.T) {
	t.Parallel()
	for f, name := range fieldInputs {
		assert.NotPanics(t, func() { lookupInput(name) }, "field %s maps to %q, which is not an input", f, name)
	}
}

func TestNameInput(t *testing.T) {
	t.Parallel()
	err := nameInput(fmt.Errorf("test stage: %w", field.Errorf(smoke.FieldReadyPort, `"http" is not a port: %w`, fs.ErrInvalid)))
	assert.EqualError(t, err, `input "ready-port": "http" is not a port: invalid argument`)
	assert.ErrorIs(t, err, fs.ErrInvalid, "the chain is kept")

	plain := errors.New("no field")
	assert.Equal(t, plain, nameInput(plain))
	unknown := field.Errorf("other.Config.X", "bad")
	assert.Equal(t, unknown, nameInput(unknown), "a field no input sets is left as it is")
}

// TestNameInputJoined: a stage that reports every problem at once has each
// named by its input, none lost.
func TestNameInputJoined(t *testing.T) {
	t.Parallel()
	other := errors.New(`platform "amd64" is not os/arch[/variant]`)
	err := nameInput(errors.Join(field.Errorf(layers.FieldLayers, `"a:b" has a relative target "b"`), other))
	assert.EqualError(t, err, `input "layers": "a:b" has a relative target "b"`+"\n"+other.Error())
	assert.ErrorIs(t, err, other)
}

// TestTestInputErrorsNameTheInput: a value the test stage refuses when it is
// made (not when its input is parsed) is reported under its input's name.
func TestTestInputErrorsNameTheInput(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ input, value, want string }{
		{"ready-port", "http", `input "ready-port": "http" is not a port`},
		{"ready-path", "readyz", `input "ready-path": "readyz" does not start with "/"`},
		{"services", "db: {image: x}\napp: {image: y}", `input "services": the name "app" is used twice`},
	} {
		t.Run(tc.input, func(t *testing.T) {
			t.Parallel()
			r := execute(t, map[string]string{}, "test", "--from", "oci:"+t.TempDir(), "--docker-host", "unix:///nonexistent.sock", "--"+tc.input, tc.value)
			assert.Equal(t, 1, r.code, r.all())
			assert.Contains(t, r.all(), tc.want)
		})
	}
}

func TestInputNames(t *testing.T) {
	t.Parallel()
	assert.Equal(t, `input "ready-port"`, inputNames.Of(smoke.FieldReadyPort))
	assert.Equal(t, "pkg.Config.Unknown", inputNames.Of("pkg.Config.Unknown"))
}
