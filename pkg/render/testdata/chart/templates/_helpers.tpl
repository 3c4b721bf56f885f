{{- define "api.unused" -}}unused{{- end -}}
