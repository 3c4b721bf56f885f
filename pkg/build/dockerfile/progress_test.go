package dockerfile

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	bkclient "github.com/moby/buildkit/client"
	gatewaypb "github.com/moby/buildkit/frontend/gateway/pb"
	digest "github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTrackerLogsOneLinePerStep(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	at := func(ms int) *time.Time { v := t0.Add(time.Duration(ms) * time.Millisecond); return &v }
	ctxV, runV, cpV, sibV := digest.FromString("ctx"), digest.FromString("run"), digest.FromString("cp"), digest.FromString("sib")

	var out bytes.Buffer
	tr := newTracker(&out)
	tr.update(&bkclient.SolveStatus{Vertexes: []*bkclient.Vertex{
		{Digest: ctxV, Name: "[internal] load build context", Started: at(0)},
		{Digest: cpV, Name: "[app 1/2] COPY . /src", Started: at(0)},
	}})
	tr.update(&bkclient.SolveStatus{Vertexes: []*bkclient.Vertex{
		{Digest: ctxV, Name: "[internal] load build context", Started: at(0), Completed: at(120)},
		{Digest: cpV, Name: "[app 1/2] COPY . /src", Cached: true, Started: at(0), Completed: at(0)},
		{Digest: runV, Name: "[app 2/2] RUN make", Started: at(200)},
		{Digest: sibV, Name: "[tools 1/1] RUN sleep 100", Started: at(200)},
	}})
	// A step is logged once, however often BuildKit repeats it.
	tr.update(&bkclient.SolveStatus{Vertexes: []*bkclient.Vertex{
		{Digest: ctxV, Name: "[internal] load build context", Started: at(0), Completed: at(120)},
	}})
	tr.update(&bkclient.SolveStatus{Logs: []*bkclient.VertexLog{
		{Vertex: runV, Stream: 1, Data: []byte("cc -o app main.c\nmain.c:3: error: expected ';'\n")},
		{Vertex: runV, Stream: 2, Data: []byte("make: *** [app] Error 1\n")},
	}})
	tr.update(&bkclient.SolveStatus{Vertexes: []*bkclient.Vertex{
		{Digest: sibV, Name: "[tools 1/1] RUN sleep 100", Started: at(200), Completed: at(900), Error: "context canceled"},
		{Digest: runV, Name: "[app 2/2] RUN make", Started: at(200), Completed: at(1530), Error: `process "/bin/sh -c make" did not complete successfully: exit code: 2`},
	}})

	assert.Equal(t, `[internal] load build context  120ms
[app 1/2] COPY . /src  CACHED
[tools 1/1] RUN sleep 100  ERROR after 700ms
[app 2/2] RUN make  ERROR after 1.33s
`, out.String())

	failed, ok := tr.failed()
	require.True(t, ok)
	assert.Equal(t, "[app 2/2] RUN make", failed.name, "a canceled sibling is not the cause")

	err := stepError(errors.New(`failed to solve: process "/bin/sh -c make" did not complete successfully: exit code: 2`), failed)
	var se *StepError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, &StepError{
		Stage:    "app",
		Step:     "RUN make",
		ExitCode: 2,
		Output:   []string{"cc -o app main.c", "main.c:3: error: expected ';'", "make: *** [app] Error 1"},
		Err:      se.Err,
	}, se)
	assert.Equal(t, `step "RUN make" failed (exit code 2):
  cc -o app main.c
  main.c:3: error: expected ';'
  make: *** [app] Error 1`, err.Error())
}

func TestStepErrorMessage(t *testing.T) {
	t.Parallel()
	cause := errors.New(`rpc error: code = Unknown desc = failed to compute cache key: "/app.jar" not found`)
	for _, tc := range []struct {
		name string
		err  *StepError
		want string
	}{
		{
			name: "one line of output",
			err:  &StepError{Step: "RUN make", ExitCode: 2, Output: []string{"make: *** No targets.  Stop."}, Err: cause},
			want: `step "RUN make" failed (exit code 2): make: *** No targets.  Stop.`,
		},
		{
			name: "no output: the cause",
			err:  &StepError{Step: "COPY app.jar /app/", ExitCode: -1, Err: cause},
			want: `step "COPY app.jar /app/" failed: failed to compute cache key: "/app.jar" not found`,
		},
		{
			name: "location",
			err:  &StepError{Step: "RUN false", ExitCode: 1, Location: "Dockerfile:7", Err: cause},
			want: `step "RUN false" failed (exit code 1, at Dockerfile:7): failed to compute cache key: "/app.jar" not found`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, tc.err.Error())
		})
	}
}

