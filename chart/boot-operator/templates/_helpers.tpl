{{/* Labels of every object: the same as the kustomize install's. */}}
{{- define "boot-operator.labels" -}}
app.kubernetes.io/name: boot-operator
{{- end }}

{{- define "boot-operator.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ $tag }}
{{- end -}}
{{- end }}

{{- define "boot-operator.scope" -}}
{{- if not (has .Values.scope (list "namespace" "cluster")) -}}
{{- fail (printf "scope must be \"namespace\" or \"cluster\", not %q" .Values.scope) -}}
{{- end -}}
{{- .Values.scope -}}
{{- end }}

{{/* What `serve --source kube` does in the watched namespace(s): manifests/rbac/namespaced/role.yaml. */}}
{{- define "boot-operator.watchRules" -}}
- apiGroups: [boot.ironcore.dev]
  resources: [ipxebootconfigs, httpbootconfigs, switchbootconfigs]
  verbs: [list, watch]
- apiGroups: [boot.ironcore.dev]
  resources: [ipxebootconfigs/status, httpbootconfigs/status, switchbootconfigs/status]
  verbs: [patch]
- apiGroups: [""]
  resources: [secrets]
  verbs: [list, watch]
- apiGroups: [""]
  resources: [events]
  verbs: [create]
{{- end }}

{{/* The plural of every CRD in crds/ (generated from the schemas), for the aggregated roles. */}}
{{- define "boot-operator.crdPlurals" -}}
{{- $plurals := list -}}
{{- range $path, $_ := .Files.Glob "crds/*.yaml" -}}
{{- $plurals = append $plurals ($.Files.Get $path | fromYaml).spec.names.plural -}}
{{- end -}}
{{- toJson $plurals -}}
{{- end }}

{{- define "boot-operator.serviceAccountSubject" -}}
- kind: ServiceAccount
  name: boot-operator
  namespace: {{ .Release.Namespace }}
{{- end }}

{{/* The port of metrics.listen (":8080", "0.0.0.0:8080", "[::]:8080"). */}}
{{- define "boot-operator.metricsPort" -}}
{{- splitList ":" .Values.metrics.listen | last | int -}}
{{- end }}

{{/* Non-empty when the HTTPS listener is on: tls.enabled, or a cert-manager Certificate to serve. */}}
{{- define "boot-operator.tlsListen" -}}
{{- if or .Values.tls.enabled .Values.tls.certManager.enabled -}}true{{- end -}}
{{- end }}
