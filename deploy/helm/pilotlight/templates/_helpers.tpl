{{/* Names, labels and the rendered pilotlight.yaml shared by the chart's templates. */}}

{{- define "pilotlight.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* `<release>-<chart>`, or the release name alone when it already contains the chart name. */}}
{{- define "pilotlight.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 55 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 55 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 55 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "pilotlight.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "pilotlight.labels" -}}
helm.sh/chart: {{ include "pilotlight.chart" . }}
{{ include "pilotlight.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: pilotlight
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "pilotlight.selectorLabels" -}}
app.kubernetes.io/name: {{ include "pilotlight.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Per-component labels: call with (dict "ctx" $ "component" "node"). */}}
{{- define "pilotlight.componentLabels" -}}
{{ include "pilotlight.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "pilotlight.componentSelectorLabels" -}}
{{ include "pilotlight.selectorLabels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "pilotlight.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag | toString) -}}
{{- end -}}

{{- define "pilotlight.configSecretName" -}}
{{- printf "%s-config" (include "pilotlight.fullname" .) -}}
{{- end -}}

{{- define "pilotlight.gatewayServiceName" -}}
{{- printf "%s-gateway" (include "pilotlight.fullname" .) -}}
{{- end -}}

{{- define "pilotlight.uiServiceName" -}}
{{- printf "%s-ui" (include "pilotlight.fullname" .) -}}
{{- end -}}

{{- define "pilotlight.nodeServiceAccountName" -}}
{{- if .Values.profiling.node.serviceAccount.create -}}
{{- default (printf "%s-node" (include "pilotlight.fullname" .)) .Values.profiling.node.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.profiling.node.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The in-cluster DNS name of a Service of this release: (dict "ctx" $ "service" NAME). */}}
{{- define "pilotlight.serviceHost" -}}
{{- printf "%s.%s.svc.%s" .service .ctx.Release.Namespace .ctx.Values.clusterDomain -}}
{{- end -}}

{{/* Where the node sends: the override, or the gateway Service on the protocol's port. */}}
{{- define "pilotlight.nodeGatewayEndpoint" -}}
{{- $target := .Values.profiling.node.gateway -}}
{{- if $target.endpoint -}}
{{- $target.endpoint -}}
{{- else -}}
{{- $host := include "pilotlight.serviceHost" (dict "ctx" . "service" (include "pilotlight.gatewayServiceName" .)) -}}
{{- if eq $target.protocol "http" -}}
{{- printf "http://%s:%d" $host (.Values.profiling.gateway.service.httpPort | int) -}}
{{- else -}}
{{- printf "%s:%d" $host (.Values.profiling.gateway.service.grpcPort | int) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Where the gateway sends for the UI: the override, or the UI Service's OTLP port. */}}
{{- define "pilotlight.gatewayUiEndpoint" -}}
{{- $target := .Values.profiling.gateway.ui -}}
{{- if $target.endpoint -}}
{{- $target.endpoint -}}
{{- else -}}
{{- $host := include "pilotlight.serviceHost" (dict "ctx" . "service" (include "pilotlight.uiServiceName" .)) -}}
{{- if eq $target.protocol "http" -}}
{{- printf "http://%s:%d" $host (.Values.profiling.ui.service.otlpHttpPort | int) -}}
{{- else -}}
{{- printf "%s:%d" $host (.Values.profiling.ui.service.otlpGrpcPort | int) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The gateway forwards to this release's UI only the workloads it has slots for, asking the UI
Service's API which; a UI endpoint set by hand may be another receiver, so it gets everything.
*/}}
{{- define "pilotlight.gatewayUiSubscription" -}}
{{- if .Values.profiling.gateway.ui.endpoint -}}
enabled: false
{{- else -}}
enabled: true
api: {{ printf "http://%s:%d" (include "pilotlight.serviceHost" (dict "ctx" . "service" (include "pilotlight.uiServiceName" .))) (.Values.profiling.ui.service.port | int) | quote }}
{{- end -}}
{{- end -}}

{{/*
pilotlight.yaml for every pod (the format of src/config/schema.ts): the values' config keys,
with listeners on 0.0.0.0 at the container ports and the Service endpoints filled in.
Kubernetes-only keys (resources, service, ...) are left out: the config file rejects unknown keys.
*/}}
{{- define "pilotlight.config" -}}
{{- $p := .Values.profiling -}}
{{- $e := $p.exporter -}}
{{- $exporter := dict
  "enableDataCompression" $e.enableDataCompression
  "timeout" $e.timeout
  "retryOnFailure" (dict
    "enabled" $e.retryOnFailure.enabled
    "initialInterval" $e.retryOnFailure.initialInterval
    "maxInterval" $e.retryOnFailure.maxInterval
    "maxElapsedTime" $e.retryOnFailure.maxElapsedTime)
  "queue" (dict "maxItems" ($e.queue.maxItems | int64) "maxBytes" ($e.queue.maxBytes | int64)) -}}
{{- $node := dict
  "hz" ($p.node.hz | int64)
  "interval" $p.node.interval
  "offCpu" (dict "enabled" $p.node.offCpu.enabled "probability" ($p.node.offCpu.probability | float64))
  "gateway" (dict "endpoint" (include "pilotlight.nodeGatewayEndpoint" .) "protocol" $p.node.gateway.protocol) -}}
{{- if $p.node.sampler -}}
{{- $_ := set $node "sampler" $p.node.sampler -}}
{{- end -}}
{{- $gateway := dict
  "grpc" (dict "host" "0.0.0.0" "port" 4317)
  "http" (dict "host" "0.0.0.0" "port" 4318)
  "ui" (dict "endpoint" (include "pilotlight.gatewayUiEndpoint" .) "protocol" $p.gateway.ui.protocol "subscription" (include "pilotlight.gatewayUiSubscription" . | fromYaml)) -}}
{{- if $p.gateway.bearerToken -}}
{{- $_ := set $gateway "bearerToken" $p.gateway.bearerToken -}}
{{- end -}}
{{- $ui := dict
  "host" "0.0.0.0"
  "port" 3000
  "otlp" (dict "grpc" (dict "host" "0.0.0.0" "port" 14317) "http" (dict "host" "0.0.0.0" "port" 14318))
  "maxSlots" ($p.ui.maxSlots | int64)
  "slotTtlSeconds" ($p.ui.slotTtlSeconds | int64)
  "slotMaxBytes" ($p.ui.slotMaxBytes | int64)
  "cleanupIntervalSeconds" ($p.ui.cleanupIntervalSeconds | int64)
  "maxSources" ($p.ui.maxSources | int64) -}}
{{- $config := dict
  "profiling" (dict "enabled" true "exporter" $exporter "node" $node "gateway" $gateway "ui" $ui)
  "destinations" (default (list) .Values.destinations) -}}
# pilotlight.yaml, rendered by the pilotlight Helm chart from the release's values.
{{ toYaml $config }}
{{- end -}}

{{/* Pod annotations that roll the pods when the config changes. */}}
{{- define "pilotlight.configChecksum" -}}
checksum/config: {{ include "pilotlight.config" . | sha256sum }}
{{- end -}}

{{/* The config volume, mounted at /etc/pilotlight in every container. */}}
{{- define "pilotlight.configVolume" -}}
- name: config
  secret:
    secretName: {{ include "pilotlight.configSecretName" . }}
{{- end -}}

{{- define "pilotlight.configVolumeMount" -}}
- name: config
  mountPath: /etc/pilotlight
  readOnly: true
{{- end -}}

{{/* Security context of the unprivileged components (gateway, UI): the image's `node` user. */}}
{{- define "pilotlight.restrictedSecurityContext" -}}
runAsNonRoot: true
runAsUser: 1000
runAsGroup: 1000
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}
