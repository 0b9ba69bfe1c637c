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

variable "attempt_deadline_s" {
  type        = number
  description = "How long one sweep may run: the status watcher's Cloud Run request timeout (15-1800 s)."
  default     = 60
  validation {
    condition     = var.attempt_deadline_s >= 15 && var.attempt_deadline_s <= 1800
    error_message = "Cloud Scheduler's HTTP attempt deadline is between 15 s and 30 min."
  }
}
