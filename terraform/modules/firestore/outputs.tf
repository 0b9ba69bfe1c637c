output "database" {
  description = "Database id."
  value       = google_firestore_database.this.name
}

output "index_count" {
  description = "Number of composite indexes declared."
  value       = length(google_firestore_index.composite)
}
