package textlist_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/deploy-action/deploy-action/pkg/textlist"
)

func TestSplit(t *testing.T) {
	t.Parallel()
	assert.Equal(t, []string{"a", "b", "c"}, textlist.Split("a, b\nc"))
	assert.Equal(t, []string{"a", "b", "c", "d"}, textlist.Split("a\n\nb,c,", " , d\r"))
	assert.Nil(t, textlist.Split("", " ,\n "))
}

func TestLines(t *testing.T) {
	t.Parallel()
	assert.Equal(t, []string{"a=1,2", "b=3"}, textlist.Lines("a=1,2\n\n  b=3  \n"))
	assert.Nil(t, textlist.Lines("\n \n"))
}

func TestWords(t *testing.T) {
	t.Parallel()
	assert.Equal(t, []string{"build", "test", "push", "deploy"}, textlist.Words("build,test push\n deploy,"))
	assert.Nil(t, textlist.Words(" , \n"))
}
