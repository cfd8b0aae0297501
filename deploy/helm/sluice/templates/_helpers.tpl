{{- define "sluice.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "sluice.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "sluice.labels" -}}
{{ include "sluice.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The pod template shared by the StatefulSet (embedded) and the Deployment (kafka). */}}
{{- define "sluice.podTemplate" -}}
metadata:
  labels:
    {{- include "sluice.selectorLabels" . | nindent 4 }}
  annotations:
    checksum/config: {{ .Values.config | sha256sum }}
spec:
  terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  containers:
    - name: sluice
      image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      args: ["run", "-f", "/etc/sluice"]
      env:
        - name: SLUICE_HOST
          value: 0.0.0.0
        - name: SLUICE_PORT
          value: "8080"
        - name: SLUICE_DATA_DIR
          value: /data
        - name: SLUICE_LOG_LEVEL
          value: {{ .Values.logLevel | quote }}
        {{- with .Values.serviceUrlTemplate }}
        - name: SLUICE_SERVICE_URL_TEMPLATE
          value: {{ . | quote }}
        {{- end }}
        {{- with .Values.kafka.bootstrapServers }}
        - name: KAFKA_BROKERS
          value: {{ . | quote }}
        {{- end }}
      ports:
        - name: http
          containerPort: 8080
      readinessProbe:
        httpGet:
          path: /readyz
          port: http
        periodSeconds: 5
        failureThreshold: 2
      livenessProbe:
        httpGet:
          path: /livez
          port: http
        initialDelaySeconds: 10
        periodSeconds: 10
        failureThreshold: 3
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      volumeMounts:
        - name: config
          mountPath: /etc/sluice
          readOnly: true
        - name: data
          mountPath: /data
  volumes:
    - name: config
      configMap:
        name: {{ include "sluice.fullname" . }}
    {{- if eq .Values.mode "kafka" }}
    # Kafka-class brokers keep nothing on disk; the embedded store (other brokers) is per pod and ephemeral here.
    - name: data
      emptyDir: {}
    {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}
