package cli

import (
	"errors"
	"fmt"

	"github.com/deploy-action/deploy-action/pkg/apply"
	"github.com/deploy-action/deploy-action/pkg/build/dockerfile"
	"github.com/deploy-action/deploy-action/pkg/build/layers"
	"github.com/deploy-action/deploy-action/pkg/deploy"
	"github.com/deploy-action/deploy-action/pkg/field"
	"github.com/deploy-action/deploy-action/pkg/imagetest"
	"github.com/deploy-action/deploy-action/pkg/kube"
	"github.com/deploy-action/deploy-action/pkg/metadata"
	"github.com/deploy-action/deploy-action/pkg/pin"
	"github.com/deploy-action/deploy-action/pkg/pipeline"
	"github.com/deploy-action/deploy-action/pkg/policy"
	"github.com/deploy-action/deploy-action/pkg/push"
	"github.com/deploy-action/deploy-action/pkg/render"
	"github.com/deploy-action/deploy-action/pkg/rollback"
	"github.com/deploy-action/deploy-action/pkg/rollout"
	"github.com/deploy-action/deploy-action/pkg/smoke"
)

// fieldInputs names the input that sets each configuration field a stage
// reports in a *field.Error: stages know their fields, this layer the inputs.
var fieldInputs = map[string]string{
	pipeline.FieldStages:          "stages",
	pipeline.FieldSource:          "from",
	pipeline.FieldOutput:          "output",
	pipeline.FieldImages:          "images",
	pipeline.FieldDeployer:        "manifests",
	apply.FieldNamespace:          "namespace",
	apply.FieldCreateNamespace:    "create-namespace",
	apply.FieldFieldManager:       "field-manager",
	apply.FieldForceConflicts:     "force-conflicts",
	apply.FieldDryRun:             "dry-run",
	apply.FieldApplySet:           "applyset",
	deploy.FieldImageMap:          "image-map",
	deploy.FieldUnmatched:         "pin-unmatched",
	deploy.FieldTimeout:           "rollout-timeout",
	deploy.FieldGrace:             "rollout-grace",
	deploy.FieldRollback:          "rollback",
	deploy.FieldPrune:             "prune",
	kube.FieldKubeconfig:          "kubeconfig-file",
	kube.FieldKubeconfigData:      "kubeconfig",
	kube.FieldContext:             "kube-context",
	kube.FieldInCluster:           "in-cluster",
	render.FieldPaths:             "manifests",
	render.FieldFormat:            "manifests-format",
	render.FieldReleaseName:       "helm-release",
	render.FieldNamespace:         "namespace",
	render.FieldValuesFiles:       "helm-values",
	render.FieldValues:            "helm-set",
	render.FieldSecretValues:      "helm-set-secrets",
	render.FieldRoot:              "manifests-root",
	rollout.FieldTimeout:          "rollout-timeout",
	rollout.FieldGrace:            "rollout-grace",
	rollback.FieldFieldManager:    "field-manager",
	rollback.FieldForceConflicts:  "force-conflicts",
	metadata.FieldPolicies:        "tags",
	metadata.FieldVersion:         "version",
	metadata.FieldRawTags:         "raw-tags",
	pin.FieldMappings:             "image-map",
	pin.FieldUnmatched:            "pin-unmatched",
	dockerfile.FieldContextDir:    "context",
	dockerfile.FieldDockerfile:    "dockerfile",
	layers.FieldLayers:            "layers",
	layers.FieldBase:              "base",
	layers.FieldWorkdir:           "workdir",
	layers.FieldUser:              "user",
	layers.FieldLabels:            "labels",
	layers.FieldEnv:               "env",
	layers.FieldPorts:             "ports",
	dockerfile.FieldTarget:        "target",
	dockerfile.FieldBuildArgs:     "build-args",
	dockerfile.FieldLabels:        "labels",
	push.FieldUsername:            "username",
	imagetest.FieldStructureTests: "structure-tests",
	imagetest.FieldSmokeMode:      "smoke",
	imagetest.FieldDockerHost:     "docker-host",
	policy.FieldModes:             "test-policy",
	policy.FieldSizeBudget:        "size-budget",
	policy.FieldRequiredLabels:    "required-labels",
	policy.FieldSecretsAllow:      "secrets-allow",
	push.FieldRepos:               "images",
	push.FieldTags:                "tags",
	push.FieldCAFile:              "registry-ca",
	push.FieldInsecure:            "insecure-registries",
	push.FieldRegistry:            "registry",
	push.FieldPassword:            "password",
	smoke.FieldServices:           "services",
	smoke.FieldEnv:                "smoke-env",
	smoke.FieldSecrets:            "smoke-secrets",
	smoke.FieldReadyPath:          "ready-path",
	smoke.FieldReadyPort:          "ready-port",
	smoke.FieldGracePeriod:        "grace-period",
	smoke.FieldTimeout:            "test-timeout",
	smoke.FieldTestCommand:        "test-command",
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
