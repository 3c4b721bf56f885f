package cli

import (
	"errors"
	"fmt"

	"github.com/deploy-action/deploy-action/pkg/build/dockerfile"
	"github.com/deploy-action/deploy-action/pkg/build/layers"
	"github.com/deploy-action/deploy-action/pkg/deploy"
	"github.com/deploy-action/deploy-action/pkg/field"
	"github.com/deploy-action/deploy-action/pkg/imagetest"
	"github.com/deploy-action/deploy-action/pkg/pin"
	"github.com/deploy-action/deploy-action/pkg/pipeline"
	"github.com/deploy-action/deploy-action/pkg/policy"
	"github.com/deploy-action/deploy-action/pkg/render"
	"github.com/deploy-action/deploy-action/pkg/smoke"
)

// fieldInputs names the input that sets each configuration field a stage
// reports in a *field.Error: stages know their fields, this layer the inputs.
var fieldInputs = map[string]string{
	pipeline.FieldStages:          "stages",
	pipeline.FieldSource:          "from",
	pipeline.FieldOutput:          "output",
	pipeline.FieldImages:          "images",
	pipeline.FieldDeployer:        deploy.InputManifests,
	render.FieldPaths:             "manifests",
	render.FieldFormat:            "manifests-format",
	render.FieldReleaseName:       "helm-release",
	render.FieldNamespace:         "namespace",
	render.FieldValuesFiles:       "helm-values",
	render.FieldValues:            "helm-set",
	render.FieldSecretValues:      "helm-set-secrets",
	render.FieldRoot:              "manifests-root",
	pin.FieldMappings:             "image-map",
	pin.FieldUnmatched:            "pin-unmatched",
	dockerfile.FieldContextDir:    "context",
	dockerfile.FieldDockerfile:    "dockerfile",
	layers.FieldLayers:            "layers",
	imagetest.FieldStructureTests: "structure-tests",
	policy.FieldModes:             "test-policy",
	policy.FieldSizeBudget:        "size-budget",
	policy.FieldRequiredLabels:    "required-labels",
	policy.FieldSecretsAllow:      "secrets-allow",
	smoke.FieldServices:           "services",
	smoke.FieldEnv:                "smoke-env",
	smoke.FieldSecrets:            "smoke-secrets",
	smoke.FieldReadyPath:          "ready-path",
	smoke.FieldReadyPort:          "ready-port",
	smoke.FieldGracePeriod:        "grace-period",
	smoke.FieldTimeout:            "test-timeout",
}

// inputNames names a field by the input that sets it, for the messages in
// which a stage refers to a setting (`input "rollback" is false, so ...`).
var inputNames field.Names = func(f string) string {
	if in, ok := fieldInputs[f]; ok {
		return fmt.Sprintf("input %q", in)
	}
	return ""
}

// inputError is a stage's *field.Error told in the user's terms: the input,
// then what is wrong with its value and the fix.
type inputError struct {
	input string
	fe    *field.Error
	err   error // the whole chain, for errors.Is/As
}

func (e *inputError) Error() string { return fmt.Sprintf("input %q: %v", e.input, e.fe.Err) }
func (e *inputError) Unwrap() error { return e.err }

// nameInput names the input behind err when a stage reported the field at
// fault; other errors pass through. Each of errors joined (errors.Join, as a
// stage reports every problem at once) is named on its own.
func nameInput(err error) error {
	var fe *field.Error
	if !errors.As(err, &fe) {
		return err
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs := j.Unwrap()
		named := make([]error, len(errs))
		for i, e := range errs {
			named[i] = nameInput(e)
		}
		return errors.Join(named...)
	}
	name, ok := fieldInputs[fe.Field]
	if !ok {
		return err
	}
	return &inputError{input: name, fe: fe, err: err}
}
