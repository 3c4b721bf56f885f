package markdown

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestTable(t *testing.T) {
	t.Parallel()
	got := Table([]string{"Stage", "Result"}, [][]string{{"build", "ok"}, {"push", "failed:\nline|2"}})
	assert.Equal(t, "| Stage | Result |\n| --- | --- |\n| build | ok |\n| push | failed:<br>line\\|2 |\n", got)
}
