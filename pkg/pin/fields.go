package pin

// Fields of the options, as a *field.Error or a field.Names names them.
const (
	// FieldMappings is the explicit mappings a caller gives besides the
	// pushed image's.
	FieldMappings  = "pin.Mappings"
	FieldUnmatched = "pin.WithUnmatched"
)
