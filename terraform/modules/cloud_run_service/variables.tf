variable "project_id" {
  type        = string
  description = "Project of the service."
}

variable "region" {
  type        = string
  description = "Cloud Run region."
}

variable "name" {
  type        = string
  description = "Service name (lowercase letters, digits and hyphens)."
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,48}[a-z0-9]$", var.name))
    error_message = "name must be lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "image" {
  type        = string
  description = "Container image, pinned by tag or digest."
}

variable "service_account_email" {
  type        = string
  description = "The service's own identity."
}

variable "env" {
  type        = map(string)
  description = "Plain environment variables (PLATFORM_* settings)."
  default     = {}
}

variable "secret_env" {
  type        = map(string)
  description = "Environment variable name to Secret Manager secret id (latest version)."
  default     = {}
}

variable "ingress" {
  type        = string
  description = "INGRESS_TRAFFIC_ALL, INGRESS_TRAFFIC_INTERNAL_ONLY or INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER."
  default     = "INGRESS_TRAFFIC_ALL"
}

variable "invokers" {
  type        = list(string)
  description = "IAM members allowed to invoke the service (never allUsers)."
  default     = []
  validation {
    condition     = !contains(var.invokers, "allUsers") && !contains(var.invokers, "allAuthenticatedUsers")
    error_message = "The platform's services are never public: invokers must be named identities."
  }
}

variable "custom_audiences" {
  type        = list(string)
  description = "Audiences Cloud Run IAM accepts in callers' ID tokens besides the service's generated URL."
  default     = []
}

variable "iap" {
  type        = bool
  description = "Put Identity-Aware Proxy in front of the service (the gateway); users are granted through iap_members."
  default     = false
}

variable "iap_members" {
  type        = list(string)
  description = "Users or groups (user:..., group:..., domain:...) allowed through IAP."
  default     = []
}

variable "cpu" {
  type        = string
  description = "vCPUs per instance."
  default     = "1"
}

variable "memory" {
  type        = string
  description = "Memory per instance."
  default     = "512Mi"
}

variable "min_instances" {
  type        = number
  description = "Instances kept warm."
  default     = 0
}

variable "max_instances" {
  type        = number
  description = "Upper bound of instances."
  default     = 5
}

variable "concurrency" {
  type        = number
  description = "Requests per instance."
  default     = 40
}

variable "timeout_s" {
  type        = number
  description = "Request timeout in seconds (keep it above the push subscription's ack deadline)."
  default     = 300
}

variable "cloudsql_instances" {
  type        = list(string)
  description = "Cloud SQL connection names mounted at /cloudsql."
  default     = []
}

variable "args" {
  type        = list(string)
  description = "Arguments replacing the image's CMD (empty keeps the Dockerfile's)."
  default     = []
}

variable "deletion_protection" {
  type        = bool
  description = "Refuse terraform destroy of the service."
  default     = true
}

variable "health_path" {
  type        = string
  description = "HTTP path of the startup probe."
  default     = "/healthz"
}

variable "startup_probe_period_s" {
  type        = number
  description = "Seconds between startup probes."
  default     = 2
}

variable "startup_probe_failure_threshold" {
  type        = number
  description = "Failed startup probes before Cloud Run stops the instance (x period: at most 240 s)."
  default     = 30
  validation {
    condition     = var.startup_probe_failure_threshold >= 1
    error_message = "At least one probe."
  }
}

check "startup_probe_budget" {
  assert {
    condition     = var.startup_probe_period_s * var.startup_probe_failure_threshold <= 240
    error_message = "Cloud Run allows a startup probe budget (period x failure threshold) of at most 240 s."
  }
}
