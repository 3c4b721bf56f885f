package render

// Fields of Spec and of the options, as a *field.Error or a field.Names
// names them.
const (
	FieldPaths        = "render.Spec.Paths"
	FieldFormat       = "render.Spec.Format"
	FieldReleaseName  = "render.Spec.ReleaseName"
	FieldNamespace    = "render.Spec.Namespace"
	FieldValuesFiles  = "render.Spec.ValuesFiles"
	FieldValues       = "render.Spec.Values"
	FieldSecretValues = "render.Spec.SecretValues"
	FieldRoot         = "render.WithRoot"
)
