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
