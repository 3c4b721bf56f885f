package field_test

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/pkg/field"
)

func TestError(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("smoke: %w", field.Errorf("smoke.Config.ReadyPort", "%q is not a port: %w", "http", fs.ErrInvalid))
	var fe *field.Error
	require.True(t, errors.As(err, &fe))
	assert.Equal(t, "smoke.Config.ReadyPort", fe.Field)
	assert.Equal(t, `"http" is not a port: invalid argument`, fe.Err.Error())
	assert.Equal(t, `smoke: smoke.Config.ReadyPort: "http" is not a port: invalid argument`, err.Error())
	assert.ErrorIs(t, err, fs.ErrInvalid, "the cause stays in the chain")
}

func TestNames(t *testing.T) {
	t.Parallel()
	var none field.Names
	assert.Equal(t, "deploy.Config.Rollback", none.Of("deploy.Config.Rollback"), "without names, a field is named as it is")
	inputs := field.Names(func(f string) string {
		if f == "deploy.Config.Rollback" {
			return `input "rollback"`
		}
		return ""
	})
	assert.Equal(t, `input "rollback"`, inputs.Of("deploy.Config.Rollback"))
	assert.Equal(t, "deploy.Config.Prune", inputs.Of("deploy.Config.Prune"), "a field the names lack is named as it is")
}

func TestMap(t *testing.T) {
	t.Parallel()
	n := field.Map(map[string]string{"a.B": "flag --b"})
	assert.Equal(t, "flag --b", n.Of("a.B"))
	assert.Equal(t, "a.C", n.Of("a.C"))
}
