{{/* Names, labels, images and security settings shared by every template. */}}

{{- define "stockfeed.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{- define "stockfeed.name" -}}
{{- printf "%s-%s" (include "stockfeed.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels: stable for the life of a workload. Call with (dict "root" $ "component" "minio"). */}}
{{- define "stockfeed.selectorLabels" -}}
app.kubernetes.io/name: stockfeed
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "stockfeed.labels" -}}
{{ include "stockfeed.selectorLabels" . }}
app.kubernetes.io/part-of: stockfeed
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* An image reference from {repository, tag, digest}: the digest wins when present. */}}
{{- define "stockfeed.image" -}}
{{- if .digest -}}
{{ .repository }}:{{ .tag }}@{{ .digest }}
{{- else -}}
{{ .repository }}:{{ .tag }}
{{- end -}}
{{- end -}}

{{/* What every pod of the chart shares: image pull secrets, and where it may run (nodeSelector, tolerations). */}}
{{- define "stockfeed.podScheduling" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
{{ toYaml . }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Pod-level security: non-root, RuntimeDefault seccomp. Call with (dict "root" $ "uid" 999) to override the user. */}}
{{- define "stockfeed.podSecurityContext" -}}
{{- $uid := .uid | default .root.Values.securityContext.runAsUser -}}
{{- $gid := .gid | default .root.Values.securityContext.runAsGroup -}}
securityContext:
  runAsNonRoot: true
  runAsUser: {{ $uid }}
  runAsGroup: {{ $gid }}
  fsGroup: {{ .fsGroup | default $gid }}
  seccompProfile:
    type: RuntimeDefault
{{- end -}}

{{- define "stockfeed.containerSecurityContext" -}}
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  capabilities:
    drop: ["ALL"]
{{- end -}}

{{/*
A secret value: the given one, else the one already stored in the cluster (so upgrades keep it), else a random
one. Call with (dict "root" $ "secret" NAME "key" KEY "value" VALUE "length" N).
*/}}
{{- define "stockfeed.secretValue" -}}
{{- if .value -}}
{{ .value }}
{{- else -}}
{{- $existing := lookup "v1" "Secret" .root.Release.Namespace .secret -}}
{{- if and $existing (hasKey $existing.data .key) -}}
{{ index $existing.data .key | b64dec }}
{{- else -}}
{{ randAlphaNum (int (.length | default 32)) }}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Secret names, whether created here or brought by the user. */}}
{{- define "stockfeed.s3SecretName" -}}
{{- .Values.s3.existingSecret | default (include "stockfeed.name" (dict "root" . "component" "s3")) -}}
{{- end -}}

{{- define "stockfeed.postgresSecretName" -}}
{{- .Values.postgres.auth.existingSecret | default (include "stockfeed.name" (dict "root" . "component" "postgres")) -}}
{{- end -}}

{{- define "stockfeed.airflowSecretName" -}}
{{- .Values.airflow.existingSecret | default .Values.airflow.secretName -}}
{{- end -}}

{{- define "stockfeed.loaderSecretName" -}}
{{- .Values.pipeline.loader.existingSecret | default (include "stockfeed.name" (dict "root" . "component" "loader")) -}}
{{- end -}}

{{- define "stockfeed.dbtSecretName" -}}
{{- .Values.pipeline.dbt.existingSecret | default (include "stockfeed.name" (dict "root" . "component" "dbt")) -}}
{{- end -}}

{{- define "stockfeed.finnhubSecretName" -}}
{{- .Values.finnhub.existingSecret | default (include "stockfeed.name" (dict "root" . "component" "finnhub")) -}}
{{- end -}}

{{/* Endpoints inside the namespace. */}}
{{- define "stockfeed.s3Endpoint" -}}
{{- .Values.s3.endpoint | default (printf "http://%s:9000" (include "stockfeed.name" (dict "root" . "component" "minio"))) -}}
{{- end -}}

