package dockerfile

// Fields of Request, as a *field.Error or a field.Names names them.
const (
	FieldContextDir = "dockerfile.Request.ContextDir"
	FieldDockerfile = "dockerfile.Request.Dockerfile"
)
