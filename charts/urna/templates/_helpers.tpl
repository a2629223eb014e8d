{{- define "urna.fullname" -}}
{{- printf "%s-operator" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "urna.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}{{ default (include "urna.fullname" .) .Values.serviceAccount.name }}{{- else -}}{{ default "default" .Values.serviceAccount.name }}{{- end -}}
{{- end -}}

{{- define "urna.labels" -}}
app.kubernetes.io/name: urna-operator
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "urna.selectorLabels" -}}
app.kubernetes.io/name: urna-operator
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* global.imageRegistry (a mirror) replaces the registry host of image.repository, or prefixes it. */}}
{{- define "urna.image" -}}
{{- $registry := dig "imageRegistry" "" (.Values.global | default dict) -}}
{{- $repo := .Values.image.repository -}}
{{- if $registry -}}
{{- $parts := splitList "/" $repo -}}
{{- if and (gt (len $parts) 1) (or (contains "." (first $parts)) (contains ":" (first $parts))) -}}
{{- $repo = join "/" (rest $parts) -}}
{{- end -}}
{{- $repo = printf "%s/%s" $registry $repo -}}
{{- end -}}
{{ $repo }}:{{ default .Chart.AppVersion .Values.image.tag }}
{{- end -}}

{{- define "urna.watchNamespace" -}}
{{ default .Release.Namespace .Values.watchNamespace }}
{{- end -}}
