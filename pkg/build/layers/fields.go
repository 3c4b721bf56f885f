package layers

// Fields of Spec, as a *field.Error or a field.Names names them.
const (
	FieldLayers  = "layers.Spec.Layers"
	FieldBase    = "layers.Spec.Base"
	FieldWorkdir = "layers.Spec.Workdir"
	FieldUser    = "layers.Spec.User"
	FieldLabels  = "layers.Spec.Labels"
	FieldEnv     = "layers.Spec.Env"
	FieldPorts   = "layers.Spec.Ports"
)
