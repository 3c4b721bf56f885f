package dockerfile

// Fields of Request, as a *field.Error or a field.Names names them.
const (
	FieldContextDir = "dockerfile.Request.ContextDir"
	FieldDockerfile = "dockerfile.Request.Dockerfile"
	FieldTarget     = "dockerfile.Request.Target"
	FieldBuildArgs  = "dockerfile.Request.BuildArgs"
	FieldLabels     = "dockerfile.Request.Labels"
	FieldTag        = "dockerfile.Request.Tag"
)
