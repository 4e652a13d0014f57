{{/*
The chart's name, truncated to the 63 characters a label value allows.
*/}}
{{- define "authgate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name of the release's objects: the release name when it already contains the chart name.
*/}}
{{- define "authgate.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "authgate.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Standard labels of every object.
*/}}
{{- define "authgate.labels" -}}
helm.sh/chart: {{ include "authgate.chart" . }}
{{ include "authgate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | quote }}
app.kubernetes.io/component: gateway
app.kubernetes.io/part-of: authgate
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Selector labels: stable for the life of a release (a Deployment's selector cannot change).
*/}}
{{- define "authgate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "authgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "authgate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "authgate.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "authgate.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion | toString) }}
{{- end }}
{{- end }}

{{/*
The Secret holding client-secret and session-key: the existing one, or the one the chart creates.
*/}}
{{- define "authgate.secretName" -}}
{{- .Values.secrets.existingSecret | default (include "authgate.fullname" .) }}
{{- end }}

{{/*
The effective configuration (a dict): .Values.config, plus session.store/redis.url when redis.enabled.
Use through "authgate.configYaml".
*/}}
{{- define "authgate.configYaml" -}}
{{- $cfg := deepCopy (.Values.config | default dict) }}
{{- if .Values.redis.enabled }}
{{- $session := deepCopy (dig "session" dict $cfg) }}
{{- $redis := deepCopy (dig "redis" dict $session) }}
{{- $_ := set $redis "url" (required "redis.url is required when redis.enabled is true" .Values.redis.url) }}
{{- $_ := set $session "redis" $redis }}
{{- $_ := set $session "store" "redis" }}
{{- $_ := set $cfg "session" $session }}
{{- end }}
{{- toYaml $cfg }}
{{- end }}

{{/*
The checksum/config pod annotation, by rollOnConfigChange: "restartNeeded" hashes the config without the
sections the gateway reloads by itself from the mounted file (upstreams, defaults), so only changes that
need a restart roll the pods; "always" (or true) hashes all of it; "never" (or false) gives "" (none).
*/}}
{{- define "authgate.configChecksum" -}}
{{- $mode := toString .Values.rollOnConfigChange }}
{{- if or (eq $mode "always") (eq $mode "true") }}
{{- include "authgate.configYaml" . | sha256sum }}
{{- else if eq $mode "restartNeeded" }}
{{- omit (include "authgate.configYaml" . | fromYaml) "upstreams" "defaults" | toYaml | sha256sum }}
{{- else if not (or (eq $mode "never") (eq $mode "false")) }}
{{- fail (printf "authgate: rollOnConfigChange must be restartNeeded, always or never, got %q" $mode) }}
{{- end }}
{{- end }}

{{/*
The port of a "host:port" listen address (given as the template's context); fails on anything else.
*/}}
{{- define "authgate.portOf" -}}
{{- $addr := toString .addr }}
{{- if not (regexMatch "^(\\[[0-9A-Fa-f:.]+\\]|[^:\\[\\]]+):[0-9]{1,5}$" $addr) }}
{{- fail (printf "authgate: %s must be \"host:port\" (e.g. \"0.0.0.0:%s\"), got %q" .path .example $addr) }}
{{- end }}
{{- $host := regexReplaceAll ":[0-9]+$" $addr "" }}
{{- if regexMatch "^(127\\.|localhost$|\\[::1\\]$)" $host }}
{{- fail (printf "authgate: %s is %q, a loopback address: the kubelet's probes and the Service reach the pod's IP, so listen on all interfaces (\"0.0.0.0:%s\" or \"[::]:%s\")" .path $addr .example .example) }}
{{- end }}
{{- regexFind "[0-9]+$" $addr }}
{{- end }}

{{- define "authgate.httpPort" -}}
{{- include "authgate.portOf" (dict "addr" (dig "server" "listen" "0.0.0.0:4180" (.Values.config | default dict)) "path" "config.server.listen" "example" "4180") }}
{{- end }}

{{/*
The admin API's port when config.admin.listen is set, else "". A loopback address is allowed here (unlike
listen and metricsListen): kubectl port-forward reaches it, and nothing else can.
*/}}
{{- define "authgate.adminPort" -}}
{{- $a := toString (dig "admin" "listen" "" (.Values.config | default dict)) }}
{{- if $a }}
{{- if not (regexMatch "^(\\[[0-9A-Fa-f:.]+\\]|[^:\\[\\]]+):[0-9]{1,5}$" $a) }}
{{- fail (printf "authgate: config.admin.listen must be \"host:port\" (e.g. \"127.0.0.1:9091\"), got %q" $a) }}
{{- end }}
{{- regexFind "[0-9]+$" $a }}
{{- end }}
{{- end }}

{{/*
The metrics port when config.server.metricsListen is set, else "".
*/}}
{{- define "authgate.metricsPort" -}}
{{- $m := dig "server" "metricsListen" "" (.Values.config | default dict) }}
{{- if $m }}
{{- include "authgate.portOf" (dict "addr" $m "path" "config.server.metricsListen" "example" "9090") }}
{{- end }}
{{- end }}

{{/*
Seconds of a gateway duration ("90s", "15m", "500ms", "1d" or a number of seconds), rounded up.
*/}}
{{- define "authgate.durationSeconds" -}}
{{- $v := .value }}
{{- if kindIs "string" $v }}
{{- if not (regexMatch "^[0-9]+(\\.[0-9]+)?(ms|s|m|h|d)?$" $v) }}
{{- fail (printf "authgate: %s must be a literal duration such as \"30s\" for the chart to derive terminationGracePeriodSeconds from it (got %q); or set terminationGracePeriodSeconds" .path $v) }}
{{- end }}
{{- $amount := regexFind "^[0-9]+(\\.[0-9]+)?" $v | float64 }}
{{- $unit := regexReplaceAll "^[0-9]+(\\.[0-9]+)?" $v "" | default "s" }}
{{- $scale := get (dict "ms" 0.001 "s" 1.0 "m" 60.0 "h" 3600.0 "d" 86400.0) $unit }}
{{- mulf $amount $scale | ceil | int }}
{{- else }}
{{- ceil (float64 $v) | int }}
{{- end }}
{{- end }}

{{- define "authgate.terminationGracePeriodSeconds" -}}
{{- $graceValue := dig "server" "shutdownGrace" "30s" (.Values.config | default dict) }}
{{- if and (not (kindIs "invalid" .Values.terminationGracePeriodSeconds)) (kindIs "string" $graceValue) (contains "${" $graceValue) }}
{{- /* shutdownGrace comes from the environment: the given value cannot be checked against it. */}}
{{- int .Values.terminationGracePeriodSeconds }}
{{- else }}
{{- $grace := include "authgate.durationSeconds" (dict "value" $graceValue "path" "config.server.shutdownGrace") | int }}
{{- $preStop := 0 }}
{{- with .Values.lifecycle }}{{ with .preStop }}{{ with .sleep }}{{ $preStop = int .seconds }}{{ end }}{{ end }}{{ end }}
{{- $needed := add $grace $preStop }}
{{- if kindIs "invalid" .Values.terminationGracePeriodSeconds }}
{{- add $needed 10 }}
{{- else }}
{{- $given := int .Values.terminationGracePeriodSeconds }}
{{- if le $given $needed }}
{{- fail (printf "authgate: terminationGracePeriodSeconds (%d) must exceed config.server.shutdownGrace plus the preStop sleep (%d s), or in-flight requests are killed before they drain" $given $needed) }}
{{- end }}
{{- $given }}
{{- end }}
{{- end }}
{{- end }}

{{/*
"true" when the rendered config uses ${OIDC_CLIENT_SECRET} (the chart's default oidc: section does), else
"". Without it (clientAuthMethod: private_key_jwt and clientSecret: null) the chart neither needs nor wires
a client secret.
*/}}
{{- define "authgate.usesClientSecret" -}}
{{- if contains "${OIDC_CLIENT_SECRET}" (toYaml (.Values.config | default dict)) }}true{{- end }}
{{- end }}

{{/*
Checks that fail the render with a clear message. Included by the Deployment.
*/}}
{{- define "authgate.validate" -}}
{{- $s := .Values.secrets }}
{{- if $s.existingSecret }}
{{- if or $s.clientSecret $s.sessionKey }}
{{- fail "authgate: give either secrets.existingSecret or secrets.clientSecret/secrets.sessionKey, not both" }}
{{- end }}
{{- else }}
{{- $needsSecret := include "authgate.usesClientSecret" . }}
{{- if and $needsSecret (not (and $s.clientSecret $s.sessionKey)) }}
{{- fail "authgate: the OIDC client secret and a session key are needed: set secrets.existingSecret to a Secret with the keys client-secret and session-key, or set both secrets.clientSecret and secrets.sessionKey (openssl rand -base64 32) for the chart to create one (with clientAuthMethod: private_key_jwt, set config.oidc.clientSecret: null and no client secret is needed)" }}
{{- else if not $s.sessionKey }}
{{- fail "authgate: a session key is needed: set secrets.sessionKey (openssl rand -base64 32), or secrets.existingSecret to a Secret with the key session-key" }}
{{- else if lt (len (toString $s.sessionKey)) 43 }}
{{- fail "authgate: secrets.sessionKey must be at least 32 bytes written as base64 or hex: generate one with openssl rand -base64 32" }}
{{- end }}
{{- end }}
{{- $cfg := .Values.config | default dict }}
{{- /* Every provider entry's credentials: a ${VAR} reference (filled from a Secret) or a *File, never the text itself. */}}
{{- $entries := list }}
{{- if $cfg.oidc }}{{- $entries = append $entries (dict "path" "config.oidc" "entry" $cfg.oidc) }}{{- end }}
{{- range $i, $p := ($cfg.providers | default list) }}{{- $entries = append $entries (dict "path" (printf "config.providers[%d]" $i) "entry" $p) }}{{- end }}
{{- range $e := $entries }}
{{- range $key := list "clientSecret" "clientPrivateKey" "dpopKey" }}
{{- $value := get $e.entry $key }}
{{- if and $value (not (contains "${" (toString $value))) }}
{{- fail (printf "authgate: %s.%s holds a literal secret, and config is rendered into a ConfigMap, which is not secret: write a ${VAR} reference filled from a Secret (\"${OIDC_CLIENT_SECRET}\" from secrets.*, others through extraEnv), or %sFile with the Secret mounted (extraVolumes)" $e.path $key $key) }}
{{- end }}
{{- end }}
{{- end }}
{{- range $i, $token := (dig "admin" "tokens" list $cfg) }}
{{- if not (contains "${" (toString $token)) }}
{{- fail (printf "authgate: config.admin.tokens[%d] is a literal token, and config is rendered into a ConfigMap, which is not secret: use a ${VAR} reference filled from a Secret through extraEnv, or admin.tokensFile with the Secret mounted" $i) }}
{{- end }}
{{- end }}
{{- range $i, $key := (dig "session" "keys" list $cfg) }}
{{- if not (contains "${" (toString $key)) }}
{{- fail (printf "authgate: config.session.keys[%d] is a literal key, and config is rendered into a ConfigMap, which is not secret: use \"${SESSION_KEY}\" (filled from secrets.*) or extraEnv references" $i) }}
{{- end }}
{{- end }}
{{- if and .Values.redis.enabled .Values.redis.existingSecret (not (contains "${REDIS_PASSWORD}" (toString .Values.redis.url))) }}
{{- fail "authgate: redis.existingSecret is set but redis.url does not use ${REDIS_PASSWORD}: write it as \"redis://:${REDIS_PASSWORD}@host:6379/0\"" }}
{{- end }}
{{- if .Values.sidecar.enabled }}
{{- if not (and .Values.sidecar.app.name .Values.sidecar.app.image) }}
{{- fail "authgate: sidecar.enabled needs sidecar.app, the app's container spec with at least name and image" }}
{{- end }}
{{- if eq (toString .Values.sidecar.app.name) "authgate" }}
{{- fail "authgate: sidecar.app.name must differ from \"authgate\", the gateway container's name" }}
{{- end }}
{{- end }}
{{- end }}
