output "name" {
  description = "Service name."
  value       = google_cloud_run_v2_service.service.name
}

output "url" {
  description = "https URL of the service (the audience of its ID tokens)."
  value       = google_cloud_run_v2_service.service.uri
}
