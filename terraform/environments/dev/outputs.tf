output "gateway_url" {
  description = "The web UI and API (behind IAP)."
  value       = module.services["api_gateway"].url
}

output "service_urls" {
  description = "Cloud Run URL of every service."
  value       = { for name, service in module.services : name => service.url }
}

output "mlflow_url" {
  description = "MLflow tracking URI (IAM-protected; open it with gcloud run services proxy mlflow)."
  value       = module.mlflow.url
}

output "image_prefix" {
  description = "Where to push the images: PREFIX/NAME:TAG."
  value       = module.registry.url
}

output "buckets" {
  description = "Bucket purpose to bucket name."
  value       = module.storage.names
}

output "pipeline_state_filter" {
  description = "The log filter routing Vertex AI pipeline state changes to Pub/Sub."
  value       = module.event_routing.filter
}

output "service_accounts" {
  description = "Account id to email."
  value       = module.identities.emails
}

output "dataflow_subnetwork" {
  description = "Subnetwork with Private Google Access for Dataflow workers without public IPs (decision 080)."
  value       = module.network.dataflow_subnetwork
}
