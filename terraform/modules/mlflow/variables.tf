variable "project_id" {
  type        = string
  description = "Project of the tracking server and its database."
}

variable "region" {
  type        = string
  description = "Region of Cloud Run and Cloud SQL (keep them together: every metric write is a round trip)."
}

variable "image" {
  type        = string
  description = "MLflow server image (docker/mlflow), pinned by tag or digest."
}

variable "service_account_email" {
  type        = string
  description = "Identity of the tracking server (Cloud SQL client, artifact bucket, its secret)."
}

variable "artifact_bucket" {
  type        = string
  description = "Bucket name holding run artifacts, served through the tracking server (clients need no bucket access)."
}

variable "invokers" {
  type        = list(string)
  description = "IAM members allowed to call the tracking server (the pipeline jobs that log, the artifact reader that reads)."
}

variable "database_tier" {
  type        = string
  description = "Cloud SQL machine tier. Dedicated-core only: shared-core tiers (db-f1-micro, db-g1-small) caused 15-30 s per request (docs/decisions/031)."
  default     = "db-custom-1-3840"
  validation {
    condition     = !contains(["db-f1-micro", "db-g1-small"], var.database_tier) && can(regex("^db-(custom|perf-optimized-N)-", var.database_tier))
    error_message = "Use a dedicated-core tier (db-custom-CPUS-MEMORY_MB); shared-core tiers starve MLflow (docs/decisions/031)."
  }
}

variable "database_disk_gb" {
  type        = number
  description = "SSD size in GB (IOPS grow with size)."
  default     = 20
}

variable "max_connections" {
  type        = number
  description = "PostgreSQL max_connections; must exceed max_instances x workers x (pool size + overflow)."
  default     = 100
}

variable "min_instances" {
  type        = number
  description = "Tracking server instances kept warm (1 removes cold starts during training)."
  default     = 1
}

variable "max_instances" {
  type        = number
  description = "Upper bound of tracking server instances."
  default     = 3
}

variable "workers" {
  type        = number
  description = "MLflow server worker processes per instance."
  default     = 2
}

variable "pool_size" {
  type        = number
  description = "SQLAlchemy pool size per worker."
  default     = 5
}

variable "pool_max_overflow" {
  type        = number
  description = "SQLAlchemy extra connections per worker under burst."
  default     = 5
}

variable "deletion_protection" {
  type        = bool
  description = "Refuse to delete the database instance and the service."
  default     = true
}

variable "migration_token" {
  type        = string
  description = "Suffix of the migration job's execution (the image tag): a new value runs mlflow db upgrade again before the server."
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,40}$", var.migration_token))
    error_message = "migration_token: lowercase letters, digits and hyphens, at most 41 characters (job name + token < 63)."
  }
}