func TestStepErrorLongInstruction(t *testing.T) {
	t.Parallel()
	err := &StepError{Step: "RUN apt-get update && \\\n    apt-get install -y " + strings.Repeat("pkg ", 40), ExitCode: 100, Output: []string{"E: nope"}}
	msg := err.Error()
	step, rest, ok := strings.Cut(strings.TrimPrefix(msg, `step "`), `" failed`)
	require.True(t, ok, msg)
	assert.True(t, strings.HasPrefix(step, `RUN apt-get update && \ apt-get install -y pkg pkg`), "line continuations are folded: %s", step)
	assert.True(t, strings.HasSuffix(step, "…"), step)
	assert.Equal(t, nameWidth, len([]rune(step)))
	assert.Equal(t, " (exit code 100): E: nope", rest)
}

func TestStepErrorFromBuildKit(t *testing.T) {
	t.Parallel()
	s := &step{name: "[internal] load metadata for docker.io/library/nope:1", err: "not found"}
	err := stepError(errors.New("failed to solve: failed to do request: no such host"), s)
	assert.EqualError(t, err, `step "FROM docker.io/library/nope:1" failed: failed to do request: no such host`)

	// A typed exit code wins over the message.
	s = &step{name: "[2/3] RUN ./test.sh", err: "exit code: 1"}
	err = stepError(fmt.Errorf("solve: %w", &gatewaypb.ExitError{ExitCode: 3}), s)
	var se *StepError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 3, se.ExitCode)
	assert.Equal(t, "", se.Stage)
	assert.Equal(t, "RUN ./test.sh", se.Step)

	// No step to blame: the message without BuildKit's wrapping.
	err = stepError(errors.New("failed to solve: failed to solve with frontend dockerfile.v0: failed to create LLB definition: dockerfile parse error line 2: unknown instruction: FETCH"), nil)
	assert.EqualError(t, err, "dockerfile parse error line 2: unknown instruction: FETCH")
}

func TestOutput(t *testing.T) {
	t.Parallel()
	type write struct {
		fd   int
		data string
	}
	many := func(fd, from, to int) []write {
		var ws []write
		for i := from; i <= to; i++ {
			ws = append(ws, write{fd, fmt.Sprintf("line %d\n", i)})
		}
		return ws
	}
	for _, tc := range []struct {
		name   string
		writes []write
		n      int
		want   []string
	}{
		{"lines across writes", []write{{1, "a\nb"}, {1, "c\n"}, {1, "d\n"}}, 10, []string{"a", "bc", "d"}},
		{"streams apart", []write{{1, "out "}, {2, "err\n"}, {1, "line\n"}}, 10, []string{"err", "out line"}},
		{"last n", []write{{1, "1\n2\n3\n4\n"}}, 2, []string{"3", "4"}},
		{"an unfinished line counts", []write{{1, "1\n2"}}, 10, []string{"1", "2"}},
		{"blank lines and CRLF dropped", []write{{0, "x\r\n\n  \ny\r\n"}}, 10, []string{"x", "y"}},
		{"progress bar keeps its last state", []write{{1, "get 10%\rget 50%\rget 100%\r\ndone\n"}}, 10, []string{"get 100%", "done"}},
		{
			"stderr's last lines stay when stdout arrives after them",
			append([]write{{2, "cc: error: x.c: no such file\n"}}, many(1, 1, 30)...),
			3,
			[]string{"cc: error: x.c: no such file", "line 28", "line 29", "line 30"},
		},
		{"nothing", nil, 10, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var o output
			for _, w := range tc.writes {
				o.write(w.fd, []byte(w.data))
			}
			assert.Equal(t, tc.want, o.lines(tc.n))
			assert.Equal(t, tc.want, o.lines(tc.n), "lines does not change the output")
		})
	}

	// What is kept is bounded, and is the end.
	var o output
	for i := range 10000 {
		o.write(1, []byte(fmt.Sprintf("line %d\n", i)))
	}
	assert.LessOrEqual(t, len(o.streams[0].lines), 2*keptLines)
	assert.Equal(t, []string{"line 9998", "line 9999"}, o.lines(2))
	o.write(2, bytes.Repeat([]byte("z"), 3*maxLine))
	o.write(2, []byte("!\n"))
	last := o.lines(1)
	require.Len(t, last, 1)
	assert.Len(t, last[0], maxLine)
	assert.True(t, strings.HasSuffix(last[0], "z!"))
}

func TestImageID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		resp map[string]string
		tag  string
		want string
		err  string
	}{
		{"20.10: config digest", map[string]string{"containerimage.config.digest": "sha256:c"}, "", "sha256:c", ""},
		{"containerd store: manifest digest", map[string]string{"containerimage.config.digest": "sha256:c", "containerimage.digest": "sha256:m"}, "", "sha256:m", ""},
		{"tag as last resort", map[string]string{}, "shop/web:dev", "shop/web:dev", ""},
		{"nothing", map[string]string{}, "", "", "did not say its ID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := imageID(tc.resp, tc.tag)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}
