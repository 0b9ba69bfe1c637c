variable "project_id" {
  type        = string
  description = "Project of the data bucket, the BigQuery tables and the submitter."
}

variable "region" {
  type        = string
  description = "Region of the submitter's Cloud Run service."
}

variable "service_name" {
  type        = string
  description = "Cloud Run service the events go to (the submitter)."
}

variable "path" {
  type        = string
  description = "Its route for data-source events (experiments_platform.events.data_events.DATA_EVENTS_PATH)."
  default     = "/eventarc/data-source-changed"
}

variable "data_bucket" {
  type        = string
  description = "Name of the bucket whose object finalized events are sent."
}

variable "bucket_location" {
  type        = string
  description = "The data bucket's location (a Cloud Storage trigger must be in it)."
}

variable "trigger_service_account_email" {
  type        = string
  description = "Identity of the triggers: receives events (eventarc.eventReceiver) and invokes the submitter (run.invoker)."
}

variable "bigquery_events" {
  type        = bool
  description = "Also send BigQuery load and query jobs' audit log entries (table data changes of watched tables)."
  default     = true
}

variable "bigquery_trigger_location" {
  type        = string
  description = "Location of the BigQuery audit-log trigger: the region of the datasets' tables, or global."
  default     = "global"
}
