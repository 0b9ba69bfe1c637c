variable "project_id" {
  type        = string
  description = "Project of the scheduler job."
}

variable "region" {
  type        = string
  description = "Cloud Scheduler region."
}

variable "target_url" {
  type        = string
  description = "URL called (the status watcher's reconcile endpoint, experiments_platform.events.topology.RECONCILE_PATH)."
}

variable "audience" {
  type        = string
  description = "Audience of the OIDC token (the Cloud Run service URL)."
}

variable "service_account_email" {
  type        = string
  description = "Identity whose OIDC token authenticates the call."
}

variable "schedule" {
  type        = string
  description = "Cron schedule of the reconcile sweep."
  default     = "*/5 * * * *"
}
