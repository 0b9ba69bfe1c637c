variable "project_id" {
  type        = string
  description = "Google Cloud project id of this environment."
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a Google Cloud project id (6-30 lowercase letters, digits, hyphens)."
  }
}

variable "region" {
  type        = string
  description = "Region of Cloud Run, Vertex AI, Cloud Build, Cloud SQL, the buckets and the image repository."
  default     = "europe-west1"
}

variable "firestore_location" {
  type        = string
  description = "Firestore location (region or multi-region such as eur3); cannot change after creation."
  default     = "europe-west1"
}

variable "image_tag" {
  type        = string
  description = "Tag of every platform image in Artifact Registry (immutable tags: use a release or commit id, never latest)."
  validation {
    condition     = var.image_tag != "latest" && can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image_tag))
    error_message = "image_tag must be a concrete Docker tag such as a commit id; latest is refused (tags are immutable)."
  }
}

variable "gateway_users" {
  type        = list(string)
  description = "Who may open the web UI through IAP: user:alice@example.com, group:ml-team@example.com or domain:example.com."
}

variable "mlflow_ui_url" {
  type        = string
  description = "Link the UI shows for MLflow; the server is not public, so by default a local `gcloud run services proxy mlflow --port 5000`."
  default     = "http://localhost:5000"
}

variable "mlflow_database_tier" {
  type        = string
  description = "Cloud SQL tier of the MLflow backend (dedicated core; see docs/decisions/031)."
  default     = "db-custom-1-3840"
}

variable "throwaway" {
  type        = bool
  description = "A disposable environment: terraform destroy may delete buckets with data, the database and the services."
  default     = false
}

variable "max_concurrent_runs" {
  type        = number
  description = "Quick tests running on Vertex AI at once (cost control); beyond it experiments wait queued (decision 052)."
  default     = 4
  validation {
    condition     = var.max_concurrent_runs >= 1 && var.max_concurrent_runs <= 1000 && floor(var.max_concurrent_runs) == var.max_concurrent_runs
    error_message = "max_concurrent_runs must be a whole number from 1 to 1000."
  }
}

variable "max_queued_runs" {
  type        = number
  description = "Experiments that may wait for a run slot; beyond it starting one answers 429 with Retry-After."
  default     = 100
  validation {
    condition     = var.max_queued_runs >= 0 && var.max_queued_runs <= 100000 && floor(var.max_queued_runs) == var.max_queued_runs
    error_message = "max_queued_runs must be a whole number from 0 to 100000."
  }
}

variable "preflight_min_interactions" {
  type        = number
  description = "Fewest interactions a quick test's train, eval or test split may hold; below it the launch is refused (decision 061)."
  default     = 100
  validation {
    condition     = var.preflight_min_interactions >= 1 && floor(var.preflight_min_interactions) == var.preflight_min_interactions
    error_message = "preflight_min_interactions must be a whole number of at least 1."
  }
}

variable "preflight_min_buyers" {
  type        = number
  description = "Fewest distinct buyers a quick test's train, eval or test split may hold (decision 061)."
  default     = 40
  validation {
    condition     = var.preflight_min_buyers >= 1 && floor(var.preflight_min_buyers) == var.preflight_min_buyers
    error_message = "preflight_min_buyers must be a whole number of at least 1."
  }
}

variable "bigquery_sources" {
  type        = list(string)
  description = "Projects or project.dataset whose tables datasets may name, besides this project; grant pipeline-runner and api-gateway bigquery.dataViewer there yourself."
  default     = []
  validation {
    condition     = alltrue([for s in var.bigquery_sources : can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9](\\.[A-Za-z0-9_]{1,1024})?$", s))])
    error_message = "Each of bigquery_sources must be a project id or project.dataset."
  }
}