{{/* Kafka's client port: the TLS listener's with kafka.tls, else the plain one's (templates/kafka.yaml). */}}
{{- define "stockfeed.kafkaPort" -}}
{{- if .Values.kafka.tls -}}9093{{- else -}}9092{{- end -}}
{{- end -}}

{{- define "stockfeed.kafkaBootstrap" -}}
{{- if include "stockfeed.kafkaExternal" . -}}
{{- .Values.kafka.external.bootstrap -}}
{{- else -}}
{{- printf "%s-kafka-bootstrap:%s" .Values.kafka.clusterName (include "stockfeed.kafkaPort" .) -}}
{{- end -}}
{{- end -}}

{{/* "true" with kafka.provider external: no Strimzi object at all, topics through the Admin API. */}}
{{- define "stockfeed.kafkaExternal" -}}
{{- if eq (.Values.kafka.provider | default "strimzi") "external" -}}true{{- end -}}
{{- end -}}

{{/* "true" when the chart renders a Strimzi Kafka cluster (provider strimzi and kafka.enabled). */}}
{{- define "stockfeed.strimziKafka" -}}
{{- if and (not (include "stockfeed.kafkaExternal" .)) .Values.kafka.enabled -}}true{{- end -}}
{{- end -}}

{{/* The operator's files from kafka.external.existingSecret (mounted at /etc/stockfeed/<name>): the password
(a file, so it is not in the process environment), the CA, the client certificate; each only when used. */}}
{{- define "stockfeed.operatorKafkaVolumes" -}}
{{- $x := .Values.kafka.external -}}
{{- $volumes := list -}}
{{- if include "stockfeed.kafkaExternal" . -}}
{{- if include "stockfeed.externalSasl" . -}}
{{- $volumes = append $volumes (dict "name" "kafka-password" "secret" (dict "secretName" $x.existingSecret "items" (list (dict "key" "sasl-password" "path" "sasl-password")))) -}}
{{- end -}}
{{- if and (include "stockfeed.externalTls" .) $x.caCert -}}
{{- $volumes = append $volumes (dict "name" "kafka-ca" "secret" (dict "secretName" $x.existingSecret "items" (list (dict "key" "ca.crt" "path" "ca.crt")))) -}}
{{- end -}}
{{- if and (include "stockfeed.externalTls" .) $x.clientCert -}}
{{- $volumes = append $volumes (dict "name" "kafka-client" "secret" (dict "secretName" $x.existingSecret "items" (list (dict "key" "tls.crt" "path" "tls.crt") (dict "key" "tls.key" "path" "tls.key")))) -}}
{{- end -}}
{{- end -}}
{{- toYaml $volumes -}}
{{- end -}}

{{/* "true" when an external Kafka's clients use SASL / TLS (kafka.external.securityProtocol). */}}
{{- define "stockfeed.externalSasl" -}}
{{- if has .Values.kafka.external.securityProtocol (list "SASL_PLAINTEXT" "SASL_SSL") -}}true{{- end -}}
{{- end -}}
{{- define "stockfeed.externalTls" -}}
{{- if has .Values.kafka.external.securityProtocol (list "SSL" "SASL_SSL") -}}true{{- end -}}
{{- end -}}

{{/* "true" when Kafka clients authenticate (every client then has a KafkaUser and ACLs). */}}
{{- define "stockfeed.kafkaAuthenticated" -}}
{{- if and (ne .Values.kafka.authentication "none") (not (include "stockfeed.kafkaExternal" .)) -}}true{{- end -}}
{{- end -}}

{{- define "stockfeed.simulatorUrl" -}}
{{- printf "http://%s:8080/api/v1" (include "stockfeed.name" (dict "root" . "component" "simulator")) -}}
{{- end -}}

