output "trigger_ids" {
  description = "The Eventarc triggers' ids."
  value       = concat([google_eventarc_trigger.object_finalized.id], google_eventarc_trigger.bigquery_table_changed[*].id)
}
