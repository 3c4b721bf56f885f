package policy

import (
	"fmt"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/deploy-action/deploy-action/pkg/field"
)

func checkSize(img v1.Image, budget int64, names field.Names) (Finding, error) {
	layers, err := img.Layers()
	if err != nil {
		return Finding{}, fmt.Errorf("listing the image's layers: %w", err)
	}
	type sized struct {
		i    int
		size int64
	}
	var total int64
	all := make([]sized, 0, len(layers))
	for i, l := range layers {
		s, err := l.Size()
		if err != nil {
			return Finding{}, fmt.Errorf("reading the size of layer %d: %w", i+1, err)
		}
		total += s
		all = append(all, sized{i, s})
	}
	msg := fmt.Sprintf("%s compressed in %d layers (budget %s)", FormatSize(total), len(layers), FormatSize(budget))
	if total <= budget {
		return Finding{Status: Pass, Message: msg}, nil
	}
	sort.SliceStable(all, func(a, b int) bool { return all[a].size > all[b].size })
	var details []string
	for _, s := range all[:min(3, len(all))] {
		details = append(details, fmt.Sprintf("layer %d: %s", s.i+1, FormatSize(s.size)))
	}
	return Finding{Status: Failure, Details: details, Message: fmt.Sprintf(
		"%s compressed, over the budget of %s by %s; make it smaller (a multi-stage build that copies only what runs, a slim base, caches removed in the same RUN or kept in cache mounts) or raise %s",
		FormatSize(total), FormatSize(budget), FormatSize(total-budget), names.Of(FieldSizeBudget))}, nil
}

func checkLabels(cf *v1.ConfigFile, required []string) Finding {
	var missing []string
	for _, k := range required {
		if strings.TrimSpace(cf.Config.Labels[k]) == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) == 0 {
		return Finding{Status: Pass, Message: fmt.Sprintf("has %s", strings.Join(required, ", "))}
	}
	return Finding{Status: Failure, Details: missing, Message: fmt.Sprintf(
		"missing or empty label %s, so nobody can tell where the image came from; build with deploy-action (it adds them from the git context) or add `LABEL %s=...` to the Dockerfile",
		strings.Join(missing, ", "), missing[0])}
}

func checkPorts(cf *v1.ConfigFile, names field.Names) Finding {
	if len(cf.Config.ExposedPorts) == 0 {
		return Finding{Status: Failure, Message: "declares no port, so nothing says where it serves; add `EXPOSE <port>` (e.g. EXPOSE 8000) to the Dockerfile, or set " + names.Of(FieldModes) + " to ports=off for an image that serves nothing"}
	}
	ports := make([]string, 0, len(cf.Config.ExposedPorts))
	for p := range cf.Config.ExposedPorts {
		ports = append(ports, p)
	}
	sort.Strings(ports)
	return Finding{Status: Pass, Message: "exposes " + strings.Join(ports, ", ")}
}
