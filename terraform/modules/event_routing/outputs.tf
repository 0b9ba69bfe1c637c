output "filter" {
  description = "The log filter of the sink."
  value       = local.pipeline_state_filter
}

output "writer_identity" {
  description = "Identity the sink publishes as."
  value       = google_logging_project_sink.pipeline_state.writer_identity
}