{{- define "stockfeed.warehouseTarget" -}}
{{- if ne .Values.pipeline.warehouse.target "auto" -}}
{{ .Values.pipeline.warehouse.target }}
{{- else if .Values.snowflake.enabled -}}
snowflake
{{- else -}}
duckdb
{{- end -}}
{{- end -}}

{{- define "stockfeed.duckdbPath" -}}
{{- printf "%s/stocks_mds.duckdb" .Values.pipeline.warehouse.mountPath -}}
{{- end -}}

{{/* Rules no schema can express; each fails the install with a message naming the values to change. */}}
{{- define "stockfeed.validate" -}}
{{- if and .Values.postgres.auth.existingSecret (not .Values.airflow.existingSecret) -}}
{{- fail "postgres.auth.existingSecret is set: set airflow.existingSecret too (a Secret with the keys connection, fernet-key, api-secret-key and jwt-secret), since the chart cannot build Airflow's connection URI without the password" -}}
{{- end -}}
{{- if and .Values.s3.existingSecret (not .Values.pipeline.loader.existingSecret) -}}
{{- fail "s3.existingSecret is set: set pipeline.loader.existingSecret too (a Secret with LOADER_S3_ACCESS_KEY_ID, LOADER_S3_SECRET_ACCESS_KEY and any LOADER_SNOWFLAKE_* variables)" -}}
{{- end -}}
{{- if and .Values.snowflake.enabled (not .Values.snowflake.password) (not (and .Values.pipeline.loader.existingSecret .Values.pipeline.dbt.existingSecret)) -}}
{{- fail "snowflake.enabled is true but snowflake.password is empty: set it, or bring pipeline.loader.existingSecret and pipeline.dbt.existingSecret (Secrets with the LOADER_SNOWFLAKE_* and DBT_* variables)" -}}
{{- end -}}
{{- if and (not .Values.minio.enabled) (not .Values.s3.endpoint) -}}
{{- fail "minio.enabled is false: set s3.endpoint to the S3 store the consumer and loader should use" -}}
{{- end -}}
{{- if include "stockfeed.kafkaExternal" . -}}
{{- if not .Values.kafka.external.bootstrap -}}
{{- fail "kafka.provider is external: set kafka.external.bootstrap (host:port of your Kafka's brokers)" -}}
{{- end -}}
{{- if or (ne .Values.kafka.authentication "none") .Values.kafka.tls -}}
{{- fail "kafka.provider is external: kafka.authentication and kafka.tls are Strimzi's (KafkaUsers, its cluster CA); set them to none and false and describe your Kafka's security in kafka.external (securityProtocol, saslMechanism, existingSecret)" -}}
{{- end -}}
{{- if and (ne .Values.kafka.external.securityProtocol "PLAINTEXT") (not .Values.kafka.external.existingSecret) -}}
{{- fail "kafka.external.securityProtocol is not PLAINTEXT: set kafka.external.existingSecret (a Secret with sasl-username, sasl-password, ca.crt, tls.crt/tls.key as needed)" -}}
{{- end -}}
{{- if and .Values.networkPolicies.egress.enabled (not .Values.networkPolicies.egress.kafka) -}}
{{- fail "kafka.provider is external and networkPolicies.egress.enabled is true: set networkPolicies.egress.kafka to your brokers' address ranges (ipBlocks), or no pod can reach Kafka" -}}
{{- end -}}
{{- end -}}
{{- if and (eq .Values.kafka.authentication "tls") (not .Values.kafka.tls) -}}
{{- fail "kafka.authentication is tls (client certificates): set kafka.tls to true too, since certificates are only checked on a TLS listener" -}}
{{- end -}}
{{- if and .Values.exampleFeed.enabled (eq .Values.exampleFeed.source "finnhub") (not (or .Values.finnhub.apiKey .Values.finnhub.existingSecret)) -}}
{{- fail "exampleFeed.source is finnhub: set finnhub.apiKey or finnhub.existingSecret (a Secret with the key api-key)" -}}
{{- end -}}
{{- end -}}
