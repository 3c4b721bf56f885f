package smoke

import "time"

// Status is the outcome of one step.
type Status string

// Outcomes of a step.
const (
	Pass    Status = "pass"
	Fail    Status = "fail"
	Skipped Status = "skip"
)

// Step is one step of the run: a service starting, the image becoming ready,
// the test command, the stop.
type Step struct {
	Name    string
	Status  Status
	Message string
	// Logs is the end of the output of the container the step is about
	// (Container: "app", "service db", "test"), secrets masked; set when the
	// step fails.
	Logs      string
	Container string
	Duration  time.Duration
}

// Result is the outcome of a run.
type Result struct {
	// Run is the run's ID, the value of the label on everything it created.
	Run   string
	Steps []Step
	// Logs holds the end of every container's output by role ("app",
	// "service db", "test"), secrets masked.
	Logs     map[string]string
	Duration time.Duration
}

// Failed reports whether a step failed.
func (r *Result) Failed() bool {
	for _, s := range r.Steps {
		if s.Status == Fail {
			return true
		}
	}
	return false
}
