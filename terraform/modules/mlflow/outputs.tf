output "url" {
  description = "Tracking URI of the MLflow server."
  value       = module.server.url
}

output "database_connection_name" {
  description = "Cloud SQL connection name (PROJECT:REGION:INSTANCE)."
  value       = google_sql_database_instance.mlflow.connection_name
}
