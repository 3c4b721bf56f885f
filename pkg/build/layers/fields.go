package layers

// Fields of Spec, as a *field.Error or a field.Names names them.
const (
	FieldLayers = "layers.Spec.Layers"
)
